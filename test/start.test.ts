// npm start with nothing configured: its own embedded PostgreSQL, the generated
// sample, migrate, load, verify, report (its OpenLineage events in --lineage-file);
// a second start is idempotent; npm run db.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import test from 'ava';
import pg from 'pg';
import { checksFor } from '../lib/report/checks.ts';
import { pipeline } from '../loaders/index.ts';
import { MIGRATIONS } from './helpers/migrations.ts';
import { runCli } from './helpers/cli.ts';
import { runEventProblems } from './helpers/openlineage.ts';

test.serial('npm start end to end, twice; then db start/url/stop', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sparkify-start-'));
  const env = { WAREHOUSE_DIR: dir };
  t.teardown(async () => {
    await runCli(['db', 'stop'], env);
    // As root, with WAREHOUSE_DIR closed to the postgres user (mkdtemp makes it 0700), the
    // cluster's files live in the temp directory instead (lib/db/embedded-postgres.ts): remove them too.
    const state = await readFile(path.join(dir, 'server.json'), 'utf8').then(
      (s) => JSON.parse(s) as { dataDir?: string },
      () => ({ dataDir: undefined }),
    );
    if (state.dataDir && !state.dataDir.startsWith(dir))
      await rm(path.dirname(state.dataDir), { recursive: true, force: true });
    await rm(dir, { recursive: true, force: true });
  });
  const lineageFile = path.join(dir, 'lineage.jsonl');
  const first = await runCli(['start', '--lineage-file', lineageFile], env, { timeoutMs: 300_000 });
  t.is(first.code, 0, first.stderr);
  // The load's OpenLineage events, as `load --lineage-file` writes them: START, then COMPLETE, each valid.
  const events = (await readFile(lineageFile, 'utf8'))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { eventType: string });
  t.deepEqual(
    events.map((e) => e.eventType),
    ['START', 'COMPLETE'],
  );
  for (const e of events) t.deepEqual(runEventProblems(e), [], e.eventType);
  t.regex(first.stderr, /Generating the sample data/);
  t.regex(first.stderr, new RegExp(`Migrated: ${MIGRATIONS} migration\\(s\\) applied`));
  t.regex(first.stdout, /# Checks[\s\S]*songplays\s+\|\s+7912[\s\S]*# Report/);
  t.is(first.stdout.match(/^songplays\s+\|\s+7912/gm)?.length, 1, 'the row counts are printed once');
  const checks = checksFor(pipeline).length;
  t.regex(first.stdout, new RegExp(`Checks passed: ${checks} of ${checks}`));
  t.regex(first.stdout, /Most played song: "/);
  t.regex(first.stdout, /Busiest hour \(UTC\): \d+:00/);
  // The report page, last: its address, under the warehouse folder.
  const reportUrl = /\nReport: (file:\/\/\S+)\n$/.exec(first.stdout)?.[1] ?? '';
  t.is(reportUrl, pathToFileURL(path.join(dir, 'report', 'index.html')).href);
  t.regex(await readFile(fileURLToPath(reportUrl), 'utf8'), /<h1>Sparkify listening report<\/h1>/);

  const second = await runCli(['start'], env, { timeoutMs: 300_000 });
  t.is(second.code, 0, second.stderr);
  t.notRegex(second.stderr, /Generating the sample data/);
  t.regex(second.stderr, /Schema up to date/);
  const report = (s: string) => s.slice(s.indexOf('# Report')).replace(/Done in [\d.]+s/, '');
  t.is(report(second.stdout), report(first.stdout), 'the same report: nothing changed');
  // Both runs are in the run record.
  const history = await runCli(['history', '--format', 'json'], env);
  t.is(history.code, 0, history.stderr);
  t.deepEqual(
    (JSON.parse(history.stdout) as { runs: { command: string; outcome: string }[] }).runs.map((r) => [
      r.command,
      r.outcome,
    ]),
    [
      ['start', 'succeeded'],
      [`start --lineage-file ${lineageFile}`, 'succeeded'],
    ],
  );

  const started = await runCli(['db', 'start'], env);
  t.is(started.code, 0, started.stderr);
  // db start prints no password (scrollback, CI logs); db url does, on purpose.
  t.regex(started.stdout.trim(), /^postgres:\/\/warehouse:\*\*\*@127\.0\.0\.1:\d+\/postgres$/);
  const url = (await runCli(['db', 'url'], env)).stdout.trim();
  t.regex(url, /^postgres:\/\/warehouse:[^@*]+@127\.0\.0\.1:\d+\/postgres$/);
  t.is(url.replace(/:[^:@]+@/, ':***@'), started.stdout.trim());
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const { rows } = await client.query<{ n: string }>('select count(*) as n from songplays');
  await client.end();
  t.is(rows[0]?.n, '7912');
  const query = await runCli(['query', 'SELECT COUNT(*) AS plays FROM songplays', '--format', 'csv'], env);
  t.is(query.stdout, 'plays\n7912\n');
  t.is((await runCli(['db', 'stop'], env)).code, 0);
  t.regex((await runCli(['db', 'url'], env)).stdout, /not running/);
});
