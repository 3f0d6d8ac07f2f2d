/**
 * npm run load [-- --only stage|transform|TABLE] [--dry-run [--dialect D]] [--plan [--dialect D]] [--max-errors N] [--allow-empty] [--strict]
 *              [--log-data URI] [--log-jsonpath URI|auto|'auto ignorecase'] [--song-data URI]
 */
import { checkMaxErrors, MAX_ERRORS } from '../../lib/config/max-errors.ts';
import type { Argv, CommandModule } from 'yargs';
import { pipeline } from '../../loaders/index.ts';
import { costSettings } from '../../lib/cost/settings.ts';
import { preflight, runCostOf } from '../../lib/preflight/preflight.ts';
import { openDatabase } from '../../lib/db/database.ts';
import { DIALECT_NAMES, dialectByName, type DialectName } from '../../lib/dialect/index.ts';
import { loadScript } from '../../lib/load/plan.ts';
import { exitUnlessStoppedWithin, interruptOnSignals } from '../../lib/interrupt.ts';
import { LoadRun } from '../../lib/load/run-record.ts';
import { runLoad } from '../../lib/load/runner.ts';
import { withLineage } from '../../lib/lineage/load-lineage.ts';
import { EXIT } from '../../lib/errors.ts';
import { DEFAULT_DRIFT_THRESHOLD } from '../../lib/sources/drift.ts';
import {
  commonOptions,
  confirmAction,
  confirmFullRefresh,
  errorJson,
  exitCodeOf,
  formatOption,
  runContext,
  print,
  printJson,
  redact,
  runCommand,
  setup,
  lineageOptions,
  sourceOptions,
  withSourceFlags,
  type CommonArgs,
  type FormatArgs,
  type LineageArgs,
  type SourceArgs,
} from './common.ts';
import { chargeText, planText } from './cost-output.ts';
import { warnAboutNpmBanner } from './npm-run.ts';
import { commandLine, printLoadReport, progressReporter } from './output.ts';

interface LoadArgs extends CommonArgs, SourceArgs, FormatArgs, LineageArgs {
  only?: string[];
  dryRun: boolean;
  plan: boolean;
  dialect?: DialectName;
  maxErrors: number;
  incremental: boolean;
  compact?: boolean;
  allowEmpty: boolean;
  strict: boolean;
  driftThreshold: number;
  fullRefresh: boolean;
  replace: boolean;
  yes: boolean;
}

function loadOptions<T>(y: Argv<T>): Argv<T & LoadArgs> {
  return formatOption(
    lineageOptions(sourceOptions(commonOptions(y))),
    'the run (run id, version, target, sources, start, end, outcome, each step with its table, rows, seconds and detail, the skipped records)',
    'the steps (step, rows, seconds, detail)',
  )
    .option('only', { type: 'string', array: true, choices: pipeline.onlyChoices, describe: 'run only these steps' })
    .option('dry-run', {
      type: 'boolean',
      default: false,
      describe: 'print the plan and SQL (secrets redacted) instead of loading',
    })
    .option('plan', {
      type: 'boolean',
      default: false,
      describe:
        'print the expected work (objects, bytes, chunks, statements) and an estimate of time and money for the configured target, instead of loading; connects to nothing but the sources',
    })
    .option('dialect', {
      choices: DIALECT_NAMES,
      describe: 'with --dry-run or --plan: render for this engine without connecting',
    })
    .option('incremental', {
      type: 'boolean',
      default: false,
      describe: 'stage only objects not loaded before (the load ledger); an unchanged re-run does nothing',
    })
    .option('compact', {
      type: 'boolean',
      describe:
        'Redshift: compact the objects into a few gzip chunks under LOAD_STAGE_PREFIX for one COPY (--no-compact: never; default: when a source has 1000+ objects averaging under 1 MB)',
    })
    .option('allow-empty', {
      type: 'boolean',
      default: false,
      describe: 'a source with no objects empties its staging table (default: an error naming LOG_DATA/SONG_DATA)',
    })
    .option('strict', {
      type: 'boolean',
      default: false,
      describe:
        'a mapped column NULL in every staged row, a JSON key no column maps or a key whose type changes fails the load, nothing committed (default: a warning)',
    })
    .option('drift-threshold', {
      type: 'number',
      default: DEFAULT_DRIFT_THRESHOLD,
      describe: 'report a mapped JSON key absent from more than this share of the records (0 to 1)',
    })
    .option('full-refresh', {
      type: 'boolean',
      default: false,
      describe:
        'start clean: once every source has been read without a problem, empty the star tables and the ledger, then load only these sources (asks first, unless --yes)',
    })
    .option('replace', {
      type: 'boolean',
      default: false,
      describe:
        'rebuild the star tables and the ledger from what the sources hold now, in one transaction after staging: rows of deleted or corrected files go (asks first, unless --yes)',
    })
    .option('yes', {
      type: 'boolean',
      default: false,
      describe: 'with --full-refresh or --replace: do not ask for confirmation',
    })
    .option('max-errors', {
      type: 'number',
      default: MAX_ERRORS.default,
      describe:
        'skip and list up to N bad records per staging table; the (N+1)th fails the load (Redshift: MAXERROR N+1)',
    })
    .check((a) => {
      if (a.dialect && !a.dryRun && !a.plan)
        throw new Error('--dialect only goes with --dry-run or --plan (a live load detects the engine)');
      if (a.plan && a.dryRun) throw new Error('--plan and --dry-run are two different outputs: choose one');
      if (a.lineageFile !== undefined && (a.dryRun || a.plan))
        throw new Error('--lineage-file describes a load that runs: it does not go with --dry-run or --plan');
      if (a.dryRun && a.format !== 'table')
        throw new Error('--dry-run prints a SQL script: it does not go with --format json or csv');
      if (a.fullRefresh && (a.incremental || a.only || a.dryRun || a.plan))
        throw new Error(
          '--full-refresh loads everything from the sources: it does not go with --incremental, --only, --dry-run or --plan',
        );
      if (a.replace && (a.incremental || a.only || a.fullRefresh || a.plan))
        throw new Error(
          '--replace rebuilds every star table from everything the sources hold: it does not go with --incremental, --only, --full-refresh or --plan',
        );
      const threshold = Number(a['drift-threshold']);
      if (!(threshold >= 0 && threshold <= 1))
        throw new Error(`--drift-threshold: a share from 0 to 1, got ${String(a['drift-threshold'])}`);
      const problem = checkMaxErrors(Number(a['max-errors']));
      if (problem) throw new Error(problem);
      return true;
    }) as unknown as Argv<T & LoadArgs>;
}

export const loadCommand: CommandModule<object, LoadArgs> = {
  command: 'load',
  describe: 'Stage the S3/local JSON and fill the star schema (idempotent)',
  builder: (y) => loadOptions(y as Argv<object>),
  handler: (args) =>
    runCommand(args, async () => {
      const { config: base, log, faults } = setup(args);
      const config = withSourceFlags(base, args);
      const options = {
        config,
        log,
        faults,
        pipeline,
        only: args.only,
        maxErrors: args.maxErrors,
        incremental: args.incremental,
        compact: args.compact,
        allowEmpty: args.allowEmpty,
        strict: args.strict,
        driftThreshold: args.driftThreshold,
        fullRefresh: args.fullRefresh,
        replace: args.replace,
      };
      if (args.dryRun) warnAboutNpmBanner(log, 'the SQL script');
      if (args.dryRun && args.dialect) {
        print(redact(await loadScript(dialectByName(args.dialect), options)));
        return;
      }
      if (args.plan) {
        // The engine the settings name, without connecting: a Redshift target renders Redshift's plan.
        const dialect = dialectByName(
          args.dialect ?? (costSettings(process.env, config).target.kind === 'postgres' ? 'postgres' : 'redshift'),
        );
        log.info('Listing the sources…');
        const planned = await preflight(dialect, options, process.env);
        if (args.format === 'json') printJson({ plan: planned.work, estimate: planned.estimate });
        else print(planText(planned));
        return;
      }
      const db = await openDatabase(config, log);
      try {
        if (args.dryRun) {
          print(redact(await loadScript(db.dialect, options)));
          return;
        }
        if (args.fullRefresh && !(await confirmFullRefresh(db.description, args.yes))) {
          log.info('Nothing done.');
          return EXIT.usage;
        }
        if (
          args.replace &&
          !(await confirmAction(
            `--replace rebuilds every star table and the ledger of ${db.description} from what the sources hold now (rows of files no longer there, or inserted by others, go)?`,
            '--replace deletes the rows the sources no longer hold: add --yes to confirm when not at a terminal',
            args.yes,
          ))
        ) {
          log.info('Nothing done.');
          return EXIT.usage;
        }
        log.info(`Loading into ${db.dialect.name} at ${db.description}`);
        const run = new LoadRun(commandLine(), redact, runContext(config, args.fullRefresh));
        if (db.dialect.name === 'redshift') {
          // The lease was checked when the database was opened (lib/db/database.ts). The estimate, kept in the run record (the actual is added when it ends); never fails the load.
          try {
            const planned = await preflight(db.dialect, options, process.env);
            run.cost = runCostOf(planned);
            log.info(
              `Estimate for ${planned.estimate.description}: ${chargeText(planned.estimate, true)} (load --plan explains it).`,
            );
          } catch (err) {
            log.warn(`No cost estimate for this run: ${(err as Error).message}`);
          }
        }
        const progress = progressReporter(log);
        const interrupts = interruptOnSignals(log, 'load', { stopTimeoutMs: config.transport.stopTimeoutMs });
        try {
          const lineage = {
            config,
            log,
            pipeline,
            only: args.only,
            engine: db.dialect.name,
            run,
            file: args.lineageFile,
          };
          printLoadReport(
            await withLineage(lineage, () =>
              runLoad(db, {
                ...options,
                run,
                onProgress: progress.onProgress,
                onStep: progress.onStep,
                signal: interrupts.signal,
                onLockLost: () =>
                  exitUnlessStoppedWithin(config.transport.stopTimeoutMs, EXIT.locked, log, 'Lost the warehouse lock'),
              }),
            ),
            args.format,
            run,
          );
        } catch (err) {
          // The run, its error as every command's --format json error is: message, exit code, and for a refused statement its step, file and SQLSTATE.
          if (args.format === 'json') printJson({ ...run.summary(), error: errorJson(err, exitCodeOf(err)) });
          throw err;
        } finally {
          progress.done();
          interrupts.dispose();
        }
      } finally {
        await db.close();
      }
    }),
};
