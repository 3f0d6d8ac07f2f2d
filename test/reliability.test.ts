// Crash-safe, concurrency-safe loads on a real PostgreSQL: SIGKILL at many
// points, a backend terminated by an administrator, a dropped connection
// (retried), two loads at once, a load during a migrate.
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import test from 'ava';
import { generate } from '../lib/sample/generator.ts';
import { spawnCli } from '../scripts/dev/spawn-cli.ts';
import { runCli } from './helpers/cli.ts';
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
  sources = { LOG_DATA: path.join(out, 'log_data'), SONG_DATA: path.join(out, 'song_data'), LOG_JSONPATH: path.join(out, 'log_json_path.json') };
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

/** Starts `load` (or another command) and resolves once it reaches the fault point. */
function startAt(args: string[], env: Record<string, string>, point: string, mode = 'hang'): { child: ChildProcess; reached: Promise<void>; done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; stdout: string }> } {
  const child = spawnCli(args, { PATH: process.env['PATH'], HOME: process.env['HOME'], TMPDIR: process.env['TMPDIR'], ...env, SPARKIFY_FAULT_AT: point, SPARKIFY_FAULT: mode });
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
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; stdout: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stderr, stdout })),
  );
  reached.catch(() => undefined);
  return { child, reached, done };
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

test.serial('a transform that fails does not stop the other lane: its steps commit, the failure is reported, a re-run completes', async (t) => {
  const tdb = await fresh();
  const env = { DATABASE_URL: tdb.url, ...sources };
  const run = startAt(['load'], env, 'transform:songplays:before-commit', 'fail');
  const failed = await run.done;
  t.is(failed.code, 1, failed.stderr);
  t.regex(failed.stderr, /error: .*injected failure at fault point transform:songplays:before-commit/);
  const count = async (table: string) => (await tdb.query<{ n: number }>(`select count(*)::int as n from ${table}`))[0]?.n;
  t.is(await count('songplays'), 0, 'the failed step rolled back');
  t.true(((await count('users')) ?? 0) > 0, 'users (the other lane) committed');
  t.true(((await count('time')) ?? 0) > 0, 'time (the other lane) committed');
  t.is((await runCli(['load'], env)).code, 0);
  t.deepEqual(await contentChecksums(tdb), clean);
});

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
  const u = new URL(tdb.url);
  const proxy = await startProxy(u.hostname, Number(u.port));
  t.teardown(() => proxy.close());
  const viaProxy = new URL(tdb.url);
  viaProxy.port = String(proxy.port);
  const env = { DATABASE_URL: viaProxy.toString(), ...sources };
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
  const first = startAt(['load'], env, 'load:locked', 'pause:2500');
  await first.reached;
  const second = await runCli(['load'], env);
  const one = await first.done;
  t.is(one.code, 0, one.stderr);
  t.is(second.code, 0, second.stderr);
  t.regex(second.stderr, /Waiting for the warehouse lock \(\d+s\): another migrate or load is running/);
  t.deepEqual(await contentChecksums(tdb), clean);
});

test.serial('a load during a migrate waits for the migrate to finish', async (t) => {
  const tdb = await fresh();
  const env = { DATABASE_URL: tdb.url, ...sources };
  t.is((await runCli(['migrate', 'down'], env)).code, 0);
  const migrating = startAt(['migrate', 'up'], env, 'migrate:locked', 'pause:2500');
  await migrating.reached;
  const load = await runCli(['load'], env);
  const migrated = await migrating.done;
  t.is(migrated.code, 0, migrated.stderr);
  t.is(load.code, 0, load.stderr);
  t.regex(load.stderr, /Waiting for the warehouse lock/);
  t.deepEqual(await contentChecksums(tdb), clean);
});
