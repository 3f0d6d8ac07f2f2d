// The Redshift plan executed end to end through the Redshift Data API: the
// tool's Data API transport (lib/db/data-api-connection.ts) talking to the
// stand-in (scripts/dev/data-api-stand-in.ts) over HTTP, which runs each
// statement on the test PostgreSQL after its documented rewrites and does
// COPY from s3rver. Every command goes through the real command line.
import test from 'ava';
import { pipeline } from '../loaders/index.ts';
import { generate } from '../lib/sample/generator.ts';
import { MIGRATIONS } from './helpers/migrations.ts';
import { runCli } from './helpers/cli.ts';
import { startDataApiStandIn, type DataApiStandIn } from './helpers/data-api.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { generatedSources, startS3, type TestS3 } from './helpers/s3.ts';
import { fileScope, tempDir } from './helpers/temp-dir.ts';

const BUCKET = 'sparkify-data-api';
const SOURCES = {
  SONG_DATA: `s3://${BUCKET}/song_data/`,
  LOG_DATA: `s3://${BUCKET}/log_data/`,
  LOG_JSONPATH: `s3://${BUCKET}/meta/log_json_path.json`,
};
/** The star tables (the registered transform steps). */
const STAR = pipeline.transforms.map((s) => s.table);

const scope = fileScope();
let s3: TestS3;
let standIn: DataApiStandIn;
let expected: Record<string, number | undefined>;

test.before(async () => {
  const out = await tempDir(scope, 'data-api-gen-');
  expected = (await generate({ songs: 300, events: 1500, seed: 16, out })) as unknown as Record<
    string,
    number | undefined
  >;
  s3 = await startS3([BUCKET]);
  await s3.uploadSources(BUCKET, generatedSources(out));
  standIn = await startDataApiStandIn(s3, { pageRows: 250 });
});

test.after.always(async () => {
  await standIn?.close();
  await s3?.close();
});

test.serial('migrate up, load, verify through the Data API run the Redshift plan', async (t) => {
  const db = await createTestDatabase();
  t.teardown(() => db.drop());
  const env = { ...standIn.env(db.name), ...SOURCES };
  const up = await runCli(['migrate', 'up', '--verbose'], env);
  t.is(up.code, 0, up.stderr);
  t.regex(up.stderr, /Data API statement [0-9a-f-]{36}/);
  const load = await runCli(['load'], env);
  t.is(load.code, 0, load.stderr);
  const verify = await runCli(['verify'], env);
  t.is(verify.code, 0, verify.stderr);
  for (const table of STAR) {
    const rows = await db.query<{ n: number }>(`select count(*)::int as n from ${table}`);
    t.is(rows[0]?.n, expected[table], table);
  }
});

/** A table's rows as sorted JSON lines (`without`: columns left out, such as identity values the engines number differently). */
async function dump(db: TestDatabase, table: string, without: readonly string[] = []): Promise<string[]> {
  const rows = await db.query(`select * from ${table}`);
  return rows
    .map((r) => JSON.stringify(Object.fromEntries(Object.entries(r).filter(([k]) => !without.includes(k)))))
    .sort();
}

async function migrated(
  options: { cluster?: boolean } = {},
): Promise<{ db: TestDatabase; env: Record<string, string> }> {
  const db = await createTestDatabase();
  const env = { ...standIn.env(db.name, options), ...SOURCES };
  const up = await runCli(['migrate', 'up'], env);
  if (up.code !== 0) throw new Error(up.stderr);
  return { db, env };
}

test.serial('migrate up/down/up through the Data API', async (t) => {
  const { db, env } = await migrated();
  t.teardown(() => db.drop());
  const down = await runCli(['migrate', 'down', '--all', '--yes'], env);
  t.is(down.code, 0, down.stderr);
  t.deepEqual(
    await db.query(
      "select table_name from information_schema.tables where table_schema = 'public' and table_name in ('songplays', 'users', 'staging_events')",
    ),
    [],
  );
  const up = await runCli(['migrate', 'up'], env);
  t.is(up.code, 0, up.stderr);
  const status = await runCli(['migrate', 'status'], env);
  t.is(status.code, 0, status.stderr);
  t.regex(
    status.stdout,
    new RegExp(`${MIGRATIONS} applied, 0 pending \\(redshift at Redshift Data API, workgroup sparkify-wg`),
  );
});

test.serial('a load twice gives identical tables, and the same rows as the PostgreSQL path', async (t) => {
  const { db, env } = await migrated();
  t.teardown(() => db.drop());
  const first = await runCli(['load'], env);
  t.is(first.code, 0, first.stderr);
  t.regex(first.stderr, /COPY from s3:\/\//);
  const once = Object.fromEntries(
    await Promise.all(STAR.map(async (table) => [table, await dump(db, table)] as const)),
  );
  const second = await runCli(['load'], env);
  t.is(second.code, 0, second.stderr);
  for (const table of STAR) t.deepEqual(await dump(db, table), once[table], `${table} changed on the second load`);

  const pgDb = await createTestDatabase();
  t.teardown(() => pgDb.drop());
  const pgEnv = { ...s3.env, ...SOURCES, DATABASE_URL: pgDb.url };
  for (const args of [['migrate', 'up'], ['load']]) {
    const r = await runCli(args, pgEnv);
    t.is(r.code, 0, r.stderr);
  }
  for (const table of STAR)
    t.deepEqual(
      await dump(db, table, ['songplay_id']),
      await dump(pgDb, table, ['songplay_id']),
      `${table} differs from the PostgreSQL path`,
    );
  t.is((await dump(db, 'songplays')).length, expected['songplays'] ?? -1);
  const analyze = await runCli(['analyze', '--format', 'json'], env);
  t.is(analyze.code, 0, analyze.stderr);
  const pgAnalyze = await runCli(['analyze', '--format', 'json'], pgEnv);
  // Every query, the session minutes included (Redshift's DATEDIFF in milliseconds floors like PostgreSQL's twin: issue 12, point 5).
  const redshiftResults = JSON.parse(analyze.stdout) as Record<string, unknown>;
  t.true(Object.keys(redshiftResults).length >= 10);
  t.deepEqual(
    redshiftResults,
    JSON.parse(pgAnalyze.stdout),
    'the analytics queries (Redshift SQL through the Data API vs PostgreSQL) differ',
  );
});

test.serial(
  'verify, history, query and report run through the Data API; a result of several pages comes back whole and typed',
  async (t) => {
    const { db, env } = await migrated();
    t.teardown(() => db.drop());
    t.is((await runCli(['load'], env)).code, 0);
    const verify = await runCli(['verify'], env);
    t.is(verify.code, 0, verify.stderr);
    // The run record (load_runs) written and read through the Data API.
    const history = await runCli(['history', '--format', 'json'], env);
    t.is(history.code, 0, history.stderr);
    const runs = (JSON.parse(history.stdout) as { runs: { outcome: string; steps: unknown[] }[] }).runs;
    t.is(runs.length, 1);
    t.is(runs[0]?.outcome, 'succeeded');
    t.true((runs[0]?.steps.length ?? 0) >= 7);
    const out = await tempDir(t, 'data-api-report-');
    const report = await runCli(['report', '--out', out, '--format', 'json'], env);
    t.is(report.code, 0, report.stderr);
    t.regex(report.stdout, /"report":\s*"file:\/\//);
    // 1500 events give more rows than the stand-in's 250-row pages.
    const q = await runCli(
      [
        'query',
        '--format',
        'json',
        '--verbose',
        'SELECT ts, user_id, length, level, page FROM staging_events ORDER BY ts, item_in_session',
      ],
      env,
    );
    t.is(q.code, 0, q.stderr);
    t.regex(q.stderr, /rows in [2-9]\d* pages/);
    const rows = JSON.parse(q.stdout) as Record<string, unknown>[];
    const direct = await db.query(
      'SELECT ts, user_id, length, level, page FROM staging_events ORDER BY ts, item_in_session',
    );
    t.true(direct.length > 250);
    // --format json types BIGINT as a number where it is exact (issue 29); pg gives it as text.
    t.deepEqual(rows, JSON.parse(JSON.stringify(direct.map((r) => ({ ...r, ts: Number(r['ts']) })))) as unknown);
    const script = await runCli(['query', 'SELECT 1 AS one; SELECT COUNT(*) AS n FROM users'], env);
    t.is(script.code, 0, script.stderr);
    t.regex(script.stdout, /one[\s\S]*1[\s\S]*n[\s\S]*\d+/);
  },
);

test.serial('cluster status says whether the Data API reaches the workgroup', async (t) => {
  const db = await createTestDatabase();
  t.teardown(() => db.drop());
  const ok = await runCli(['cluster', 'status'], standIn.env(db.name));
  t.is(ok.code, 0, ok.stderr);
  t.regex(
    ok.stdout,
    /Redshift Data API, workgroup sparkify-wg, database sw_test_\w+: reachable \(Redshift 1\.0\.\d+\)/,
  );
  const missing = await runCli(['cluster', 'status'], {
    ...standIn.env(db.name),
    DATABASE_URL: 'redshift-data://sparkify-wg/no_such_db',
  });
  t.is(missing.code, 1, missing.stderr);
  t.regex(missing.stdout, /database no_such_db: not reachable: DatabaseConnectionException/);
  const migrate = await runCli(['migrate', 'up'], {
    ...standIn.env(db.name),
    DATABASE_URL: 'redshift-data://sparkify-wg/no_such_db',
  });
  t.is(migrate.code, 1);
  t.regex(
    migrate.stderr,
    /Could not connect to Redshift Data API, workgroup sparkify-wg, database no_such_db: DatabaseConnectionException: Connection to the database no_such_db failed/,
  );
});
