// Migrations on a real PostgreSQL: catalog after up, down --all, up again; status; concurrent runs.
import test from 'ava';
import { migrate, migrationNames, migrationStatus } from '../lib/migrate/migrate.ts';
import { MIGRATIONS } from './helpers/migrations.ts';
import { silentLogger } from '../lib/log.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { runCli } from './helpers/cli.ts';

let tdb: TestDatabase;
test.before(async () => {
  tdb = await createTestDatabase();
});
test.after.always(async () => {
  await tdb?.drop();
});

const TABLES = [
  'artists',
  'load_ledger',
  'load_runs',
  'songplays',
  'songs',
  'staging_events',
  'staging_songs',
  'time',
  'user_level_events',
  'user_levels',
  'users',
];

async function catalog(): Promise<string[]> {
  const rows = await tdb.query<{ line: string }>(
    `
    select c.table_name || '.' || c.column_name || ' ' || c.data_type
        || coalesce('(' || c.character_maximum_length || ')', '')
        || case when c.is_nullable = 'NO' then ' not null' else '' end
        || case when c.is_identity = 'YES' then ' identity' else '' end as line
    from information_schema.columns c
    where c.table_schema = 'public' and c.table_name = any($1)
    order by c.table_name, c.ordinal_position`,
    [TABLES],
  );
  const indexes = await tdb.query<{ line: string }>(
    `select tablename || ' ' || indexdef as line from pg_indexes where schemaname = 'public' and tablename = any($1) order by 1`,
    [TABLES],
  );
  return [...rows.map((r) => r.line), ...indexes.map((r) => r.line)];
}

test.serial('up creates the 9 tables and the load ledger with the expected columns and types', async (t) => {
  const db = await tdb.open();
  try {
    const ran = await migrate(db, { direction: 'up', log: silentLogger });
    t.is(ran.length, MIGRATIONS);
  } finally {
    await db.close();
  }
  const cat = await catalog();
  const tables = new Set(cat.map((l) => l.split('.')[0]));
  t.deepEqual([...tables].filter((x) => TABLES.includes(x as string)).sort(), TABLES);
  for (const expected of [
    'staging_events.ts bigint',
    'staging_events.user_id integer',
    'staging_events.first_name character varying(256)',
    'staging_events.length double precision',
    'staging_songs.artist_latitude double precision',
    'staging_songs.duration double precision',
    'songplays.songplay_id bigint not null identity',
    'songplays.start_time timestamp without time zone not null',
    'songplays.user_id integer not null',
    'songplays.song_id character varying(32)',
    'users.user_id integer not null',
    'songs.song_id character varying(32) not null',
    'songs.artist_name character varying(1024)',
    'artists.latitude double precision',
    'time.start_time timestamp without time zone not null',
    'time.weekday integer',
  ]) {
    t.true(cat.includes(expected), `catalog has ${expected}`);
  }
  t.true(cat.some((l) => l.startsWith('songplays CREATE INDEX') && l.includes('(user_id, session_id, start_time)')));
  t.snapshot(cat, 'PostgreSQL catalog after migrate up');
});

test.serial(
  'status lists every migration as applied; down --all removes the schema; up again gives an identical catalog',
  async (t) => {
    const before = await catalog();
    const db = await tdb.open();
    try {
      const status = await migrationStatus(db);
      t.is(status.length, MIGRATIONS);
      t.true(status.every((m) => m.appliedAt !== undefined));
      const down = await migrate(db, { direction: 'down', count: Infinity, log: silentLogger });
      t.is(down.length, MIGRATIONS);
      t.deepEqual(await catalog(), []);
      t.true((await migrationStatus(db)).every((m) => m.appliedAt === undefined));
      await migrate(db, { direction: 'up', log: silentLogger });
    } finally {
      await db.close();
    }
    t.deepEqual(await catalog(), before);
  },
);

test.serial(
  'down defaults to one step, redo re-applies it, through the CLI; staging tables are UNLOGGED on PostgreSQL',
  async (t) => {
    const env = { DATABASE_URL: tdb.url };
    const persistence = async () =>
      (
        await tdb.query<{ relname: string; relpersistence: string }>(
          "select relname, relpersistence from pg_class where relname in ('staging_events', 'staging_songs', 'songplays') order by 1",
        )
      ).map((r) => `${r.relname}:${r.relpersistence}`);
    t.deepEqual(await persistence(), ['songplays:p', 'staging_events:u', 'staging_songs:u']);
    const names = await migrationNames();
    const unlogged = names.indexOf('20261122001000000_staging-tables-unlogged');
    const later = names.length - unlogged - 1;
    t.is(
      (await runCli(['migrate', 'down', '--count', String(later)], env)).code,
      0,
      `the ${later} later migrations down first`,
    );
    const down = await runCli(['migrate', 'down'], env);
    t.is(down.code, 0, down.stderr);
    t.regex(down.stdout, /Migrated down: 20261122001000000_staging-tables-unlogged/);
    t.deepEqual(await persistence(), ['songplays:p', 'staging_events:p', 'staging_songs:p']);
    const status = await runCli(['migrate', 'status'], env);
    t.regex(status.stdout, /pending\s+20261122001000000_staging-tables-unlogged/);
    t.regex(status.stdout, new RegExp(`${unlogged} applied, ${names.length - unlogged} pending`));
    const up = await runCli(['migrate', 'up'], env);
    t.regex(up.stdout, /Migrated up: 20261122001000000_staging-tables-unlogged/);
    t.deepEqual(await persistence(), ['songplays:p', 'staging_events:u', 'staging_songs:u']);
    const redo = await runCli(['migrate', 'redo'], env);
    t.is(redo.code, 0, redo.stderr);
    const last = names.at(-1) ?? '';
    t.regex(redo.stdout, new RegExp(`Migrated down: ${last}[\\s\\S]*Migrated up: ${last}`));
    const again = await runCli(['migrate', 'up'], env);
    t.regex(again.stdout, /Nothing to migrate up/);
  },
);

test.serial('a connected dry run prints SQL and changes nothing', async (t) => {
  const env = { DATABASE_URL: tdb.url };
  // Back to before songplays: it and every later migration pending.
  const names = await migrationNames();
  await runCli(
    ['migrate', 'down', '--count', String(names.length - names.indexOf('20261122000700000_create-songplays'))],
    env,
  );
  const before = await catalog();
  const dry = await runCli(['migrate', 'up', '--dry-run'], env);
  t.is(dry.code, 0, dry.stderr);
  t.regex(dry.stdout, /-- step: migration 20261122000700000_create-songplays \(up\)/);
  t.regex(dry.stdout, /CREATE TABLE songplays/);
  t.notRegex(dry.stdout, /CREATE TABLE users/, 'applied migrations are not in the plan');
  t.notRegex(dry.stdout, /DISTKEY/, 'rendered for the connected engine (PostgreSQL)');
  t.deepEqual(await catalog(), before);
  await runCli(['migrate', 'up'], env);
});

test.serial('two concurrent migrate up runs: one waits for the other, the schema ends up right', async (t) => {
  const env = { DATABASE_URL: tdb.url };
  await runCli(['migrate', 'down', '--all', '--yes'], env);
  const [a, b] = await Promise.all([runCli(['migrate', 'up'], env), runCli(['migrate', 'up'], env)]);
  t.is(a.code, 0, a.stderr);
  t.is(b.code, 0, b.stderr);
  const outputs = [a.stdout, b.stdout].sort();
  t.regex(outputs.join('\n'), /Nothing to migrate up/);
  t.regex(outputs.join('\n'), /Migrated up: .*create-songplays/);
  const applied = await tdb.query<{ n: string }>('select count(*) as n from pgmigrations');
  t.is(Number(applied[0]?.n), MIGRATIONS, 'each migration recorded once');
  t.is((await catalog()).filter((l) => l.startsWith('users.')).length, 8);
});

test('usage errors exit 2 and name the problem', async (t) => {
  const r = await runCli(['migrate', 'sideways']);
  t.is(r.code, 2);
  t.regex(r.stderr, /sideways/);
  const c = await runCli(['migrate', 'up', '--count', '0', '--dry-run', '--dialect', 'redshift']);
  t.is(c.code, 2);
  t.regex(c.stderr, /--count/);
  const bad = await runCli(['migrate', 'status'], {
    DATABASE_URL: 'mysql://x',
    IAM_ROLE_ARN: 'arn:aws:iam::12:role/x;drop',
    AWS_REGION: 'mars',
  });
  t.is(bad.code, 2);
  t.regex(bad.stderr, /DATABASE_URL/);
  t.regex(bad.stderr, /IAM_ROLE_ARN/);
  t.regex(bad.stderr, /AWS_REGION/);
});
