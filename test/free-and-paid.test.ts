// The free and paid views (issue 30, item 3: lib/report/analytics/conversions-*,
// active-users-*, weekly-retention, plays-around-upgrade) on events built for
// them (test/helpers/free-and-paid.ts: a conversion on a known day, a user who
// churns and comes back, cohorts with known retention), through `analyze` on
// PostgreSQL, then the same SQL rendered for Redshift through the Data API
// stand-in.
import test from 'ava';
import { dialectByName } from '../lib/dialect/index.ts';
import { rewrite } from './support/data-api-stand-in/rewrites.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { startDataApiStandIn } from './helpers/data-api.ts';
import {
  FREE_AND_PAID_ANSWERS,
  FREE_AND_PAID_EVENTS,
  FREE_AND_PAID_VIEWS,
  expectedIntervals,
  storedIntervals,
} from './helpers/free-and-paid.ts';
import { runCli } from './helpers/cli.ts';
import { song, writeFixture } from './helpers/fixtures.ts';
import { load, migratedDatabase } from './helpers/load.ts';
import { localSources, startS3 } from './helpers/s3.ts';
import { fileScope } from './helpers/temp-dir.ts';

const scope = fileScope();
let tdb: TestDatabase;
let answers: Record<string, unknown[]>;
let fixture: { root: string; env: Record<string, string> };

test.before(async () => {
  tdb = await migratedDatabase();
  fixture = await writeFixture(scope, {
    logs: { '2018/11/events.json': [...FREE_AND_PAID_EVENTS] },
    songs: { 'A/1.json': song() },
  });
  await load(tdb, fixture.env);
  const r = await runCli(['analyze', '--format', 'json', '--query', ...FREE_AND_PAID_VIEWS], { DATABASE_URL: tdb.url });
  if (r.code !== 0) throw new Error(r.stderr);
  answers = JSON.parse(r.stdout) as typeof answers;
});
test.after.always(async () => {
  await tdb?.drop();
});

test('the load gives user_levels the intervals its rules give for these events (worked out here from the events)', async (t) => {
  t.deepEqual(await storedIntervals(tdb), expectedIntervals(FREE_AND_PAID_EVENTS));
});

test('analyze --format json prints the six views as one document, each named by its file', (t) => {
  t.deepEqual(Object.keys(answers).sort(), [...FREE_AND_PAID_VIEWS].sort());
});

test('conversions per day and per week: free to paid on the 7th (on a Home page), the 13th and the 21st; paid to free on the 19th and 20th', (t) => {
  t.deepEqual(answers['conversions-by-day'], FREE_AND_PAID_ANSWERS['conversions-by-day']);
  t.deepEqual(answers['conversions-by-week'], FREE_AND_PAID_ANSWERS['conversions-by-week']);
});

test('active users per day and week: each user once, at the level of their last play that day or week', (t) => {
  t.deepEqual(answers['active-users-by-day'], FREE_AND_PAID_ANSWERS['active-users-by-day']);
  t.deepEqual(answers['active-users-by-week'], FREE_AND_PAID_ANSWERS['active-users-by-week']);
});

test('weekly retention: a user who churns for a week and comes back counts in W+2, not W+1; a week with no one retained is 0', (t) => {
  t.deepEqual(answers['weekly-retention'], FREE_AND_PAID_ANSWERS['weekly-retention']);
});

test('plays around upgrading: one row per upgrade, plays and days with plays in the free interval it ends and the paid one it starts', (t) => {
  t.deepEqual(answers['plays-around-upgrade'], FREE_AND_PAID_ANSWERS['plays-around-upgrade']);
});

test('analyze prints them as readable tables', async (t) => {
  const r = await runCli(['analyze', '--query', 'conversions-by-day', 'weekly-retention'], { DATABASE_URL: tdb.url });
  t.is(r.code, 0, r.stderr);
  t.regex(
    r.stdout,
    /## Conversions by day: [^\n]*\nday {8}\| free_to_paid \| paid_to_free\n[-+]+\n2018-11-07 \| {12}1 \| {12}0\n/,
  );
  t.regex(
    r.stdout,
    /## Weekly retention: [^\n]*\ncohort_week \| cohort_users \| week_offset \| active_users \| retained_pct\n/,
  );
  t.regex(r.stdout, /2018-11-05 {2}\| {12}3 \| {11}2 \| {12}2 \| {9}66\.7\n/);
});

test('daysBetween (the week offsets of retention) counts calendar days alike on both engines, milliseconds before and after midnight', async (t) => {
  const pairs: [string, string, number][] = [
    ['2018-11-05 00:00:00.000', '2018-11-12 00:00:00.000', 7],
    ['2018-11-05 23:59:59.999', '2018-11-06 00:00:00.000', 1],
    ['2018-11-05 00:00:00.000', '2018-11-05 23:59:59.999', 0],
    ['2018-11-12 00:00:00.000', '2018-11-05 00:00:00.000', -7],
  ];
  const ctx = { lastCopyCount: 0, lastCopyId: -1 };
  for (const [from, to, days] of pairs) {
    const values = `(VALUES (CAST('${from}' AS TIMESTAMP), CAST('${to}' AS TIMESTAMP))) AS v(a, b)`;
    for (const dialect of ['postgres', 'redshift'] as const) {
      const sql = `SELECT ${dialectByName(dialect).daysBetween('v.a', 'v.b')} AS d FROM ${values}`;
      // Redshift's DATEDIFF as the Data API stand-in runs it (its documented rule, test/support/data-api-stand-in/rewrites.ts).
      const [row] = await tdb.query<{ d: number }>(dialect === 'redshift' ? rewrite(sql, ctx) : sql);
      t.is(Number(row?.d), days, `${dialect}: ${from} → ${to}`);
    }
  }
});

test.serial(
  'the same views rendered for Redshift, run through the Data API stand-in, give the same answers',
  async (t) => {
    const bucket = 'sparkify-free-and-paid';
    const s3 = await startS3([bucket]);
    t.teardown(() => s3.close());
    const sources = await s3.uploadSources(bucket, localSources(fixture.env));
    const standIn = await startDataApiStandIn(s3);
    t.teardown(() => standIn.close());
    const db = await createTestDatabase();
    t.teardown(() => db.drop());
    const env = {
      ...standIn.env(db.name),
      ...sources,
    };
    for (const args of [['migrate', 'up'], ['load']]) {
      const r = await runCli(args, env);
      t.is(r.code, 0, r.stderr);
    }
    // The six views and the report's table of timelines.
    const views = [...FREE_AND_PAID_VIEWS, 'user-timelines'];
    const r = await runCli(['analyze', '--format', 'json', '--verbose', '--query', ...views], env);
    t.is(r.code, 0, r.stderr);
    t.regex(r.stderr, /Data API statement/);
    const direct = await runCli(['analyze', '--format', 'json', '--query', ...views], { DATABASE_URL: tdb.url });
    t.is(direct.code, 0, direct.stderr);
    const onPostgres = JSON.parse(direct.stdout) as Record<string, unknown[]>;
    t.is(onPostgres['user-timelines']?.length, 10);
    t.deepEqual(JSON.parse(r.stdout), { ...answers, 'user-timelines': onPostgres['user-timelines'] });
  },
);
