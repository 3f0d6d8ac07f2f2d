// A data engineer's first hour (issue 29), run as a newcomer runs it: the
// compiled command line as a child process, two `start` at once, a pipe closed
// early, a copied .env.example, `npm run load --incremental` without `--`, a
// warehouse never migrated, the statement splitter's strings and bodies.
import { execFile, spawn } from 'node:child_process';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import test, { type ExecutionContext } from 'ava';
import { pipeline } from '../loaders/index.ts';
import { splitStatements } from '../lib/db/split-statements.ts';
import { checksFor, rowCountsSql } from '../lib/report/checks.ts';
import { CLI_ENTRY, cliCommand, ensureBuilt } from './support/spawn-cli.ts';
import { PROJECT_DIR, runCli } from './helpers/cli.ts';
import { createTestDatabase } from './helpers/database.ts';
import { event, song, writeFixture } from './helpers/fixtures.ts';
import { tempDir } from './helpers/temp-dir.ts';
import { MIGRATIONS } from './helpers/migrations.ts';

const run = promisify(execFile);

/** A warehouse folder of the test's own; its embedded PostgreSQL is stopped and its files removed at the end. */
async function warehouse(t: ExecutionContext): Promise<{ dir: string; env: Record<string, string> }> {
  const dir = await tempDir(t, 'sparkify-newcomer-');
  const env = { WAREHOUSE_DIR: dir };
  t.teardown(async () => {
    await runCli(['db', 'stop'], env);
    // As root the cluster may live outside the folder (lib/db/embedded-postgres.ts).
    const state = await readFile(path.join(dir, 'server.json'), 'utf8').then(
      (s) => JSON.parse(s) as { dataDir?: string },
      () => ({ dataDir: undefined }),
    );
    if (state.dataDir && !state.dataDir.startsWith(dir))
      await rm(path.dirname(state.dataDir), { recursive: true, force: true });
  });
  return { dir, env };
}

const serverRunning = async (env: Record<string, string>) =>
  !/not running/.test((await runCli(['db', 'status'], env)).stdout);

/** Polls until the embedded server has stopped (the reaper polls every 2 s); false after `ms`. */
async function stopsWithin(env: Record<string, string>, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!(await serverRunning(env))) return true;
    await sleep(500);
  }
  return false;
}

test.serial(
  '1: two `start` at once on one embedded PostgreSQL both succeed; the last one to end stops it',
  async (t) => {
    const { env } = await warehouse(t);
    const [first, second] = await Promise.all([
      runCli(['start'], env, { timeoutMs: 300_000 }),
      sleep(300).then(() => runCli(['start'], env, { timeoutMs: 300_000 })),
    ]);
    t.is(first.code, 0, first.stderr);
    t.is(second.code, 0, second.stderr);
    t.notRegex(first.stderr + second.stderr, /shutting down|terminating connection/);
    for (const out of [first.stdout, second.stdout]) t.regex(out, /^songplays\s+\|\s+7912$/m);
    t.false(await serverRunning(env), 'no command uses it any more: stopped');
  },
);

/** `start`, paused with no connection open between its load and its checks until `release()` (SIGUSR2: lib/fault-points.ts). */
function pausedStart(env: Record<string, string>): {
  reached: Promise<void>;
  release: () => void;
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
} {
  const [command, argv] = cliCommand(['start']);
  const child = spawn(command, argv, {
    cwd: PROJECT_DIR,
    env: {
      PATH: process.env['PATH'],
      HOME: process.env['HOME'],
      TMPDIR: process.env['TMPDIR'],
      ...env,
      SPARKIFY_FAULT_AT: 'start:loaded',
      SPARKIFY_FAULT: 'wait',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let reachedIt: () => void = () => undefined;
  const reached = new Promise<void>((resolve) => (reachedIt = resolve));
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (stderr.includes('fault point: start:loaded')) reachedIt();
  });
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
  return { reached, release: () => child.kill('SIGUSR2'), done };
}

test.serial(
  '1: the command that started the embedded PostgreSQL ends while another, between two connections, still needs it',
  async (t) => {
    const { env } = await warehouse(t);
    const first = pausedStart(env);
    await first.reached;
    const second = pausedStart(env);
    await second.reached;
    // The first (it started the server) ends while the second has no connection open.
    first.release();
    const a = await first.done;
    t.is(a.code, 0, a.stderr);
    t.true(await serverRunning(env), 'still running: the second command holds a lease');
    second.release();
    const b = await second.done;
    t.is(b.code, 0, b.stderr);
    t.notRegex(b.stderr, /shutting down|ECONNREFUSED/);
    const checks = checksFor(pipeline).length;
    t.regex(b.stdout, new RegExp(`Checks passed: ${checks} of ${checks}`));
    t.false(await serverRunning(env), 'the last command to end stopped it');
  },
);

test.serial('1: a command killed outright (SIGKILL) does not leave the embedded PostgreSQL running', async (t) => {
  const { env } = await warehouse(t);
  const [command, argv] = cliCommand(['query', 'SELECT pg_sleep(3)']);
  const child = spawn(command, argv, {
    cwd: PROJECT_DIR,
    env: { PATH: process.env['PATH'], HOME: process.env['HOME'], TMPDIR: process.env['TMPDIR'], ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  while (!/Starting the embedded PostgreSQL/.test(stderr)) await sleep(100);
  await sleep(1500);
  t.true(await serverRunning(env), 'the query is running');
  child.kill('SIGKILL');
  t.true(await stopsWithin(env, 20_000), 'the reaper stops the server once its only holder is gone');
});

test.serial(
  '2: `verify | head -1`: a reader that closes the pipe early is no error, and the server is stopped',
  async (t) => {
    const { env } = await warehouse(t);
    t.is((await runCli(['migrate', 'up'], env)).code, 0);
    const [command, argv] = cliCommand(['verify']);
    const child = spawn(command, argv, {
      cwd: PROJECT_DIR,
      env: { PATH: process.env['PATH'], HOME: process.env['HOME'], TMPDIR: process.env['TMPDIR'], ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // The reader goes away before the first line is written: every write meets a closed pipe (EPIPE).
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    t.is(code, 0, stderr);
    t.notRegex(stderr, /EPIPE|Error:|at /);
    t.false(await serverRunning(env), 'the embedded PostgreSQL was stopped, not left behind');
  },
);

test.serial(
  '3 and 4: a copied .env.example loads the sample; loading other data after it says so and how to start clean',
  async (t) => {
    const { dir, env } = await warehouse(t);
    const envFile = path.join(dir, '.env');
    await copyFile(path.join(PROJECT_DIR, '.env.example'), envFile);
    const started = await runCli(['start'], env, { timeoutMs: 300_000, envFile });
    t.is(started.code, 0, started.stderr);
    t.regex(started.stdout, /^songplays\s+\|\s+7912$/m);
    t.notRegex(started.stderr, /other sources/);

    const own = await writeFixture(t, {
      logs: { 'a.json': [event({ userId: '901', ts: 1541105830796 })] },
      songs: { 's.json': song({ song_id: 'SOWN1' }) },
    });
    const loaded = await runCli(['load'], { ...env, ...own.env });
    t.is(loaded.code, 0, loaded.stderr);
    t.regex(
      loaded.stderr,
      /warning: the warehouse holds data loaded from other sources \(last load [^)]*LOG_DATA=[^)]*sample-data[\s\S]*npm run load -- --full-refresh/,
    );
    const merged = await runCli(['query', 'SELECT COUNT(*) AS n FROM songplays', '--format', 'csv'], env);
    t.is(merged.stdout, 'n\n7913\n', 'merged into the sample, as the warning says');

    // Full refresh: asks first (no terminal here: --yes is required), then loads only these sources.
    const refused = await runCli(['load', '--full-refresh'], { ...env, ...own.env });
    t.is(refused.code, 2, refused.stderr);
    t.regex(refused.stderr, /add --yes/);
    const refreshed = await runCli(['load', '--full-refresh', '--yes', '--format', 'json'], { ...env, ...own.env });
    t.is(refreshed.code, 0, refreshed.stderr);
    t.notRegex(refreshed.stderr, /other sources/);
    const summary = JSON.parse(refreshed.stdout) as {
      fullRefresh: boolean;
      sources: { logData: string };
      version: string;
      target: string;
      steps: { step: string; table: string; rows: number }[];
    };
    t.true(summary.fullRefresh);
    t.is(summary.sources.logData, own.env['LOG_DATA'] ?? '');
    t.regex(summary.version, /^\d+\.\d+\.\d+/);
    t.regex(summary.target, /^embedded PostgreSQL in /);
    t.deepEqual(summary.steps.find((s) => s.step.startsWith('full refresh'))?.rows !== undefined, true);
    const counts = await runCli(
      [
        'query',
        'SELECT (SELECT COUNT(*) FROM songplays) AS plays, (SELECT COUNT(*) FROM users) AS users',
        '--format',
        'csv',
      ],
      env,
    );
    t.is(counts.stdout, 'plays,users\n1,1\n', 'only the own data is left');
    // history records the version, the target and the sources.
    const history = await runCli(['history', '--format', 'json', '--last', '1'], env);
    const [last] = (
      JSON.parse(history.stdout) as { runs: { version: string; target: string; sources: { songData: string } }[] }
    ).runs;
    t.is(last?.sources.songData, own.env['SONG_DATA']);
    t.is(last?.version, summary.version);
  },
);

test.serial(
  "5: `npm run migrate -- up --dry-run` without --silent: npm's banner is named on stderr; with --silent stdout is the script alone",
  async (t) => {
    const env = { PATH: process.env['PATH'], HOME: process.env['HOME'], TMPDIR: process.env['TMPDIR'] };
    const loud = await run(
      'npm',
      ['run', 'migrate', '--', 'up', '--dry-run', '--dialect', 'redshift', '--env-file=/dev/null'],
      { cwd: PROJECT_DIR, env },
    );
    t.regex(
      loud.stderr,
      /npm printed its own "> sparkify-warehouse@… migrate" lines on stdout[\s\S]*npm run --silent migrate/,
    );
    const silent = await run(
      'npm',
      ['run', '--silent', 'migrate', '--', 'up', '--dry-run', '--dialect', 'redshift', '--env-file=/dev/null'],
      { cwd: PROJECT_DIR, env },
    );
    t.regex(silent.stdout, /^-- sparkify-warehouse: migrate up for redshift/);
    t.false(/^>/m.test(silent.stdout), 'no "> " line in the script');
    t.false(/^>/m.test(silent.stderr), "node-pg-migrate's file list is debug output in a dry run");
  },
);

test("6: a DATABASE_URL with ?sslmode=require (the README's, a dwh.cfg's) prints no pg SECURITY WARNING", async (t) => {
  // A port nothing listens on: the warning, when there is one, comes when the URL is read, before connecting.
  const result = await runCli(['verify'], { DATABASE_URL: 'postgres://u:p@127.0.0.1:9/dev?sslmode=require' });
  t.not(result.code, 0);
  t.notRegex(result.stderr, /SECURITY WARNING/);
  const cfg = path.join(await tempDir(t, 'sparkify-newcomer-cfg-'), 'dwh.cfg');
  await writeFile(
    cfg,
    '[CLUSTER]\nHOST=127.0.0.1\nDB_NAME=dev\nDB_USER=u\nDB_PASSWORD=p\nDB_PORT=9\nDB_SSLMODE=require\n',
  );
  const viaCfg = await runCli(['verify', '--config', cfg], {});
  t.not(viaCfg.code, 0);
  t.notRegex(viaCfg.stderr, /SECURITY WARNING/);
});

test('8: verify, report and analyze on a warehouse never migrated say what to run (exit 2)', async (t) => {
  const tdb = await createTestDatabase();
  t.teardown(() => tdb.drop());
  for (const command of ['verify', 'report', 'analyze']) {
    const result = await runCli([command], { DATABASE_URL: tdb.url });
    t.is(result.code, 2, `${command}: ${result.stderr}`);
    t.regex(result.stderr, /never migrated[\s\S]*npm run migrate -- up/, command);
    t.notRegex(result.stderr, /relation .* does not exist/, command);
  }
});

test("9: the row counts are in the pipeline's order (ORDER BY, not whatever order a UNION ALL comes back in)", (t) => {
  t.regex(rowCountsSql(pipeline), /\) AS counts\nORDER BY position$/);
});

test('10: with all three sources missing, load names LOG_DATA, SONG_DATA and the JSONPaths file at once', async (t) => {
  const tdb = await createTestDatabase();
  t.teardown(() => tdb.drop());
  t.is((await runCli(['migrate', 'up'], { DATABASE_URL: tdb.url })).code, 0);
  const missing = path.join(os.tmpdir(), 'sparkify-newcomer-none');
  const result = await runCli(['load'], {
    DATABASE_URL: tdb.url,
    LOG_DATA: `${missing}/log`,
    SONG_DATA: `${missing}/song`,
    LOG_JSONPATH: `${missing}/jp.json`,
  });
  t.is(result.code, 3, result.stderr);
  t.regex(result.stderr, /LOG_DATA: .*no such file/);
  t.regex(result.stderr, /LOG_JSONPATH: JSONPaths file .*jp\.json: no such file/);
  t.regex(result.stderr, /SONG_DATA: .*no such file/);
});

test('11: start takes the source flags (--log-data, --song-data, --log-jsonpath)', async (t) => {
  const result = await runCli(['start', '--help'], {});
  t.is(result.code, 0, result.stderr);
  for (const flag of ['--log-data', '--song-data', '--log-jsonpath']) t.true(result.stdout.includes(flag), flag);
  // And uses them: a source that does not exist is named, not refused as an unknown argument.
  const tdb = await createTestDatabase();
  t.teardown(() => tdb.drop());
  const missing = await runCli(
    ['start', '--log-data', '/nonexistent/logs'],
    { DATABASE_URL: tdb.url },
    { timeoutMs: 120_000 },
  );
  t.is(missing.code, 3, missing.stderr);
  t.regex(missing.stderr, /LOG_DATA: \/nonexistent\/logs: no such file/);
});

test('12: `completion --help` prints help; `completion` prints the script', async (t) => {
  const help = await runCli(['completion', '--help'], {});
  t.is(help.code, 0);
  t.regex(help.stdout, /Print the shell completion script/);
  t.notRegex(help.stdout, /begin-sparkify-warehouse-completions/);
  ensureBuilt();
  const script = await run(process.execPath, [CLI_ENTRY, 'completion'], { cwd: PROJECT_DIR });
  t.regex(script.stdout, /###-begin-sparkify-warehouse-completions-###/);
});

test("13: the splitter keeps E'…' strings with backslash escapes and $tag$ bodies whole", (t) => {
  t.deepEqual(splitStatements("SELECT E'it\\'s; ok' AS a; SELECT 2"), ["SELECT E'it\\'s; ok' AS a", 'SELECT 2']);
  t.deepEqual(splitStatements('CREATE FUNCTION f() RETURNS int AS $f1$ SELECT 1; $f1$ LANGUAGE sql; SELECT 3'), [
    'CREATE FUNCTION f() RETURNS int AS $f1$ SELECT 1; $f1$ LANGUAGE sql',
    'SELECT 3',
  ]);
  // An ordinary string: a backslash is a character, the quote ends it.
  t.deepEqual(splitStatements("SELECT 'a\\'; SELECT 4"), ["SELECT 'a\\'", 'SELECT 4']);
  // A positional parameter is no dollar quote.
  t.deepEqual(splitStatements('SELECT $1; SELECT 5'), ['SELECT $1', 'SELECT 5']);
});

test('`npm run load --incremental` (no --): refused with the line to type, not a silent full load', async (t) => {
  const dir = await tempDir(t, 'sparkify-newcomer-npm-');
  await mkdir(dir, { recursive: true });
  const env = {
    PATH: process.env['PATH'],
    HOME: process.env['HOME'],
    TMPDIR: process.env['TMPDIR'],
    WAREHOUSE_DIR: dir,
    DATABASE_URL: 'postgres://u:p@127.0.0.1:9/dev',
  };
  const result = await run('npm', ['run', '--silent', 'load', '--incremental'], { cwd: PROJECT_DIR, env }).then(
    () => ({ code: 0, stderr: '' }),
    (err: { code: number; stderr: string }) => err,
  );
  t.is(result.code, 2);
  t.regex(result.stderr, /npm took --incremental as its own setting[\s\S]*npm run load -- --incremental/);
  // An npm setting of npm's own kept in an .npmrc (yes=true for npx) is not taken for a swallowed --yes.
  const kept = await run('npm', ['run', '--silent', 'start', '--', '--help'], {
    cwd: PROJECT_DIR,
    env: { ...env, npm_config_yes: 'true' },
  });
  t.regex(kept.stdout, /--full-refresh/);
});

test('7: progress: at a terminal a bar per staging table and a START line per transform; in a pipe only the end lines, with no absurd rate', async (t) => {
  const tdb = await createTestDatabase();
  t.teardown(() => tdb.drop());
  const fixture = await writeFixture(t, {
    logs: { 'a.json': [event({ userId: '7', ts: 1541105830796 }), event({ userId: '8', ts: 1541105830900 })] },
    songs: { 's.json': song() },
  });
  const env = { DATABASE_URL: tdb.url, ...fixture.env };
  t.is((await runCli(['migrate', 'up'], env)).code, 0);

  const piped = await runCli(['load'], env);
  t.is(piped.code, 0, piped.stderr);
  t.regex(piped.stderr, /^staging_events: 1\/1 files, 2 rows, 0\.0 MB in [\d.]+s/m);
  const steps = pipeline.transforms.length;
  t.deepEqual(
    piped.stderr.match(new RegExp(`^\\[\\d of ${steps}\\] OK transform \\w+: \\d+ rows in [\\d.]+s$`, 'gm'))?.length,
    steps,
  );
  t.notRegex(piped.stderr, /START|\[░|files \|/, 'no live output in a pipe');
  const ends = [
    ...piped.stderr.matchAll(/^(\w+): \d+\/\d+ files, (\d+) rows, [\d.]+ MB in ([\d.]+)s(?:, ([\d.]+) rows\/s)?$/gm),
  ];
  t.is(ends.length, 2, 'one end line per staging table');
  for (const m of ends) {
    // A rate only once the table ran half a second, so never above rows / 0.5 s.
    if (m[4] !== undefined) t.true(Number(m[4]) <= Number(m[2]) / 0.5, `${m[1]}: ${m[4]} rows/s for ${m[2]} rows`);
  }

  // At a terminal (script(1) gives the command a pseudo-terminal).
  const [command, argv] = cliCommand(['load']);
  const quoted = [command, ...argv].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  const tty = await run('script', ['-qec', quoted, '/dev/null'], {
    cwd: PROJECT_DIR,
    env: { PATH: process.env['PATH'], HOME: process.env['HOME'], TMPDIR: process.env['TMPDIR'], ...env },
  });
  t.regex(tty.stdout, /staging_events \[.*\] \d+\/1 files \|/);
  t.regex(tty.stdout, new RegExp(`\\[\\d of ${steps}\\] START transform songplays: `));
  t.regex(tty.stdout, new RegExp(`\\[\\d of ${steps}\\] OK transform songplays: 2 rows in [\\d.]+s`));
});

/** The compiled command line run in `cwd` (where it looks for sparkify.ini and dwh.cfg). */
async function runIn(
  cwd: string,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  ensureBuilt();
  return run(process.execPath, [CLI_ENTRY, ...args, '--env-file=/dev/null'], {
    cwd,
    env: { PATH: process.env['PATH'], HOME: process.env['HOME'], TMPDIR: process.env['TMPDIR'], ...env },
  }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (err: { code: number; stdout: string; stderr: string }) => ({
      code: err.code,
      stdout: err.stdout,
      stderr: err.stderr,
    }),
  );
}

test('named targets (sparkify.ini, --target, SPARKIFY_TARGET), a dwh.cfg in the working folder, --log-format json', async (t) => {
  const tdb = await createTestDatabase();
  t.teardown(() => tdb.drop());
  t.is((await runCli(['migrate', 'up'], { DATABASE_URL: tdb.url })).code, 0);
  const dir = await tempDir(t, 'sparkify-newcomer-targets-');
  const password = new URL(tdb.url).password;
  await writeFile(
    path.join(dir, 'sparkify.ini'),
    `[target.dev]\n\n[target.shared]\nDATABASE_URL = ${tdb.url}\n\n[target.nowhere]\nDATABASE_URL = postgres://u:p@127.0.0.1:9/dev\n`,
  );
  const shared = await runIn(dir, ['migrate', 'status', '--target', 'shared', '--format', 'json']);
  t.is(shared.code, 0, shared.stderr);
  t.is((JSON.parse(shared.stdout) as { applied: unknown[] }).applied.length, MIGRATIONS);
  t.regex(shared.stderr, /Target shared \(sparkify\.ini \[target\.shared\]\)/);
  const byEnv = await runIn(dir, ['verify'], { SPARKIFY_TARGET: 'nowhere' });
  t.is(byEnv.code, 1);
  t.regex(byEnv.stderr, /127\.0\.0\.1:9/);
  const unknown = await runIn(dir, ['verify', '--target', 'prod']);
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /no \[target\.prod\] section \(its targets: dev, shared, nowhere\)/);
  // The environment wins over the target.
  const env = await runIn(dir, ['migrate', 'status', '--target', 'nowhere', '--format', 'json'], {
    DATABASE_URL: tdb.url,
  });
  t.is(env.code, 0, env.stderr);
  // --log-format json: every stderr line one JSON object; no secret in them.
  const logged = await runIn(dir, ['verify', '--target', 'shared', '--log-format', 'json']);
  const lines = logged.stderr.trim().split('\n');
  t.true(
    lines.length > 0 && lines.every((l) => typeof (JSON.parse(l) as { message: string }).message === 'string'),
    logged.stderr,
  );
  if (password) t.false(logged.stderr.includes(password));

  // A dwh.cfg in the working folder is read without --config, and said so.
  const cfgDir = await tempDir(t, 'sparkify-newcomer-cfg-');
  const u = new URL(tdb.url);
  await writeFile(
    path.join(cfgDir, 'dwh.cfg'),
    `[CLUSTER]\nHOST=${u.hostname}\nDB_NAME=${u.pathname.slice(1)}\nDB_USER=${decodeURIComponent(u.username)}\nDB_PASSWORD=${decodeURIComponent(u.password)}\nDB_PORT=${u.port}\n`,
  );
  const viaCfg = await runIn(cfgDir, ['migrate', 'status', '--format', 'json']);
  t.is(viaCfg.code, 0, viaCfg.stderr);
  t.regex(viaCfg.stderr, /Reading .*dwh\.cfg \(a dwh\.cfg in the working folder/);
  t.is((JSON.parse(viaCfg.stdout) as { applied: unknown[] }).applied.length, MIGRATIONS);
});

test('query --format json is typed; --format csv on verify; migrate down --all asks (no terminal: --yes needed)', async (t) => {
  const tdb = await createTestDatabase();
  t.teardown(() => tdb.drop());
  const env = { DATABASE_URL: tdb.url };
  t.is((await runCli(['migrate', 'up'], env)).code, 0);
  const q = await runCli(
    [
      'query',
      '--format',
      'json',
      "SELECT CAST(9007199254740991 AS BIGINT) AS big, CAST(9007199254740993 AS BIGINT) AS huge, CAST(1.50 AS NUMERIC(5,2)) AS x, TIMESTAMP '2018-11-01 21:01:46.796' AS ts, COUNT(*) AS n FROM users",
    ],
    env,
  );
  t.is(q.code, 0, q.stderr);
  t.deepEqual(JSON.parse(q.stdout), [
    { big: 9007199254740991, huge: '9007199254740993', x: 1.5, ts: '2018-11-01T21:01:46.796Z', n: 0 },
  ]);
  const csv = await runCli(['verify', '--format', 'csv'], env);
  t.is(csv.code, 0, csv.stderr);
  t.regex(csv.stdout, /^check,passed,offending_rows\nusers: user_id unique,true,0\n/);
  const down = await runCli(['migrate', 'down', '--all'], env);
  t.is(down.code, 2);
  t.regex(down.stderr, /drops every table and the run history: add --yes/);
  t.is((await runCli(['migrate', 'status', '--format', 'json'], env)).stdout.includes('create-songplays'), true);
  const status = JSON.parse((await runCli(['migrate', 'status', '--format', 'json'], env)).stdout) as {
    applied: unknown[];
  };
  t.is(status.applied.length, MIGRATIONS, 'nothing was dropped');
  t.is((await runCli(['migrate', 'down', '--all', '--yes'], env)).code, 0);
});
