// Machine-readable output and the run record, through the compiled command
// line: `--format json` prints exactly one JSON document on stdout (logs stay
// on stderr, exit codes as in text mode) for load, verify, sources and
// history; every load writes its run to load_runs, failed runs too, and
// `history` reads them back.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import test from 'ava';
import { CLI_ENTRY, ensureBuilt } from './support/spawn-cli.ts';
import { runCli } from './helpers/cli.ts';
import { event, song, writeFixture } from './helpers/fixtures.ts';
import { migratedDatabase } from './helpers/load.ts';
import type { RunSummary } from '../lib/load/run-record.ts';

const run = promisify(execFile);

const SONG = song({ song_id: 'SOJSON1', title: 'Json Song', artist_name: 'Json Artist', duration: 200 });
const PLAY = event({
  song: 'Json Song',
  artist: 'Json Artist',
  length: 200,
  ts: 1541105830796,
  userId: '7',
  sessionId: 11,
});

/** stdout parsed: it must be exactly one JSON document. */
function oneDocument<T>(stdout: string): T {
  return JSON.parse(stdout) as T;
}

test('load --format json: the run with its steps; history shows it, table and JSON; a failed load is recorded as failed with its error', async (t) => {
  const tdb = await migratedDatabase();
  t.teardown(() => tdb.drop());
  const good = await writeFixture(t, {
    logs: { 'a.json': [PLAY, event({ userId: '8', ts: 1541105830900 })] },
    songs: { 's.json': SONG },
  });
  const env = { DATABASE_URL: tdb.url, ...good.env };

  const loaded = await runCli(['load', '--format', 'json'], env);
  t.is(loaded.code, 0, loaded.stderr);
  const run = oneDocument<RunSummary>(loaded.stdout);
  t.regex(run.runId, /^\d{14}-[0-9a-f]{8}$/);
  t.is(run.outcome, 'succeeded');
  t.is(run.command, 'load --format json');
  t.true(Date.parse(run.endedAt ?? '') >= Date.parse(run.startedAt));
  t.deepEqual(
    run.steps.map((s) => [s.step, s.table, s.rows]),
    [
      ['stage staging_events', 'staging_events', 2],
      ['stage staging_songs', 'staging_songs', 1],
      ['transform users', 'users', 2],
      ['transform songs', 'songs', 1],
      ['transform artists', 'artists', 1],
      ['transform songplays', 'songplays', 2],
      ['transform time', 'time', 2],
      ['transform user_levels', 'user_levels', 2],
    ],
    'the steps in the plan order',
  );
  for (const s of run.steps) t.is(typeof s.seconds, 'number');
  t.deepEqual([run.skippedRecords, run.skipped, run.error], [0, [], null]);
  t.notRegex(loaded.stdout, /Loading into/, 'logs stay on stderr');
  // The last progress line of each table has its final figures (rows are counted as the conversion flushes them).
  t.deepEqual(loaded.stderr.match(/^staging_\w+: .* files, \d+ rows/gm), [
    'staging_events: 1/1 files, 2 rows',
    'staging_songs: 1/1 files, 1 rows',
  ]);

  // A bad record: exit 3 as in text mode, the failed run as the one document, and recorded.
  const bad = await writeFixture(t, {
    logs: { 'broken.json': `${JSON.stringify(PLAY)}\n{"ts": 1541105830796, "userId": ` },
    songs: { 's.json': SONG },
  });
  const failed = await runCli(['load', '--format', 'json'], { DATABASE_URL: tdb.url, ...bad.env });
  t.is(failed.code, 3, failed.stderr);
  const failedRun = oneDocument<Omit<RunSummary, 'error'> & { error: { message: string; exitCode: number } }>(
    failed.stdout,
  );
  t.is(failedRun.outcome, 'failed');
  t.regex(failedRun.error.message, /broken\.json:2/);
  t.is(failedRun.error.exitCode, 3);
  t.regex(failed.stderr, /broken\.json:2/);

  // --max-errors: the skipped record is in the run.
  const skipped = await runCli(['load', '--format', 'json', '--max-errors', '1'], {
    DATABASE_URL: tdb.url,
    ...bad.env,
  });
  t.is(skipped.code, 0, skipped.stderr);
  const skippedRun = oneDocument<RunSummary>(skipped.stdout);
  t.is(skippedRun.skippedRecords, 1);
  t.regex(skippedRun.skipped[0]?.file ?? '', /broken\.json$/);
  t.is(skippedRun.skipped[0]?.line, 2);

  const history = await runCli(['history', '--format', 'json', '--last', '2'], { DATABASE_URL: tdb.url });
  t.is(history.code, 0, history.stderr);
  const { runs } = oneDocument<{ runs: RunSummary[] }>(history.stdout);
  t.deepEqual(
    runs.map((r) => [r.runId, r.outcome, r.skippedRecords]),
    [
      [skippedRun.runId, 'succeeded', 1],
      [failedRun.runId, 'failed', 0],
    ],
  );
  t.deepEqual(
    runs[0],
    { ...skippedRun, seconds: runs[0]?.seconds ?? null },
    'history gives back what the load printed',
  );
  t.regex(runs[1]?.error ?? '', /broken\.json:2/);

  const table = await runCli(['history'], { DATABASE_URL: tdb.url });
  t.is(table.code, 0, table.stderr);
  const lines = table.stdout.trim().split('\n');
  t.regex(
    lines[0] ?? '',
    /^run_id\s+\| command\s+\| started_utc\s+\| seconds \| outcome\s+\| rows\s+\| skipped \| error/,
  );
  t.is(lines.length, 2 + 3 + 1, `a header, a rule, the three runs and their count:\n${table.stdout}`);
  t.regex(
    lines[2] ?? '',
    new RegExp(
      `^${skippedRun.runId} \\| load --format json --max-errors 1 .*\\| succeeded .*staging_events 1, staging_songs 1, users 2, songs 1`,
    ),
  );
  t.regex(lines[3] ?? '', new RegExp(`^${failedRun.runId} .*\\| failed .*broken\\.json:2`));
  t.regex(lines[4] ?? '', new RegExp(`^${run.runId} `));
});

test('verify and sources --format json: one document each, exit codes as in text mode; an error is one JSON document too', async (t) => {
  const tdb = await migratedDatabase();
  t.teardown(() => tdb.drop());
  const fixture = await writeFixture(t, { logs: { 'a.json': [PLAY] }, songs: { 's.json': SONG } });
  const env = { DATABASE_URL: tdb.url, ...fixture.env };
  t.is((await runCli(['load'], env)).code, 0);

  const verify = await runCli(['verify', '--format', 'json'], env);
  t.is(verify.code, 0, verify.stderr);
  const report = oneDocument<{
    passed: boolean;
    counts: { table: string; rows: number }[];
    songplays: number;
    matched: number;
    checks: { name: string; passed: boolean; offendingRows: number; sample: unknown[] }[];
  }>(verify.stdout);
  t.true(report.passed);
  t.deepEqual(
    report.counts.find((c) => c.table === 'songplays'),
    { table: 'songplays', rows: 1 },
  );
  t.deepEqual([report.songplays, report.matched], [1, 1]);
  t.true(report.checks.length > 10);
  t.true(report.checks.every((c) => c.passed && c.offendingRows === 0 && c.sample.length === 0));

  // A failing check: exit 4, the check failed with its offending rows.
  await tdb.query('UPDATE songplays SET user_id = 999 WHERE user_id = 7');
  const failing = await runCli(['verify', '--format', 'json'], env);
  t.is(failing.code, 4, failing.stderr);
  const failed = oneDocument<typeof report>(failing.stdout);
  t.false(failed.passed);
  const broken = failed.checks.filter((c) => !c.passed);
  t.true(broken.length >= 1);
  t.true(broken.every((c) => c.offendingRows >= 1 && c.sample.length >= 1));
  t.true(
    broken.some((c) => /user_id/.test(c.name)),
    broken.map((c) => c.name).join(', '),
  );

  const sources = await runCli(['sources', '--format', 'json'], env);
  t.is(sources.code, 0, sources.stderr);
  const s = oneDocument<{
    ready: boolean;
    sources: { setting: string; objects: number; bytes: number; sampleRecords: number }[];
    problems: string[];
  }>(sources.stdout);
  t.true(s.ready);
  t.deepEqual(
    s.sources.map((x) => [x.setting, x.objects, x.sampleRecords]),
    [
      ['SONG_DATA', 1, 1],
      ['LOG_DATA', 1, 1],
    ],
  );
  t.true(s.sources.every((x) => x.bytes > 0));

  const missing = await runCli(['sources', '--format', 'json'], { ...env, LOG_DATA: '/nope' });
  t.is(missing.code, 3, missing.stderr);
  const m = oneDocument<{ ready: boolean; problems: string[] }>(missing.stdout);
  t.false(m.ready);
  t.regex(m.problems.join('\n'), /LOG_DATA: .*\/nope/);

  // No warehouse to reach: the error is the one document.
  const unreachable = await runCli(['history', '--format', 'json'], {
    DATABASE_URL: 'postgres://nobody:secret-pw@127.0.0.1:1/none',
  });
  t.not(unreachable.code, 0);
  const error = oneDocument<{ error: { message: string; exitCode: number } }>(unreachable.stdout);
  t.is(error.error.exitCode, unreachable.code);
  t.notRegex(unreachable.stdout, /secret-pw/);
});

test("completion prints yargs' shell completion script, which completes the commands and their options", async (t) => {
  const r = await runCli(['completion']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /complete -o bashdefault -o default -F _sparkify-warehouse_yargs_completions sparkify-warehouse/);
  // What the script asks the command line for as the user types `sparkify-warehouse mig<TAB>`.
  ensureBuilt();
  const words = await run(process.execPath, [CLI_ENTRY, '--get-yargs-completions', 'sparkify-warehouse', 'mig'], {
    env: { PATH: process.env['PATH'] },
  });
  t.true(words.stdout.trim().split('\n').includes('migrate'));
  t.true(words.stdout.trim().split('\n').includes('history'));
  const options = await run(
    process.execPath,
    [CLI_ENTRY, '--get-yargs-completions', 'sparkify-warehouse', 'history', '--'],
    { env: { PATH: process.env['PATH'] } },
  );
  t.regex(options.stdout, /^--last$/m);
});

test('LOG_DATA=/nope: the load names /nope first, not the S3 JSONPaths file, and every other source problem with it', async (t) => {
  const tdb = await migratedDatabase();
  t.teardown(() => tdb.drop());
  const r = await runCli(['load'], {
    DATABASE_URL: tdb.url,
    LOG_DATA: '/nope',
    SONG_DATA: '/nope-songs',
    LOG_JSONPATH: 's3://sparkify-nowhere/log_json_path.json',
    // An S3 endpoint that refuses connections: reading the JSONPaths file would fail (and no real AWS is asked).
    AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:1',
    AWS_ACCESS_KEY_ID: 'AKIAEXAMPLEKEYID0001',
    AWS_SECRET_ACCESS_KEY: 'example-secret-key-not-real',
    AWS_MAX_ATTEMPTS: '1',
  });
  t.is(r.code, 3, r.stderr);
  t.regex(r.stderr, /error: LOG_DATA: \/nope: no such file or folder\nSONG_DATA: \/nope-songs: no such file or folder/);
});
