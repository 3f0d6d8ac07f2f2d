// Issue 26, point 10: a tie across runs is decided as one full load decides it.
// The same user and ts in two files (itemInSession 5 paid in the first, 3 free
// in the second): a full load keeps paid, and so must two incremental loads,
// one file each. The same for a songplay whose duplicate (same user, session
// and ts) in the later file has an unmatched song: the matched play stays.
// On PostgreSQL and on the Redshift path through the Data API stand-in.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { runCli } from './helpers/cli.ts';
import { startDataApiStandIn } from './helpers/data-api.ts';
import type { TestDatabase } from './helpers/database.ts';
import { event, song, writeFixture, type Event } from './helpers/fixtures.ts';
import { migratedDatabase } from './helpers/load.ts';
import { startS3 } from './helpers/s3.ts';

const TIE_TS = 1541100000000;
const PLAY_TS = 1541090000000;

/** The first file: the paid event (itemInSession 5) and the play that matches the song. */
const first: Event[] = [
  event({ ts: TIE_TS, itemInSession: 5, level: 'paid', page: 'Home', firstName: 'Paid' }),
  event({ ts: PLAY_TS, itemInSession: 1, level: 'paid', firstName: 'Paid' }),
];
/** The later file: the free event at the same ts (itemInSession 3), and the play again with an unknown song. */
const later: Event[] = [
  event({ ts: TIE_TS, itemInSession: 3, level: 'free', page: 'Home', firstName: 'Free' }),
  event({ ts: PLAY_TS, itemInSession: 0, level: 'free', firstName: 'Free', song: 'No Such Song' }),
];
const FILES = { '2018-11-01-events.json': first, '2018-11-02-events.json': later };
const lines = (events: Event[]) => events.map((e) => JSON.stringify(e)).join('\n');

const EXPECTED_USER = {
  user_id: 10,
  first_name: 'Paid',
  level: 'paid',
  last_event_ts: String(TIE_TS),
  last_event_item_in_session: 5,
};
const EXPECTED_PLAY = { level: 'paid', song_id: 'SOFIXTURE0000001', item_in_session: 1 };

const users = (tdb: TestDatabase) =>
  tdb.query('select user_id, first_name, level, last_event_ts, last_event_item_in_session from users order by user_id');
const plays = (tdb: TestDatabase) =>
  tdb.query('select level, song_id, item_in_session from songplays order by user_id, session_id, start_time');

async function fullLoad(t: ExecutionContext): Promise<TestDatabase> {
  const db = await migratedDatabase();
  t.teardown(() => db.drop());
  const f = await writeFixture(t, { logs: FILES, songs: { 'A/a.json': song() } });
  const run = await runCli(['load'], { DATABASE_URL: db.url, ...f.env });
  t.is(run.code, 0, run.stderr);
  return db;
}

test('PostgreSQL: two incremental loads, one file each, decide the ties as one full load', async (t) => {
  const full = await fullLoad(t);
  t.deepEqual(await users(full), [EXPECTED_USER], 'the premise: a full load keeps the larger itemInSession');
  t.deepEqual(await plays(full), [EXPECTED_PLAY], 'the premise: a full load keeps the matched play');

  const db = await migratedDatabase();
  t.teardown(() => db.drop());
  const f = await writeFixture(t, { logs: { '2018-11-01-events.json': first }, songs: { 'A/a.json': song() } });
  const env = { DATABASE_URL: db.url, ...f.env };
  const one = await runCli(['load', '--incremental'], env);
  t.is(one.code, 0, one.stderr);
  await writeFile(path.join(f.env['LOG_DATA'] as string, '2018-11-02-events.json'), lines(later));
  const two = await runCli(['load', '--incremental'], env);
  t.is(two.code, 0, two.stderr);
  t.regex(two.stderr, /Staging staging_events: 1 new or changed of 2 objects/);
  t.deepEqual(await users(db), [EXPECTED_USER], 'the later free event at the same ts does not win');
  t.deepEqual(await plays(db), [EXPECTED_PLAY], 'the later unmatched duplicate does not replace the matched play');
});

test('Redshift through the Data API stand-in: the same ties decided as one full load on PostgreSQL', async (t) => {
  const BUCKET = 'ties-data-api';
  const s3 = await startS3([BUCKET]);
  t.teardown(() => s3.close());
  const standIn = await startDataApiStandIn(s3);
  t.teardown(() => standIn.close());
  const full = await fullLoad(t);

  const f = await writeFixture(t, { logs: FILES, songs: { 'A/a.json': song() } });
  await s3.upload(BUCKET, 'song_data/', f.env['SONG_DATA'] as string);
  await s3.put(BUCKET, 'meta/log_json_path.json', await readFile(f.env['LOG_JSONPATH'] as string));
  const db = await migratedDatabase();
  t.teardown(() => db.drop());
  const env = {
    ...standIn.env(db.name),
    LOG_DATA: `s3://${BUCKET}/log_data/`,
    SONG_DATA: `s3://${BUCKET}/song_data/`,
    LOG_JSONPATH: `s3://${BUCKET}/meta/log_json_path.json`,
    LOAD_MANIFEST_PREFIX: `s3://${BUCKET}/manifests/`,
  };
  for (const [name, events] of Object.entries(FILES)) {
    await s3.put(BUCKET, `log_data/${name}`, lines(events));
    const run = await runCli(['load', '--incremental'], env);
    t.is(run.code, 0, run.stderr);
  }
  t.deepEqual(await users(db), await users(full));
  t.deepEqual(await plays(db), await plays(full));
  t.deepEqual(await users(db), [EXPECTED_USER]);
  t.deepEqual(await plays(db), [EXPECTED_PLAY]);
});
