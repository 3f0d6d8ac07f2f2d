/**
 * npm run load [-- --only stage|transform|TABLE] [--dry-run [--dialect D]] [--max-errors N]
 *              [--log-data URI] [--log-jsonpath URI|auto|'auto ignorecase'] [--song-data URI]
 */
import type { Argv, CommandModule } from 'yargs';
import { withSources, type Config } from '../lib/config.ts';
import { openDatabase } from '../lib/db.ts';
import { DIALECT_NAMES, dialectByName, type DialectName } from '../lib/dialect/index.ts';
import { describeProblem } from '../lib/errors.ts';
import { interruptOnSignals } from '../lib/interrupt.ts';
import { formatTable } from '../lib/format-table.ts';
import { loadScript, ONLY_CHOICES, runLoad, type LoadReport } from '../lib/load.ts';
import type { Logger } from '../lib/log.ts';
import { redact } from '../lib/redact.ts';
import type { StageProgress } from '../lib/staging/postgres-stage.ts';
import { commonOptions, print, runCommand, setup, type CommonArgs } from './cli-support.ts';

export interface LoadArgs extends CommonArgs {
  only?: string[];
  dryRun: boolean;
  dialect?: DialectName;
  maxErrors: number;
  incremental: boolean;
  logData?: string;
  logJsonpath?: string;
  songData?: string;
}

export function loadOptions<T>(y: Argv<T>): Argv<T & LoadArgs> {
  return commonOptions(y)
    .option('only', { type: 'string', array: true, choices: ONLY_CHOICES, describe: 'run only these steps' })
    .option('dry-run', { type: 'boolean', default: false, describe: 'print the plan and SQL (secrets redacted) instead of loading' })
    .option('dialect', { choices: DIALECT_NAMES, describe: 'with --dry-run: render for this engine without connecting' })
    .option('incremental', { type: 'boolean', default: false, describe: 'stage only objects not loaded before (the load ledger); an unchanged re-run does nothing' })
    .option('max-errors', { type: 'number', default: 0, describe: 'skip and list up to N bad records per staging table (like Redshift MAXERROR)' })
    .option('log-data', { type: 'string', describe: 'overrides LOG_DATA' })
    .option('log-jsonpath', { type: 'string', describe: "overrides LOG_JSONPATH (a file, 'auto' or 'auto ignorecase')" })
    .option('song-data', { type: 'string', describe: 'overrides SONG_DATA' })
    .check((a) => {
      if (a.dialect && !a.dryRun) throw new Error('--dialect only goes with --dry-run (a live load detects the engine)');
      const n = Number(a['max-errors']);
      if (!Number.isInteger(n) || n < 0 || n > 100000) throw new Error('--max-errors takes a whole number from 0 to 100000');
      return true;
    }) as unknown as Argv<T & LoadArgs>;
}

export function configWithFlags(config: Config, args: LoadArgs): Config {
  return withSources(config, { logData: args.logData, logJsonPath: args.logJsonpath, songData: args.songData });
}

/** Live progress on a terminal; a plain line per finished table otherwise. */
export function progressReporter(log: Logger): { onProgress: (p: StageProgress) => void; done: () => void } {
  const tty = Boolean(process.stderr.isTTY);
  let last = 0;
  const started = Date.now();
  let shown = false;
  return {
    onProgress: (p) => {
      const now = Date.now();
      const finished = p.objectsDone === p.objectsTotal;
      if (!finished && now - last < (tty ? 200 : 5000)) return;
      last = now;
      const secs = Math.max((now - started) / 1000, 0.001);
      const line = `${p.table}: ${p.objectsDone}/${p.objectsTotal} files, ${p.rows} rows, ${(p.bytes / 1048576).toFixed(1)} MB, ${Math.round(p.rows / secs)} rows/s`;
      if (tty) {
        process.stderr.write(`\r\x1b[K${line}${finished ? '\n' : ''}`);
        shown = !finished;
      } else if (finished || now - started > 5000) log.info(line);
    },
    done: () => {
      if (tty && shown) process.stderr.write('\n');
    },
  };
}

export function printLoadReport(report: LoadReport): void {
  print(formatTable(report.steps.map((s) => ({ step: s.step, rows: s.rows, seconds: s.seconds.toFixed(2), detail: s.detail ?? '' }))));
  if (report.skipped.length > 0) {
    print(`Skipped ${report.skipped.length} bad record(s) (--max-errors):`);
    for (const p of report.skipped) print(`  ${describeProblem(p)}`);
  }
}

export const loadCommand: CommandModule<object, LoadArgs> = {
  command: 'load',
  describe: 'Stage the S3/local JSON and fill the star schema (idempotent)',
  builder: (y) => loadOptions(y as Argv<object>),
  handler: (args) =>
    runCommand(args, async () => {
      const { config: base, log } = setup(args);
      const config = configWithFlags(base, args);
      const options = { config, log, only: args.only, maxErrors: args.maxErrors, incremental: args.incremental };
      if (args.dryRun && args.dialect) {
        print(redact(await loadScript(dialectByName(args.dialect), options)));
        return;
      }
      const db = await openDatabase(config, log);
      try {
        if (args.dryRun) {
          print(redact(await loadScript(db.dialect, options)));
          return;
        }
        log.info(`Loading into ${db.dialect.name} at ${db.description}`);
        const progress = progressReporter(log);
        const interrupts = interruptOnSignals(log, 'load');
        const report = await runLoad(db, { ...options, onProgress: progress.onProgress, signal: interrupts.signal }).finally(() => {
          progress.done();
          interrupts.dispose();
        });
        printLoadReport(report);
      } finally {
        await db.close();
      }
    }),
};
