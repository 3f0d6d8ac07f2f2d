// A warehouse that already has the seed's tables (its create_tables.py):
// migrate up names each one and its columns against ours before running
// anything; --replace-existing --yes drops and recreates exactly those; --fake
// marks the migrations as applied for a schema made by hand.
import test from 'ava';
import { ExistingTablesError, tablesCreatedBy } from '../lib/migrate/existing-tables.ts';
import { openDatabase } from '../lib/db/database.ts';
import { dialectByName } from '../lib/dialect/index.ts';
import { silentLogger } from '../lib/log.ts';
import { migrate, migrationScript } from '../lib/migrate/migrate.ts';
import { migratedTableDefs } from '../lib/report/page/schema-model.ts';
import { runCli } from './helpers/cli.ts';
import { createTestDatabase } from './helpers/database.ts';
import { migratedDatabase } from './helpers/load.ts';

/** The seed project's staging_events, as its create_tables.py makes it. */
const SEED_STAGING_EVENTS = `CREATE TABLE staging_events (
  artist VARCHAR, auth VARCHAR, firstName VARCHAR, gender VARCHAR, itemInSession INTEGER, lastName VARCHAR,
  length FLOAT, level VARCHAR, location VARCHAR, method VARCHAR, page VARCHAR, registration BIGINT,
  sessionId INTEGER, song VARCHAR, status INTEGER, ts TIMESTAMP, userAgent VARCHAR, userId INTEGER)`;

const columnsOf = async (
  tdb: { query: (sql: string, values?: unknown[]) => Promise<Record<string, unknown>[]> },
  table: string,
) =>
  (
    await tdb.query(
      'select column_name from information_schema.columns where table_schema = current_schema() and table_name = $1 order by ordinal_position',
      [table],
    )
  ).map((r) => String(r['column_name']));

test('the tables and columns a rendered migration script creates, on both engines', async (t) => {
  for (const name of ['redshift', 'postgres'] as const) {
    const tables = tablesCreatedBy(
      await migrationScript({ dialect: dialectByName(name) }, { direction: 'up', log: silentLogger }),
    );
    t.deepEqual(
      [...tables.keys()],
      (await migratedTableDefs()).map((d) => d.name),
      name,
    );
    t.deepEqual(tables.get('users'), [
      { name: 'user_id', type: 'INTEGER' },
      { name: 'first_name', type: 'VARCHAR(256)' },
      { name: 'last_name', type: 'VARCHAR(256)' },
      { name: 'gender', type: 'VARCHAR(16)' },
      { name: 'level', type: 'VARCHAR(16)' },
      { name: 'last_event_ts', type: 'BIGINT' },
      { name: 'last_event_item_in_session', type: 'INTEGER' },
      { name: 'last_event_session_id', type: 'INTEGER' },
    ]);
    t.deepEqual(tables.get('songplays')?.[0], { name: 'songplay_id', type: 'BIGINT' });
  }
});

test('a seed-shaped table stops migrate up, named with its columns against ours; --replace-existing --yes replaces only it', async (t) => {
  const tdb = await createTestDatabase();
  t.teardown(() => tdb.drop());
  await tdb.query(SEED_STAGING_EVENTS);
  await tdb.query("insert into staging_events (artist, userId) values ('seed row', 1)");
  await tdb.query('create table my_notes (note varchar(64))');
  await tdb.query("insert into my_notes values ('keep me')");
  const env = { DATABASE_URL: tdb.url };

  const stopped = await runCli(['migrate', 'up'], env);
  t.is(stopped.code, 2, stopped.stderr);
  t.regex(stopped.stderr, /already exists in schema public, not made by them .*: staging_events\. No migration ran\./);
  t.regex(stopped.stderr, /staging_events: \d+ of its columns differ from ours/);
  t.regex(stopped.stderr, /^ {4}first_name\s+\(none\)\s+VARCHAR\(256\)\s+≠$/m);
  t.regex(stopped.stderr, /^ {4}firstname\s+VARCHAR\s+\(none\)\s+≠$/m);
  t.regex(stopped.stderr, /^ {4}ts\s+TIMESTAMP\s+BIGINT\s+≠$/m);
  t.regex(stopped.stderr, /^ {4}gender\s+VARCHAR\s+VARCHAR\(16\)\s+≠$/m);
  t.regex(
    stopped.stderr,
    /npm run migrate -- up --replace-existing` drops and recreates exactly this table \(staging_events\)/,
  );
  t.regex(stopped.stderr, /--fake/);
  t.deepEqual(
    await tdb.query(
      "select table_name from information_schema.tables where table_schema = 'public' and table_name in ('users', 'pgmigrations')",
    ),
    [],
    'no migration ran',
  );

  const unconfirmed = await runCli(['migrate', 'up', '--replace-existing'], env);
  t.is(unconfirmed.code, 2, unconfirmed.stderr);
  t.regex(unconfirmed.stderr, /--replace-existing drops staging_events and recreates them empty: add --yes/);
  t.deepEqual(await tdb.query('select artist from staging_events'), [{ artist: 'seed row' }]);

  const replaced = await runCli(['migrate', 'up', '--replace-existing', '--yes'], env);
  t.is(replaced.code, 0, replaced.stderr);
  t.regex(replaced.stderr, /Replacing staging_events/);
  t.true((await columnsOf(tdb, 'staging_events')).includes('first_name'));
  t.false((await columnsOf(tdb, 'staging_events')).includes('firstname'));
  t.deepEqual(await tdb.query('select * from staging_events'), []);
  t.deepEqual(await tdb.query('select note from my_notes'), [{ note: 'keep me' }], 'nothing else is dropped');
  const status = await runCli(['migrate', 'status'], env);
  t.regex(status.stdout, /^\d+ applied, 0 pending/m);
});

test('--fake marks the migrations as applied for a schema made by hand, running none of them', async (t) => {
  const tdb = await migratedDatabase();
  t.teardown(() => tdb.drop());
  // The same tables, but no bookkeeping: as if made by hand.
  await tdb.query('drop table pgmigrations');
  await tdb.query("insert into users (user_id, level) values (7, 'paid')");
  const env = { DATABASE_URL: tdb.url };
  const stopped = await runCli(['migrate', 'up'], env);
  t.is(stopped.code, 2, stopped.stderr);
  const created = (await migratedTableDefs()).length;
  t.regex(stopped.stderr, new RegExp(`${created} tables that these migrations create already exist in schema public`));
  t.regex(stopped.stderr, /users: the same columns as ours/);
  const faked = await runCli(['migrate', 'up', '--fake'], env);
  t.is(faked.code, 0, faked.stderr);
  t.regex(faked.stdout, /^Marked as migrated \(--fake, nothing run\) up: 20261122000100000_create-staging-events, /m);
  t.deepEqual(await tdb.query('select user_id, level from users'), [{ user_id: 7, level: 'paid' }]);
  const status = await runCli(['migrate', 'status'], env);
  t.regex(status.stdout, /^\d+ applied, 0 pending/m);
  t.is((await runCli(['migrate', 'up'], env)).stdout.trim(), 'Nothing to migrate up.');
});

test("the warehouse schema's own tables are the ones looked at: a seed table in public does not stop another schema, one in that schema does", async (t) => {
  const tdb = await createTestDatabase();
  t.teardown(() => tdb.drop());
  await tdb.query(SEED_STAGING_EVENTS);
  await tdb.query('create schema dev_seeded');
  await tdb.query(SEED_STAGING_EVENTS.replace('CREATE TABLE staging_events', 'CREATE TABLE dev_seeded.staging_events'));
  const up = (schema: string) => async () => {
    const db = await openDatabase(tdb.config({ WAREHOUSE_SCHEMA: schema }), silentLogger, { missingSchema: 'create' });
    try {
      await migrate(db, { direction: 'up', log: silentLogger });
    } finally {
      await db.close();
    }
  };
  const stopped = await t.throwsAsync(up('dev_seeded'), { instanceOf: ExistingTablesError });
  t.regex(stopped?.message ?? '', /already exists in schema dev_seeded, not made by them .*: staging_events\./);
  await t.notThrowsAsync(up('dev_clean'), "public's seed table is not in dev_clean");
  t.deepEqual(
    await tdb.query(
      "select count(*)::int as n from information_schema.tables where table_schema = 'dev_clean' and table_name = 'songplays'",
    ),
    [{ n: 1 }],
  );
});
