// Issue 26, "Also": `migrate down` (and `up`) waited without a word while another session held a lock on a
// table the migration changes (a report or a psql left open in a transaction). Now it says which table, which
// lock and who holds it, then goes on once that transaction ends. (The warehouse lock's own wait is said by
// lib/db/lock.ts: test/migrate.test.ts, test/data-api-failures.test.ts.) On Redshift the holder is read from
// SVV_TRANSACTIONS, here through the Data API stand-in, which has it as a view over pg_locks.
import { readdir } from 'node:fs/promises';
import test from 'ava';
import pg from 'pg';
import { spawnCli } from './support/spawn-cli.ts';
import { runCli } from './helpers/cli.ts';
import { startDataApiStandIn } from './helpers/data-api.ts';
import { createTestDatabase } from './helpers/database.ts';
import { migratedDatabase } from './helpers/load.ts';
import { startS3 } from './helpers/s3.ts';

/**
 * Runs `migrate <action>` (with `env`: the warehouse's settings) while a session on `url` holds `tables` in an
 * open transaction; releases it once stderr says `until`.
 */
async function migrateWhileHeld(
  url: string,
  env: Record<string, string>,
  action: 'up' | 'down',
  tables: readonly string[],
  until: RegExp,
) {
  const holder = new pg.Client({ connectionString: url, application_name: 'an analyst' });
  await holder.connect();
  await holder.query('BEGIN');
  for (const table of tables) await holder.query(`SELECT COUNT(*) FROM ${table}`);
  const pid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
  const child = spawnCli(['migrate', action], {
    PATH: process.env['PATH'] ?? '',
    HOME: process.env['HOME'] ?? '',
    ...env,
  });
  let stderr = '';
  let said: () => void = () => undefined;
  const saying = new Promise<void>((resolve) => (said = resolve));
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (until.test(stderr)) said();
  });
  child.stdout.resume();
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  // Not said within a minute: released anyway, and the test fails on `first`.
  const first = await Promise.race([
    saying.then(() => 'said' as const),
    exited.then(() => 'exited' as const),
    new Promise<'silent'>((resolve) => setTimeout(() => resolve('silent'), 60_000).unref()),
  ]);
  await holder.query('ROLLBACK');
  await holder.end();
  return { first, code: await exited, stderr, pid };
}

/** The table the last migration alters (an added column): the one `migrate down`, then `up`, must lock. */
async function lastMigrationTable(): Promise<string> {
  const dir = new URL('../migrations/', import.meta.url);
  const last =
    (await readdir(dir))
      .filter((f) => f.endsWith('.ts'))
      .sort()
      .at(-1) ?? '';
  const module = (await import(new URL(last, dir).href)) as { addedColumn?: { table: string } };
  if (!module.addedColumn) throw new Error(`${last} adds no column: pick the table it locks in this test`);
  return module.addedColumn.table;
}

for (const action of ['down', 'up'] as const) {
  test(`migrate ${action} waiting for a table another session holds says which table, which lock and who holds it`, async (t) => {
    const tdb = await migratedDatabase();
    t.teardown(() => tdb.drop());
    // Down first, for `up` to have something to apply.
    if (action === 'up') t.is((await runCli(['migrate', 'down'], { DATABASE_URL: tdb.url })).code, 0);
    const table = await lastMigrationTable();
    const r = await migrateWhileHeld(tdb.url, { DATABASE_URL: tdb.url }, action, [table, 'load_runs'], /held by pid/);
    t.is(r.first, 'said', r.stderr);
    t.regex(
      r.stderr,
      new RegExp(
        `Waiting \\(\\d+s\\) for AccessExclusiveLock on ${table}, held by pid ${r.pid} \\([^)]*an analyst, idle in transaction[^)]*\\): migrate ${action} goes on when that transaction ends`,
      ),
    );
    t.is(r.code, 0, r.stderr);
  });
}

test('through the Data API (the Redshift plan): migrate down says who holds the table, read from SVV_TRANSACTIONS', async (t) => {
  const s3 = await startS3([]);
  t.teardown(() => s3.close());
  const standIn = await startDataApiStandIn(s3);
  t.teardown(() => standIn.close());
  const tdb = await createTestDatabase();
  t.teardown(() => tdb.drop());
  const env = standIn.env(tdb.name);
  const up = await runCli(['migrate', 'up'], env, { timeoutMs: 600_000 });
  t.is(up.code, 0, up.stderr);
  const table = await lastMigrationTable();
  const r = await migrateWhileHeld(tdb.url, env, 'down', [table], /held by pid/);
  t.is(r.first, 'said', r.stderr);
  // SVV_TRANSACTIONS has the holder's user and its transaction's start, not its application or state (lib/dialect/redshift/dialect.ts).
  t.regex(
    r.stderr,
    new RegExp(
      `Waiting \\(\\d+s\\) for AccessExclusiveLock on ${table}, held by pid ${r.pid} \\(\\w+, in a transaction, its transaction open \\d+s\\): migrate down goes on when that transaction ends`,
    ),
  );
  t.is(r.code, 0, r.stderr);
});
