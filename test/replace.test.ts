// Rows of deleted or corrected source files (docs/operations.md, "Deleted and
// corrected source files"): a load only adds and updates rows, so they stay;
// a full load says how many objects the ledger records that the sources no
// longer hold; `load --replace` rebuilds the star tables and the ledger from
// what the sources hold now, in one transaction (a failure before the commit
// leaves the tables as they were). The Redshift dry run renders it.
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { runCli } from './helpers/cli.ts';
import { event, song, writeFixture } from './helpers/fixtures.ts';
import { migratedDatabase } from './helpers/load.ts';
import { sqlfluffAvailable, sqlfluffTitle, sqlfluffViolations } from './helpers/sqlfluff.ts';
import { lintRedshift } from './helpers/redshift-lint.ts';

const jsonLines = (events: readonly Record<string, unknown>[]) =>
  `${events.map((e) => JSON.stringify(e)).join('\n')}\n`;

const count = async (tdb: { query: (sql: string) => Promise<Record<string, unknown>[]> }, table: string) =>
  Number((await tdb.query(`SELECT COUNT(*) AS n FROM ${table}`))[0]?.['n']);

test('a deleted file: its plays stay after a full load, which says so; --replace removes them', async (t) => {
  const tdb = await migratedDatabase();
  t.teardown(() => tdb.drop());
  const fx = await writeFixture(t, {
    logs: {
      'a.json': [event({ userId: '1', ts: 1541000000000 }), event({ userId: '1', ts: 1541000001000 })],
      'b.json': [event({ userId: '2', ts: 1541000002000 })],
    },
    songs: { 's.json': song() },
  });
  const env = { DATABASE_URL: tdb.url, ...fx.env };
  const first = await runCli(['load'], env);
  t.is(first.code, 0, first.stderr);
  t.notRegex(first.stderr, /no longer in the sources/);
  t.is(await count(tdb, 'songplays'), 3);

  await rm(path.join(fx.env['LOG_DATA'] as string, 'b.json'));
  const full = await runCli(['load'], env);
  t.is(full.code, 0, full.stderr);
  t.regex(full.stderr, /1 object\(s\) recorded as loaded are no longer in the sources \(staging_events: 1\)/);
  t.regex(full.stderr, /--replace/);
  t.is(await count(tdb, 'songplays'), 3, 'a load only adds and updates: the deleted file’s play stays');

  const refused = await runCli(['load', '--replace'], env);
  t.is(refused.code, 2, 'not at a terminal: --yes is required');
  t.regex(refused.stderr, /--yes/);

  const replaced = await runCli(['load', '--replace', '--yes', '--format', 'json'], env);
  t.is(replaced.code, 0, replaced.stderr);
  t.is(await count(tdb, 'songplays'), 2);
  t.deepEqual(
    (await tdb.query<{ user_id: number }>('SELECT user_id FROM users ORDER BY user_id')).map((r) => r.user_id),
    [1],
    'the user of the deleted file went too',
  );
  const steps = (JSON.parse(replaced.stdout) as { steps: { step: string; rows: number }[] }).steps.map((s) => s.step);
  t.true(steps.some((s) => s.startsWith('replace')));
  t.true(steps.includes('transform songplays'));
  const ledger = await tdb.query<{ object_uri: string }>(
    "SELECT object_uri FROM load_ledger WHERE table_name = 'staging_events'",
  );
  t.deepEqual(
    ledger.map((r) => path.basename(r.object_uri)),
    ['a.json'],
  );
  const again = await runCli(['load'], env);
  t.is(again.code, 0, again.stderr);
  t.notRegex(again.stderr, /no longer in the sources/);
});

test('a file re-delivered with corrected session ids doubles its plays on a full load; --replace does not', async (t) => {
  const tdb = await migratedDatabase();
  t.teardown(() => tdb.drop());
  const plays = [
    event({ userId: '3', ts: 1542000000000, sessionId: 1 }),
    event({ userId: '3', ts: 1542000001000, sessionId: 1 }),
  ];
  const fx = await writeFixture(t, { logs: { 'c.json': plays }, songs: { 's.json': song() } });
  const env = { DATABASE_URL: tdb.url, ...fx.env };
  t.is((await runCli(['load'], env)).code, 0);
  t.is(await count(tdb, 'songplays'), 2);

  await writeFile(
    path.join(fx.env['LOG_DATA'] as string, 'c.json'),
    jsonLines(plays.map((p) => ({ ...p, sessionId: 77 }))),
  );
  t.is((await runCli(['load'], env)).code, 0);
  t.is(await count(tdb, 'songplays'), 4, 'upsert only: the plays under the old session ids stay');

  const replaced = await runCli(['load', '--replace', '--yes'], env);
  t.is(replaced.code, 0, replaced.stderr);
  t.deepEqual(
    (await tdb.query<{ session_id: number }>('SELECT session_id FROM songplays')).map((r) => r.session_id),
    [77, 77],
  );
});

test('--replace that fails before its commit leaves every star table as it was', async (t) => {
  const tdb = await migratedDatabase();
  t.teardown(() => tdb.drop());
  const fx = await writeFixture(t, {
    logs: {
      'a.json': [event({ userId: '4', ts: 1543000000000 })],
      'b.json': [event({ userId: '5', ts: 1543000001000 })],
    },
    songs: { 's.json': song() },
  });
  const env = { DATABASE_URL: tdb.url, ...fx.env };
  t.is((await runCli(['load'], env)).code, 0);
  await rm(path.join(fx.env['LOG_DATA'] as string, 'b.json'));
  const before = await tdb.query(
    'SELECT COUNT(*) AS plays, (SELECT COUNT(*) FROM users) AS users, (SELECT COUNT(*) FROM load_ledger) AS ledger FROM songplays',
  );
  const failed = await runCli(['load', '--replace', '--yes'], {
    ...env,
    SPARKIFY_FAULT_AT: 'replace:before-commit',
    SPARKIFY_FAULT: 'fail',
  });
  t.not(failed.code, 0, failed.stderr);
  t.deepEqual(
    await tdb.query(
      'SELECT COUNT(*) AS plays, (SELECT COUNT(*) FROM users) AS users, (SELECT COUNT(*) FROM load_ledger) AS ledger FROM songplays',
    ),
    before,
    'no half-applied state: the DELETEs and the transforms rolled back together',
  );
});

async function redshiftReplaceScript(t: import('ava').ExecutionContext): Promise<string> {
  const r = await runCli(['load', '--replace', '--dry-run', '--dialect', 'redshift']);
  t.is(r.code, 0, r.stderr);
  return r.stdout;
}

test('load --replace --dry-run --dialect redshift: one transaction, DELETE (not TRUNCATE), every transform inside it', async (t) => {
  const sql = await redshiftReplaceScript(t);
  const replace = sql.slice(sql.indexOf('-- step: replace'));
  t.true(replace.length > 0 && sql.includes('-- step: replace'));
  t.is(replace.match(/^BEGIN;$/gm)?.length, 1);
  t.is(replace.match(/^COMMIT;$/gm)?.length, 1);
  t.regex(replace, /^DELETE FROM songplays;$/m);
  t.regex(replace, /^DELETE FROM load_ledger;$/m);
  t.notRegex(replace, /TRUNCATE/);
  t.regex(replace, /MERGE INTO songplays/);
  t.deepEqual(lintRedshift(sql), []);
});

(sqlfluffAvailable ? test : test.skip)(
  sqlfluffTitle('sqlfluff parses the --replace dry run for Redshift'),
  async (t) => {
    t.deepEqual(sqlfluffViolations(await redshiftReplaceScript(t)), []);
  },
);
