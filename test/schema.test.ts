// One schema per developer (WAREHOUSE_SCHEMA, --schema): every table the tool
// creates, reads and writes is in that schema, so two schemas of one database
// are two independent warehouses; the dry-run scripts select the schema first.
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { generate, type ExpectedCounts } from '../lib/sample/generator.ts';
import { runCli } from './helpers/cli.ts';
import { createTestDatabase, queryOnce, type TestDatabase } from './helpers/database.ts';
import { formatFindings, lintRedshift } from './helpers/redshift-lint.ts';
import { sqlfluffAvailable, sqlfluffTitle, sqlfluffViolations } from './helpers/sqlfluff.ts';
import { tempDir } from './helpers/temp-dir.ts';
import { ALL_TABLES, checksums, comparableCounts, counts } from './helpers/warehouse.ts';

/** The test database as seen from one schema (its connections' search_path), for the read-back helpers. */
function inSchema(tdb: TestDatabase, schema: string): TestDatabase {
  const url = `${tdb.url}${tdb.url.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  return {
    ...tdb,
    url,
    query: (sql, values) => queryOnce(url, sql, values),
  };
}

async function sample(
  t: ExecutionContext,
  seed: number,
): Promise<{ env: Record<string, string>; expected: ExpectedCounts }> {
  const out = await tempDir(t, 'schema-sample-');
  const expected = await generate({ songs: 40 + seed, events: 300 + seed, seed, out });
  return {
    expected,
    env: {
      LOG_DATA: path.join(out, 'log_data'),
      SONG_DATA: path.join(out, 'song_data'),
      LOG_JSONPATH: path.join(out, 'log_json_path.json'),
    },
  };
}

const tablesIn = async (tdb: TestDatabase, schema: string) =>
  (
    await tdb.query<{ table_name: string }>(
      'select table_name from information_schema.tables where table_schema = $1 order by 1',
      [schema],
    )
  ).map((r) => r.table_name);

test('two schemas in one database, loaded from different sources, stay independent; migrate down --all in one leaves the other', async (t) => {
  const tdb = await createTestDatabase();
  t.teardown(() => tdb.drop());
  const [a, b] = await Promise.all([sample(t, 31), sample(t, 32)]);
  const url = { DATABASE_URL: tdb.url };
  // dev_a through the setting, dev_b through the flag; each migrate up creates its schema.
  for (const r of await Promise.all([
    runCli(['migrate', 'up'], { ...url, WAREHOUSE_SCHEMA: 'dev_a' }),
    runCli(['migrate', 'up', '--schema', 'dev_b'], url),
  ]))
    t.is(r.code, 0, r.stderr);
  for (const r of await Promise.all([
    runCli(['load'], { ...url, ...a.env, WAREHOUSE_SCHEMA: 'dev_a' }),
    runCli(['load', '--schema', 'dev_b'], { ...url, ...b.env }),
  ]))
    t.is(r.code, 0, r.stderr);

  const devA = inSchema(tdb, 'dev_a');
  const devB = inSchema(tdb, 'dev_b');
  {
    const c = comparableCounts(await counts(devA), a.expected);
    t.deepEqual(c.actual, c.expected);
  }
  {
    const c = comparableCounts(await counts(devB), b.expected);
    t.deepEqual(c.actual, c.expected);
  }
  const sumsB = await checksums(devB);
  t.notDeepEqual(await checksums(devA), sumsB, 'different sources, different rows');
  t.deepEqual(
    await tablesIn(tdb, 'public'),
    [],
    'nothing in public: not the lock, the ledger, the bookkeeping or a work table',
  );
  for (const table of ['pgmigrations', 'sparkify_lock', 'load_ledger', ...ALL_TABLES])
    t.true((await tablesIn(tdb, 'dev_b')).includes(table), `${table} in dev_b`);

  // The checks and the analytics SQL run unchanged in a schema.
  const verify = await runCli(['verify', '--schema', 'dev_a'], url);
  t.is(verify.code, 0, verify.stderr);
  const analyze = await runCli(['analyze', '--query', 'free-vs-paid', '--format', 'json'], {
    ...url,
    WAREHOUSE_SCHEMA: 'dev_b',
  });
  t.is(analyze.code, 0, analyze.stderr);
  const levels = JSON.parse(analyze.stdout)['free-vs-paid'] as { plays: string }[];
  t.is(
    levels.reduce((n, r) => n + Number(r.plays), 0),
    b.expected.songplays,
  );

  const down = await runCli(['migrate', 'down', '--all', '--yes'], { ...url, WAREHOUSE_SCHEMA: 'dev_a' });
  t.is(down.code, 0, down.stderr);
  t.deepEqual(
    (await tablesIn(tdb, 'dev_a')).filter((x) => [...ALL_TABLES, 'load_ledger'].includes(x)),
    [],
    'dev_a has none of its tables left',
  );
  t.deepEqual(await checksums(devB), sumsB, 'dev_b is as it was');
  const status = await runCli(['migrate', 'status', '--schema', 'dev_b'], url);
  t.regex(status.stdout, /^\d+ applied, 0 pending \(postgres at .*, schema dev_b\)$/m);
});

test('a schema that does not exist: load and verify say so and create nothing; names are validated', async (t) => {
  const tdb = await createTestDatabase();
  t.teardown(() => tdb.drop());
  for (const command of [['load'], ['verify']]) {
    const r = await runCli([...command, '--schema', 'dev_missing'], { DATABASE_URL: tdb.url });
    t.is(r.code, 2, r.stderr);
    t.regex(r.stderr, /schema dev_missing does not exist .*`npm run migrate -- up` creates it/);
  }
  t.deepEqual(await tdb.query("select nspname from pg_namespace where nspname = 'dev_missing'"), []);
  const flag = await runCli(['migrate', 'up', '--dry-run', '--dialect', 'redshift', '--schema', 'Dev-A']);
  t.is(flag.code, 2);
  t.regex(flag.stderr, /--schema: expected a lowercase schema name .*got 'Dev-A'/);
  const setting = await runCli(['load', '--dry-run', '--dialect', 'redshift'], { WAREHOUSE_SCHEMA: 'pg_catalog' });
  t.is(setting.code, 2);
  t.regex(setting.stderr, /WAREHOUSE_SCHEMA: expected a lowercase schema name .*got 'pg_catalog'/);
});

const redshiftScripts = async () => {
  const migrate = await runCli(['migrate', 'up', '--dry-run', '--dialect', 'redshift', '--schema', 'dev_a']);
  const load = await runCli(['load', '--dry-run', '--dialect', 'redshift'], {
    WAREHOUSE_SCHEMA: 'dev_a',
    IAM_ROLE_ARN: 'arn:aws:iam::123456789012:role/r',
  });
  return { migrate, load };
};

test('the Redshift dry runs select the schema first, so the scripts run as printed; the bookkeeping is schema-qualified', async (t) => {
  const { migrate, load } = await redshiftScripts();
  t.is(migrate.code, 0, migrate.stderr);
  t.is(load.code, 0, load.stderr);
  const statements = (script: string) => script.split('\n').filter((l) => /^[A-Z]/.test(l));
  t.deepEqual(statements(migrate.stdout).slice(0, 4), [
    'CREATE SCHEMA IF NOT EXISTS "dev_a";',
    "SET search_path TO 'dev_a';",
    'CREATE TABLE IF NOT EXISTS migration_checksums (',
    'CREATE TABLE "dev_a"."pgmigrations" (id INTEGER IDENTITY(1, 1) PRIMARY KEY, name varchar(255) NOT NULL, run_on timestamp NOT NULL);',
  ]);
  t.regex(
    migrate.stdout,
    /INSERT INTO "dev_a"\."pgmigrations" \(name, run_on\) VALUES \('20261122000700000_create-songplays', GETDATE\(\)\);/,
  );
  t.notRegex(migrate.stdout, /"public"/);
  t.deepEqual(statements(load.stdout).slice(0, 3), [
    "SET search_path TO 'dev_a';",
    // Staging is emptied by TRUNCATE, each committed on its own before the staging transaction (no ghost rows).
    'TRUNCATE staging_events;',
    'TRUNCATE staging_songs;',
  ]);
  t.regex(load.stdout, /^COPY staging_events/m);
  for (const script of [migrate.stdout, load.stdout]) {
    const findings = lintRedshift(script);
    t.deepEqual(findings, [], formatFindings(findings));
  }
});

(sqlfluffAvailable ? test : test.skip)(
  sqlfluffTitle('sqlfluff parses the schema statements of the Redshift dry runs'),
  async (t) => {
    const { migrate, load } = await redshiftScripts();
    for (const script of [migrate.stdout, load.stdout]) t.deepEqual(sqlfluffViolations(script), []);
  },
);
