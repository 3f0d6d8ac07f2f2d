// The load on Sparkify's real input (../shared/sparkify): exact counts, a second
// run identical, and the same through s3:// against s3rver on 127.0.0.1.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { runCli, sharedSparkify } from './helpers/cli.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { startS3 } from './helpers/s3.ts';
import { checksums, counts } from './helpers/warehouse.ts';

const data = sharedSparkify();
if (!data && process.env['REQUIRE_SHARED_DATA'] === '1')
  throw new Error('REQUIRE_SHARED_DATA=1 but ../shared/sparkify is missing');
const maybe = data ? test.serial : test.serial.skip;
const title = (t: string) => (data ? t : `${t} (skipped: ../shared/sparkify not found; CI runs it)`);

const EXPECTED = {
  staging_events: 8056,
  staging_songs: 1943,
  users: 97,
  songs: 1943,
  artists: 1809,
  songplays: 6820,
  time: 6813,
  // 97 users, 8 of whom change level 9 times in all (user 15: paid, free, paid): test/user-levels.test.ts.
  user_levels: 106,
};

let tdb: TestDatabase;
test.before(async () => {
  tdb = await createTestDatabase();
  const r = await runCli(['migrate', 'up'], { DATABASE_URL: tdb.url });
  if (r.code !== 0) throw new Error(r.stderr);
});
test.after.always(async () => {
  await tdb?.drop();
});

maybe(title('load from the local folder gives the expected counts, and a second load changes nothing'), async (t) => {
  const env = {
    DATABASE_URL: tdb.url,
    LOG_DATA: path.join(data ?? '', 'log_data'),
    SONG_DATA: path.join(data ?? '', 'song_data'),
    LOG_JSONPATH: path.join(data ?? '', 'log_json_path.json'),
  };
  const first = await runCli(['load'], env);
  t.is(first.code, 0, first.stderr);
  t.deepEqual(await counts(tdb), EXPECTED);
  const matched = await tdb.query<{ n: string }>(
    'select count(*) as n from songplays where song_id is not null and artist_id is not null',
  );
  t.is(Number(matched[0]?.n), 39);
  const paid = await tdb.query<{ n: string }>("select count(*) as n from users where level = 'paid'");
  t.is(Number(paid[0]?.n), 22);
  const sums = await checksums(tdb);
  const second = await runCli(['load'], env);
  t.is(second.code, 0, second.stderr);
  t.deepEqual(await checksums(tdb), sums, 'every table has the same rows after a second load');
  t.regex(first.stdout, /transform songplays\s+\|\s+6820/);
});

maybe(title('load through s3:// (s3rver on 127.0.0.1) gives the same counts and rows'), async (t) => {
  const before = await checksums(tdb);
  const s3 = await startS3(['udacity-dend']);
  try {
    t.is(await s3.upload('udacity-dend', 'song_data/', path.join(data ?? '', 'song_data')), 1943);
    t.is(await s3.upload('udacity-dend', 'log_data/', path.join(data ?? '', 'log_data')), 30);
    await s3.put('udacity-dend', 'log_json_path.json', await readFile(path.join(data ?? '', 'log_json_path.json')));
    // The defaults are Sparkify's bucket: only the endpoint changes.
    const r = await runCli(['load'], { DATABASE_URL: tdb.url, ...s3.env }, { timeoutMs: 100_000 });
    t.is(r.code, 0, r.stderr);
    t.regex(r.stderr, /s3:\/\/udacity-dend\/song_data/);
    t.deepEqual(await counts(tdb), EXPECTED);
    t.deepEqual(await checksums(tdb), before, 'the same rows as from the local folder');
  } finally {
    await s3.close();
  }
});
