/**
 * npm start: the whole job on a fresh machine with nothing configured —
 * embedded PostgreSQL, generated sample data, migrate up, load, verify, and a
 * few analytics answers. With DATABASE_URL or the source settings, the same
 * sequence runs against them. Idempotent: a second start changes nothing.
 */
import { existsSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { pipeline } from '../../loaders/index.ts';
import { withSources } from '../../lib/config/config.ts';
import { openDatabase } from '../../lib/db/database.ts';
import { LoadRun } from '../../lib/load/run-record.ts';
import { runLoad } from '../../lib/load/runner.ts';
import { withLineage } from '../../lib/lineage/load-lineage.ts';
import type { Logger } from '../../lib/log.ts';
import { migrate } from '../../lib/migrate/migrate.ts';
import { runAnalytics } from '../../lib/report/analytics.ts';
import { assertChecksPassed, verifyWarehouse } from '../../lib/report/checks.ts';
import { defaultReportDir, writeReportPage } from '../../lib/report/report-page.ts';
import { generate, type ExpectedCounts } from '../../lib/sample/generator.ts';
import { EXIT } from '../../lib/errors.ts';
import {
  commonOptions,
  confirmFullRefresh,
  print,
  runContext,
  redact,
  runCommand,
  setup,
  lineageOptions,
  sourceOptions,
  withSourceFlags,
  type CommonArgs,
  type LineageArgs,
  type SourceArgs,
} from './common.ts';
import { commandLine, printLoadReport, printVerifyReport, progressReporter } from './output.ts';

export const SAMPLE = { songs: 2000, events: 10000, seed: 42 } as const;

/** The bundled sample: generated once into the git-ignored warehouse folder. */
async function ensureSample(dir: string, log: Logger): Promise<{ dir: string; expected: ExpectedCounts }> {
  const sampleDir = path.join(dir, 'sample-data');
  const expectedFile = path.join(sampleDir, 'expected-counts.json');
  if (!existsSync(expectedFile)) {
    log.info(
      `Generating the sample data (${SAMPLE.songs} songs, ${SAMPLE.events} events, seed ${SAMPLE.seed}) into ${sampleDir}…`,
    );
    // A folder of this process's own, renamed into place: two first starts at once each make theirs, the first rename wins.
    const tmp = `${sampleDir}.tmp-${process.pid}`;
    await rm(tmp, { recursive: true, force: true });
    try {
      const expected = await generate({ ...SAMPLE, out: tmp });
      await writeFile(path.join(tmp, 'expected-counts.json'), `${JSON.stringify(expected, null, 2)}\n`);
      if (!existsSync(expectedFile)) {
        await rm(sampleDir, { recursive: true, force: true });
        await rename(tmp, sampleDir).catch((err: unknown) => {
          if (!existsSync(expectedFile)) throw err;
        });
      }
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }
  return { dir: sampleDir, expected: JSON.parse(await readFile(expectedFile, 'utf8')) as ExpectedCounts };
}

type StartArgs = CommonArgs & SourceArgs & LineageArgs & { fullRefresh: boolean; yes: boolean };

export const startCommand: CommandModule<object, StartArgs> = {
  command: 'start',
  describe: 'Migrate, load, verify and report: the whole job (sample data when no source is configured)',
  builder: (y) =>
    lineageOptions(sourceOptions(commonOptions(y as Argv<object>)))
      .option('full-refresh', {
        type: 'boolean',
        default: false,
        describe: 'start clean: empty the star tables, then load only these sources (asks first, unless --yes)',
      })
      .option('yes', {
        type: 'boolean',
        default: false,
        describe: 'with --full-refresh: do not ask for confirmation',
      }) as unknown as Argv<StartArgs>,
  handler: (args) =>
    runCommand(args, async () => {
      const started = Date.now();
      const { config: settings, log, faults } = setup(args);
      const base = withSourceFlags(settings, args);
      let config = base;
      if (!base.sourcesConfigured) {
        const sample = await ensureSample(base.warehouseDir, log);
        config = withSources(base, {
          logData: path.join(sample.dir, 'log_data'),
          songData: path.join(sample.dir, 'song_data'),
          logJsonPath: path.join(sample.dir, 'log_json_path.json'),
        });
        log.info('No LOG_DATA/SONG_DATA configured: loading the bundled sample data.');
      }
      const db = await openDatabase(config, log, { missingSchema: 'create' });
      try {
        if (args.fullRefresh && !(await confirmFullRefresh(db.description, args.yes))) {
          log.info('Nothing done.');
          return EXIT.usage;
        }
        log.info(`Warehouse: ${db.dialect.name} at ${db.description}`);
        const ran = await migrate(db, { direction: 'up', log, faults });
        log.info(ran.length > 0 ? `Migrated: ${ran.length} migration(s) applied.` : 'Schema up to date.');
        const progress = progressReporter(log);
        const run = new LoadRun(commandLine(), redact, runContext(config, args.fullRefresh));
        // --lineage-file and OPENLINEAGE_URL get this load's run events as they get `load`'s.
        const lineage = { config, log, pipeline, engine: db.dialect.name, run, file: args.lineageFile };
        const report = await withLineage(lineage, () =>
          runLoad(db, {
            config,
            log,
            faults,
            pipeline,
            run,
            fullRefresh: args.fullRefresh,
            onProgress: progress.onProgress,
            onStep: progress.onStep,
          }),
        ).finally(progress.done);
        // Between the load's connections and the checks' (test/newcomer.test.ts: another command ends here).
        await faults.at('start:loaded');
        print('# Load');
        printLoadReport(report);
        const checks = await verifyWarehouse(db, pipeline);
        print('# Checks');
        printVerifyReport(checks);
        assertChecksPassed(checks);
        const answers = await runAnalytics(db, ['most-played-songs', 'plays-by-hour', 'free-vs-paid']);
        const rowsOf = (name: string) => answers.find((a) => a.name === name)?.rows ?? [];
        const top = rowsOf('most-played-songs')[0];
        const busiest = [...rowsOf('plays-by-hour')].sort((a, b) => Number(b['plays']) - Number(a['plays']))[0];
        print('# Report');
        print(`Checks passed: ${checks.results.length} of ${checks.results.length}.`);
        if (top)
          print(
            `Most played song: "${String(top['title'])}" by ${String(top['artist'])} (${String(top['plays'])} plays).`,
          );
        if (busiest) print(`Busiest hour (UTC): ${String(busiest['hour'])}:00 with ${String(busiest['plays'])} plays.`);
        for (const row of rowsOf('free-vs-paid'))
          print(
            `${String(row['level'])}: ${String(row['plays'])} plays by ${String(row['users'])} users now at that level.`,
          );
        const reportUrl = await writeReportPage(db, defaultReportDir(config), pipeline, log);
        print(
          `Done in ${((Date.now() - started) / 1000).toFixed(1)}s. Explore: npm run analyze | npm run query -- "SELECT …" | npm run db -- start`,
        );
        print(`Report: ${reportUrl}`);
      } finally {
        await db.close();
      }
    }),
};
