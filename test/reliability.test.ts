// Crash-safe, concurrency-safe loads on a real PostgreSQL: SIGKILL at many
// points, a backend terminated by an administrator, a dropped connection
// (retried), two loads at once, a load during a migrate, the warehouse lock
// lost mid-run, SIGINT/SIGTERM to the load and to its npm parent.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import pg from 'pg';
import { generate } from '../lib/sample/generator.ts';
import { spawnCli } from './support/spawn-cli.ts';
import { PROJECT_DIR, runCli } from './helpers/cli.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { migratedDatabase } from './helpers/load.ts';
import { startProxy } from './helpers/tcp-proxy.ts';
import { fileScope, tempDir } from './helpers/temp-dir.ts';
import { contentChecksums } from './helpers/warehouse.ts';

let sources: Record<string, string>;
let clean: Record<string, string>;
const dbs: TestDatabase[] = [];
const scope = fileScope();

test.before(async () => {
  const out = await tempDir(scope, 'gen-');
  await generate({ songs: 200, events: 3000, seed: 5, out });
  sources = {
    LOG_DATA: path.join(out, 'log_data'),
    SONG_DATA: path.join(out, 'song_data'),
    LOG_JSONPATH: path.join(out, 'log_json_path.json'),
  };
  const reference = await migratedDatabase();
  dbs.push(reference);
  const r = await runCli(['load'], { DATABASE_URL: reference.url, ...sources });
  if (r.code !== 0) throw new Error(r.stderr);
  clean = await contentChecksums(reference);
});
const children = new Set<ChildProcess>();
test.after.always(async () => {
  // A failed assertion must not leave a load hanging at its fault point.
  for (const child of children) child.kill('SIGKILL');
  await Promise.all(dbs.map((d) => d.drop()));
});

async function fresh(): Promise<TestDatabase> {
  const tdb = await migratedDatabase();
  dbs.push(tdb);
  return tdb;
}

interface Started {
  readonly child: ChildProcess;
  /** Resolves once the fault point is reached. */
  readonly reached: Promise<void>;
  readonly done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; stdout: string }>;
  /** Resolves once stderr contains the text. */
  said(text: string): Promise<void>;
}

/** Starts `load` (or another command) and resolves once it reaches the fault point. */
function startAt(
  args: string[],
  env: Record<string, string>,
  point: string,
  mode = 'hang',
  command?: string[],
): Started {
  const childEnv = {
    PATH: process.env['PATH'],
    HOME: process.env['HOME'],
    TMPDIR: process.env['TMPDIR'],
    ...env,
    SPARKIFY_FAULT_AT: point,
    SPARKIFY_FAULT: mode,
  };
  const child = command
    ? spawn(command[0] ?? '', command.slice(1), { cwd: PROJECT_DIR, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawnCli(args, childEnv);
  children.add(child);
  child.on('close', () => children.delete(child));
  let stderr = '';
  let stdout = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  const reached = new Promise<void>((resolve, reject) => {
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes(`fault point: ${point}`)) resolve();
    });
    child.on('close', () => reject(new Error(`exited before ${point}:\n${stderr}`)));
  });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; stdout: string }>(
    (resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr, stdout })),
  );
  reached.catch(() => undefined);
  const said = (text: string) =>
    new Promise<void>((resolve, reject) => {
      const look = () => {
        if (stderr.includes(text)) resolve();
      };
      child.stderr?.on('data', look);
      child.on('close', () => reject(new Error(`exited before saying ${text}:\n${stderr}`)));
      look();
    });
  return { child, reached, done, said };
}

/** Polls until the condition holds (the tests wait for states of the server, never for a time). */
async function waitFor(what: string, condition: () => Promise<boolean>, polls = 600): Promise<void> {
  for (let i = 0; i < polls; i += 1) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
}

/** The backend holding the warehouse lock of this database, and how long its transaction has been open. */
async function lockHolder(tdb: TestDatabase): Promise<{ pid: number; seconds: number } | undefined> {
  const rows = await tdb.query<{ pid: number; seconds: number }>(
    `select l.pid, extract(epoch from now() - a.xact_start)::float8 as seconds
     from pg_locks as l
     join pg_stat_activity as a on a.pid = l.pid
     where l.relation = 'sparkify_lock'::regclass and l.granted and l.mode = 'AccessExclusiveLock'
       and l.database = (select oid from pg_database where datname = current_database())`,
  );
  return rows[0];
}

const rowCount = async (tdb: TestDatabase, table: string) =>
  (await tdb.query<{ n: number }>(`select count(*)::int as n from ${table}`))[0]?.n;

/** The load's settings with its database reached through a TCP proxy the test can cut. */
async function throughProxy(
  t: ExecutionContext,
  tdb: TestDatabase,
): Promise<{ proxy: Awaited<ReturnType<typeof startProxy>>; env: Record<string, string> }> {
  const u = new URL(tdb.url);
  const proxy = await startProxy(u.hostname, Number(u.port));
  t.teardown(() => proxy.close());
  const viaProxy = new URL(tdb.url);
  viaProxy.port = String(proxy.port);
  return { proxy, env: { DATABASE_URL: viaProxy.toString(), ...sources } };
}

const KILL_POINTS = [
  'load:locked',
  'stage:staging_events:copied',
  'stage:before-commit',
  'load:staged',
  'transform:users:before-commit',
  'transform:songplays:before-commit',
  'transform:time:before-commit',
];

test.serial('SIGKILL at any point, then a re-run: the warehouse is identical to one clean run', async (t) => {
  const tdb = await fresh();
  const env = { DATABASE_URL: tdb.url, ...sources };
  for (const point of KILL_POINTS) {
    const run = startAt(['load'], env, point);
    await run.reached;
    run.child.kill('SIGKILL');
    const killed = await run.done;
    t.is(killed.signal, 'SIGKILL', point);
    const again = await runCli(['load'], env);
    t.is(again.code, 0, `${point}: ${again.stderr}`);
    t.deepEqual(await contentChecksums(tdb), clean, `after a kill at ${point}`);
  }
  // Killed while listing a fresh warehouse's sources, before anything was written.
  const empty = await fresh();
  const first = startAt(['load'], { ...env, DATABASE_URL: empty.url }, 'load:locked');
  await first.reached;
  first.child.kill('SIGKILL');
  await first.done;
  t.is((await empty.query<{ n: number }>('select count(*)::int as n from songplays'))[0]?.n, 0);
  t.is((await runCli(['load'], { ...env, DATABASE_URL: empty.url })).code, 0);
  t.deepEqual(await contentChecksums(empty), clean);
});

test.serial(
  'a transform that fails does not stop the other lane: its steps commit, the failure is reported, a re-run completes',
  async (t) => {
    const tdb = await fresh();
    const env = { DATABASE_URL: tdb.url, ...sources };
    const run = startAt(['load'], env, 'transform:songplays:before-commit', 'fail');
    const failed = await run.done;
    t.is(failed.code, 1, failed.stderr);
    t.regex(failed.stderr, /error: .*injected failure at fault point transform:songplays:before-commit/);
    const count = async (table: string) =>
      (await tdb.query<{ n: number }>(`select count(*)::int as n from ${table}`))[0]?.n;
    t.is(await count('songplays'), 0, 'the failed step rolled back');
    t.true(((await count('users')) ?? 0) > 0, 'users (the other lane) committed');
    t.true(((await count('time')) ?? 0) > 0, 'time (the other lane) committed');
    t.is((await runCli(['load'], env)).code, 0);
    t.deepEqual(await contentChecksums(tdb), clean);
  },
);

test.serial('a backend terminated mid-load: a clear error, nothing half-applied, and a re-run completes', async (t) => {
  const tdb = await fresh();
  const env = { DATABASE_URL: tdb.url, ...sources };
  t.is((await runCli(['load', '--only', 'stage'], env)).code, 0);
  const before = await contentChecksums(tdb);
  const run = startAt(['load'], env, 'stage:staging_events:copied', 'pause:1500');
  await run.reached;
  const killed = await tdb.query<{ ok: boolean }>(
    `select pg_terminate_backend(pid) as ok from pg_stat_activity where datname = current_database() and application_name = 'sparkify-warehouse'`,
  );
  t.true(killed.length >= 1);
  const result = await run.done;
  t.not(result.code, 0);
  t.regex(result.stderr, /error: .*(terminating connection due to administrator command|Lost the warehouse lock)/);
  t.notRegex(result.stderr, /\n\s+at /, 'no stack trace');
  t.deepEqual(await contentChecksums(tdb), before, 'staging as it was; star tables untouched');
  t.is((await runCli(['load'], env)).code, 0);
  t.deepEqual(await contentChecksums(tdb), clean);
});

test.serial('a dropped connection is retried with backoff and says so; the load completes', async (t) => {
  const tdb = await fresh();
  const { proxy, env } = await throughProxy(t, tdb);
  const run = startAt(['load'], env, 'stage:staging_events:copied', 'pause:1500');
  await run.reached;
  // Connections: 0 detects the engine (closed), 1 holds the lock, 2 does the work.
  proxy.cut(2);
  const result = await run.done;
  t.is(result.code, 0, result.stderr);
  t.regex(result.stderr, /warning: stage: transient error \(.*\); retrying in [\d.]+s \(attempt 2 of 4\)/);
  t.deepEqual(await contentChecksums(tdb), clean);
});

test.serial('a permanent error is not retried', async (t) => {
  const tdb = await createTestDatabase();
  dbs.push(tdb);
  const r = await runCli(['load'], { DATABASE_URL: tdb.url, ...sources });
  t.is(r.code, 2);
  t.regex(r.stderr, /run `npm run migrate up` first/);
  t.notRegex(r.stderr, /retrying/);
});

test.serial('two loads at once: the second waits for the first, never interleaving or duplicating', async (t) => {
  const tdb = await fresh();
  const env = { DATABASE_URL: tdb.url, ...sources };
  const first = startAt(['load'], env, 'load:locked', 'wait');
  await first.reached;
  const waiting = startAt(['load'], env, 'none');
  await waiting.said('Waiting for the warehouse lock');
  first.child.kill('SIGUSR2');
  const one = await first.done;
  const second = await waiting.done;
  t.is(one.code, 0, one.stderr);
  t.is(second.code, 0, second.stderr);
  t.regex(second.stderr, /Waiting for the warehouse lock \(\d+s\): another migrate or load is running/);
  t.deepEqual(await contentChecksums(tdb), clean);
});

test.serial('a load during a migrate waits for the migrate to finish', async (t) => {
  const tdb = await fresh();
  const env = { DATABASE_URL: tdb.url, ...sources };
  t.is((await runCli(['migrate', 'down'], env)).code, 0);
  const migrating = startAt(['migrate', 'up'], env, 'migrate:locked', 'wait');
  await migrating.reached;
  const loading = startAt(['load'], env, 'none');
  await loading.said('Waiting for the warehouse lock');
  migrating.child.kill('SIGUSR2');
  const load = await loading.done;
  const migrated = await migrating.done;
  t.is(migrated.code, 0, migrated.stderr);
  t.is(load.code, 0, load.stderr);
  t.regex(load.stderr, /Waiting for the warehouse lock/);
  t.deepEqual(await contentChecksums(tdb), clean);
});

test.serial(
  'the lock survives idle_in_transaction_session_timeout: a second load waits for the first, which exits 0',
  async (t) => {
    const tdb = await fresh();
    await tdb.query(`ALTER DATABASE ${tdb.name} SET idle_in_transaction_session_timeout = '2s'`);
    const env = { DATABASE_URL: tdb.url, ...sources };
    // Staged and committed; the work connection is idle (not in a transaction), the lock's session idle in its transaction.
    const first = startAt(['load'], env, 'load:staged', 'wait');
    await first.reached;
    const holder = await lockHolder(tdb);
    t.truthy(holder);
    // Past the 2 s timeout: the lock's session would have been ended by now.
    await waitFor('the lock to be held for 4 s or lost', async () => ((await lockHolder(tdb))?.seconds ?? 99) > 4);
    t.is((await lockHolder(tdb))?.pid, holder?.pid, 'the same session still holds the lock');
    const second = startAt(['load'], env, 'none');
    await second.said('Waiting for the warehouse lock');
    first.child.kill('SIGUSR2');
    const one = await first.done;
    t.is(one.code, 0, one.stderr);
    const two = await second.done;
    t.is(two.code, 0, two.stderr);
    t.deepEqual(await contentChecksums(tdb), clean);
  },
);

test.serial(
  "the lock's backend terminated mid-step: that step does not commit, nor the ledger; exit 5 names what committed",
  async (t) => {
    const tdb = await fresh();
    const env = { DATABASE_URL: tdb.url, ...sources };
    const run = startAt(['load'], env, 'transform:songplays:before-commit', 'wait');
    await run.reached;
    const holder = await lockHolder(tdb);
    t.truthy(holder);
    await tdb.query('select pg_terminate_backend($1)', [holder?.pid]);
    run.child.kill('SIGUSR2');
    const result = await run.done;
    t.is(result.code, 5, result.stderr);
    t.regex(
      result.stderr,
      /error: Lost the warehouse lock \(terminating connection due to administrator command\).*committed: stage, [^;]*transform songs[^;]*; interrupted and rolled back: [^;]*transform songplays[^;]*; not started: [^;]*ledger/,
    );
    t.is(await rowCount(tdb, 'songplays'), 0, 'songplays was not committed');
    t.is(await rowCount(tdb, 'load_ledger'), 0, 'the ledger was not written');
    t.notRegex(result.stderr, /\n\s+at /, 'no stack trace');
    t.is((await runCli(['load'], env)).code, 0);
    t.deepEqual(await contentChecksums(tdb), clean);
  },
);

test.serial(
  "after the lock's backend is terminated and the work connection drops, staging is not retried without the lock: it runs once, nothing is written, exit 5",
  async (t) => {
    const tdb = await fresh();
    const { proxy, env } = await throughProxy(t, tdb);
    const before = await contentChecksums(tdb);
    const run = startAt(['load'], env, 'stage:staging_events:copied', 'wait');
    await run.reached;
    const holder = await lockHolder(tdb);
    t.truthy(holder);
    await tdb.query('select pg_terminate_backend($1)', [holder?.pid]);
    // Connections: 0 detects the engine (closed), 1 holds the lock, 2 does the work. A dropped work connection is retried…
    proxy.cut(2);
    run.child.kill('SIGUSR2');
    const result = await run.done;
    // …but not once the lock is gone.
    t.is(result.code, 5, result.stderr);
    t.is(
      result.stderr.split('fault point: stage:staging_events:copied').length - 1,
      1,
      `staging ran once:\n${result.stderr}`,
    );
    t.regex(result.stderr, /error: Lost the warehouse lock .*committed: none; interrupted and rolled back: stage;/);
    t.deepEqual(await contentChecksums(tdb), before, 'nothing written');
  },
);

/** A session that holds songplays so that the load's songplays step blocks in a statement. */
async function blockSongplays(tdb: TestDatabase): Promise<pg.Client> {
  const blocker = new pg.Client({ connectionString: tdb.url });
  await blocker.connect();
  await blocker.query('BEGIN');
  await blocker.query('LOCK TABLE songplays IN ACCESS EXCLUSIVE MODE');
  return blocker;
}

const loadBlockedOnSongplays = (tdb: TestDatabase) =>
  waitFor(
    'the load to block on songplays',
    async () =>
      (
        await tdb.query(
          `select 1 from pg_stat_activity where datname = current_database() and application_name = 'sparkify-warehouse' and wait_event_type = 'Lock' and query like '%songplays%'`,
        )
      ).length > 0,
  );

for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  test.serial(
    `${signal} mid-statement: the statement is cancelled, the step rolled back, what committed is said; exit ${code}`,
    async (t) => {
      const tdb = await fresh();
      const env = { DATABASE_URL: tdb.url, ...sources };
      const blocker = await blockSongplays(tdb);
      t.teardown(() => blocker.end().catch(() => undefined));
      const run = startAt(['load'], env, 'none');
      await loadBlockedOnSongplays(tdb);
      run.child.kill(signal);
      // The load ends while songplays is still locked: its statement was cancelled, not finished.
      const result = await run.done;
      t.is(result.code, code, result.stderr);
      t.regex(result.stderr, new RegExp(`${signal} received: cancelling the running statement`));
      t.regex(
        result.stderr,
        new RegExp(
          `error: Interrupted by ${signal}: stopped the load; committed: stage, [^;]*transform songs[^;]*; interrupted and rolled back: [^;]*transform songplays[^;]*; not started: [^;]*ledger`,
        ),
      );
      await blocker.query('ROLLBACK');
      t.is(await rowCount(tdb, 'songplays'), 0);
      t.is(await rowCount(tdb, 'load_ledger'), 0);
      // The run record says so, with the steps that committed.
      const [record] = await tdb.query<{ outcome: string; error: string; steps: string }>(
        'select outcome, error, steps from load_runs',
      );
      t.is(record?.outcome, 'interrupted');
      t.regex(record?.error ?? '', new RegExp(`^Interrupted by ${signal}: stopped the load`));
      t.true((JSON.parse(record?.steps ?? '[]') as { step: string }[]).some((s) => s.step === 'transform songs'));
      t.is((await runCli(['load'], env)).code, 0);
      t.deepEqual(await contentChecksums(tdb), clean);
    },
  );
}

/** Every process below `pid` (Linux /proc). */
function descendants(pid: number): number[] {
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
  return children.flatMap((c) => [c, ...descendants(c)]);
}

/** Whether the process still runs (an exited child nobody reaped yet, a zombie, does not). */
const alive = (pid: number) => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

test.serial(
  'SIGTERM to the `npm run load` parent stops the loader too: it cancels, commits nothing more and exits',
  async (t) => {
    const tdb = await fresh();
    const env = { DATABASE_URL: tdb.url, ...sources };
    const blocker = await blockSongplays(tdb);
    t.teardown(() => blocker.end().catch(() => undefined));
    const npm = startAt([], env, 'none', 'hang', ['npm', 'run', '--silent', 'load', '--', '--env-file=/dev/null']);
    await loadBlockedOnSongplays(tdb);
    const below = descendants(npm.child.pid ?? 0);
    t.true(below.length >= 1, 'npm runs the loader');
    t.teardown(() => {
      for (const pid of below) if (alive(pid)) process.kill(pid, 'SIGKILL');
    });
    npm.child.kill('SIGTERM');
    // A loader that does not notice (its watch on the parent never started) would wait on songplays
    // for ever: fail within 30 s instead of hanging until AVA's timeout (the teardown kills it).
    await waitFor('the loader to exit once its parent ended', async () => below.every((pid) => !alive(pid)), 300);
    // Resolves once every holder of npm's stdout/stderr (the loader too) has exited.
    const result = await npm.done;
    t.deepEqual(below.filter(alive), [], 'no process of the load is left');
    t.regex(result.stderr, /The parent process \(\d+\) ended: stopping as on SIGTERM/);
    t.regex(result.stderr, /error: Interrupted by SIGTERM: stopped the load; committed: stage, /);
    await blocker.query('ROLLBACK');
    t.is(await rowCount(tdb, 'songplays'), 0, 'the loader committed nothing after its parent ended');
  },
);
