// The analytics queries on the loaded sample, against answers worked out
// independently from the raw JSON; the CLI's formats; the Redshift rendering.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { pipeline } from '../loaders/index.ts';
import { analyticsQueries } from '../lib/report/analytics.ts';
import { dialectByName } from '../lib/dialect/index.ts';
import { formatFindings, lintRedshift } from './helpers/redshift-lint.ts';
import { runCli, sharedSparkify } from './helpers/cli.ts';
import { load, migratedDatabase } from './helpers/load.ts';
import type { TestDatabase } from './helpers/database.ts';
import { sqlfluffAvailable, sqlfluffTitle, sqlfluffViolations } from './helpers/sqlfluff.ts';

const data = sharedSparkify();
let tdb: TestDatabase | undefined;
type Ev = {
  page: string;
  userId: string;
  ts: number;
  level: string;
  sessionId: number;
  location: string | null;
  userAgent: string | null;
};
const plays: Ev[] = [];
let answers: Record<string, Record<string, unknown>[]> = {};

test.before(async () => {
  if (!data) return;
  tdb = await migratedDatabase();
  await load(tdb, {
    LOG_DATA: path.join(data, 'log_data'),
    SONG_DATA: path.join(data, 'song_data'),
    LOG_JSONPATH: path.join(data, 'log_json_path.json'),
  });
  const dir = path.join(data, 'log_data', '2018', '11');
  for (const f of readdirSync(dir)) {
    for (const line of readFileSync(path.join(dir, f), 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const e = JSON.parse(line) as Ev;
      if (e.page === 'NextSong' && e.userId !== '') plays.push(e);
    }
  }
  const r = await runCli(['analyze', '--format', 'json'], { DATABASE_URL: tdb.url });
  if (r.code !== 0) throw new Error(r.stderr);
  answers = JSON.parse(r.stdout) as typeof answers;
});
test.after.always(async () => {
  await tdb?.drop();
});

const run = data ? test : test.skip;
const title = (t: string) => (data ? t : `${t} (skipped: ../shared/sparkify not found)`);

function tally<T>(xs: T[], key: (x: T) => string): Map<string, number> {
  const m = new Map<string, number>();
  for (const x of xs) m.set(key(x), (m.get(key(x)) ?? 0) + 1);
  return m;
}

run(title('plays by hour and by weekday match a count of the raw events (UTC)'), (t) => {
  const byHour = tally(plays, (e) => String(new Date(e.ts).getUTCHours()));
  t.deepEqual(
    answers['plays-by-hour']?.map((r) => [String(r['hour']), Number(r['plays'])]),
    [...byHour.entries()].sort((a, b) => Number(a[0]) - Number(b[0])),
  );
  const byDay = tally(plays, (e) => String(new Date(e.ts).getUTCDay()));
  t.deepEqual(
    answers['plays-by-weekday']?.map((r) => [String(r['weekday']), Number(r['plays'])]),
    [...byDay.entries()].sort((a, b) => Number(a[0]) - Number(b[0])),
  );
  t.is(
    answers['plays-by-hour']?.reduce((s, r) => s + Number(r['plays']), 0),
    6820,
  );
});

run(title('free versus paid: plays at each level, and 22 paid / 75 free users'), (t) => {
  const byLevel = tally(plays, (e) => e.level);
  // Typed JSON: the counts (BIGINT) are numbers, as in query --format json.
  t.deepEqual(answers['free-vs-paid'], [
    { level: 'free', plays: byLevel.get('free'), users: 75 },
    { level: 'paid', plays: byLevel.get('paid'), users: 22 },
  ]);
});

run(title('most active users, longest sessions and top locations match the raw events'), (t) => {
  const byUser = [...tally(plays, (e) => e.userId).entries()].sort(
    (a, b) => b[1] - a[1] || Number(a[0]) - Number(b[0]),
  );
  t.deepEqual(
    answers['most-active-users']?.slice(0, 3).map((r) => [String(r['user_id']), Number(r['plays'])]),
    byUser.slice(0, 3),
  );
  const bySession = [...tally(plays, (e) => `${e.userId}/${e.sessionId}`).entries()].sort((a, b) => b[1] - a[1]);
  t.is(Number(answers['longest-sessions']?.[0]?.['plays']), bySession[0]?.[1] ?? -1);
  const byLocation = [...tally(plays, (e) => e.location ?? '').entries()].sort((a, b) => b[1] - a[1]);
  t.deepEqual(
    [answers['top-locations']?.[0]?.['location'], Number(answers['top-locations']?.[0]?.['plays'])],
    byLocation[0],
  );
  t.is(
    answers['user-agents']?.reduce((s, r) => s + Number(r['plays']), 0),
    6820,
  );
  t.true((answers['most-played-songs']?.reduce((s, r) => s + Number(r['plays']), 0) ?? 0) <= 39);
  t.is(answers['most-played-artists']?.length, 10);
});

run(title('analyze prints readable tables and CSV'), async (t) => {
  const table = await runCli(['analyze', '--query', 'free-vs-paid'], { DATABASE_URL: tdb?.url });
  t.is(table.code, 0, table.stderr);
  t.regex(table.stdout, /## Free versus paid: [^\n]*\nlevel \| plays \| users\n-+\+-+\+-+\nfree\s+\|/);
  const csv = await runCli(['analyze', '--query', 'plays-by-hour', '--format', 'csv'], { DATABASE_URL: tdb?.url });
  t.regex(csv.stdout, /# plays-by-hour\nhour,plays\n0,\d+\n/);
  const q = await runCli(['query', 'SELECT level, COUNT(*) AS n FROM users GROUP BY level ORDER BY level'], {
    DATABASE_URL: tdb?.url,
  });
  t.regex(q.stdout, /level \| {2}n\n[-+]+\nfree {2}\| 75\npaid {2}\| 22\n\(2 rows\)/);
});

test('every analytics query and every check renders for Redshift and passes the lint', async (t) => {
  const queries = analyticsQueries(dialectByName('redshift'));
  t.is(queries.length, 22);
  for (const q of queries) t.deepEqual(lintRedshift(q.sql), [], formatFindings(lintRedshift(q.sql)));
  const { checksFor } = await import('../lib/report/checks.ts');
  for (const c of checksFor(pipeline))
    t.deepEqual(lintRedshift(c.sql), [], `${c.name}: ${formatFindings(lintRedshift(c.sql))}`);
  t.regex(
    queries.find((q) => q.name === 'longest-sessions')?.sql ?? '',
    /FLOOR\(DATEDIFF\(millisecond, MIN\(sp\.start_time\), MAX\(sp\.start_time\)\) \/ 60000\.0\)/,
  );
  t.snapshot(queries.map((q) => `-- ${q.file}\n${q.sql};`).join('\n\n'), 'analytics SQL for Redshift');
});

(sqlfluffAvailable ? test : test.skip)(
  sqlfluffTitle('sqlfluff parses every analytics query and check rendered for Redshift'),
  async (t) => {
    const { checksFor } = await import('../lib/report/checks.ts');
    const script = [
      ...analyticsQueries(dialectByName('redshift')).map((q) => q.sql),
      ...checksFor(pipeline).map((c) => c.sql),
    ]
      .map((s) => `${s};`)
      .join('\n\n');
    t.deepEqual(sqlfluffViolations(script), []);
  },
);
