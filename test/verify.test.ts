// npm run verify: passes on a correct load; each check fails on a table broken for it.
import path from 'node:path';
import test from 'ava';
import { pipeline } from '../loaders/index.ts';
import { checksFor, runChecks } from '../lib/report/checks.ts';
import { EXIT } from '../lib/errors.ts';
import { runCli, sharedSparkify } from './helpers/cli.ts';
import { event, song, writeFixture } from './helpers/fixtures.ts';
import { load, migratedDatabase } from './helpers/load.ts';
import type { TestDatabase } from './helpers/database.ts';
import type { Owner } from './helpers/temp-dir.ts';

const dbs: TestDatabase[] = [];
test.after.always(async () => {
  await Promise.all(dbs.map((d) => d.drop()));
});

async function loaded(t: Owner): Promise<TestDatabase> {
  const tdb = await migratedDatabase();
  dbs.push(tdb);
  const f = await writeFixture(t, {
    logs: {
      'a.json': [
        event({ ts: 1541000000000 }),
        event({ ts: 1541000001000, song: 'Other', userId: '11' }),
        event({ ts: 1541000002000, page: 'Home', song: null }),
      ],
    },
    songs: { 'A/1.json': song(), 'A/2.json': song({ song_id: 'SO2', artist_id: 'AR2', title: 'Two' }) },
  });
  await load(tdb, f.env);
  return tdb;
}

async function failing(tdb: TestDatabase): Promise<string[]> {
  const c = await (await tdb.open()).connect();
  try {
    return (await runChecks(c, pipeline)).results.filter((r) => r.failures > 0).map((r) => r.check.name);
  } finally {
    await c.end();
  }
}

const breakages: [string, string, string[]][] = [
  ['a duplicated user', 'INSERT INTO users SELECT * FROM users WHERE user_id = 10', ['users: user_id unique']],
  ['a duplicated song', "INSERT INTO songs SELECT * FROM songs WHERE song_id = 'SO2'", ['songs: song_id unique']],
  [
    'a duplicated artist',
    "INSERT INTO artists SELECT * FROM artists WHERE artist_id = 'AR2'",
    ['artists: artist_id unique'],
  ],
  [
    'a duplicated time row',
    'INSERT INTO time SELECT * FROM time WHERE start_time = (SELECT MIN(start_time) FROM time)',
    ['time: start_time unique'],
  ],
  [
    'a duplicated play',
    // PostgreSQL's unique index on songplay_id (migration 20261207110000000) would refuse it: dropped, as on Redshift, which enforces no key.
    'DROP INDEX songplays_songplay_id_key; INSERT INTO songplays (songplay_id, start_time, user_id, level, session_id) SELECT songplay_id, start_time, user_id, level, session_id FROM songplays WHERE user_id = 11',
    ['songplays: songplay_id unique', 'songplays: user_id, session_id, start_time unique'],
  ],
  ['a NULL user key', 'INSERT INTO users (user_id) VALUES (NULL)', ['users: user_id not NULL']],
  ['a NULL song key', "INSERT INTO songs (song_id, title) VALUES (NULL, 'x')", ['songs: song_id not NULL']],
  ['a NULL artist key', "INSERT INTO artists (artist_id, name) VALUES (NULL, 'x')", ['artists: artist_id not NULL']],
  ['a NULL time key', 'INSERT INTO time (start_time, hour) VALUES (NULL, 1)', ['time: start_time not NULL']],
  [
    'a songplay without its time row',
    'DELETE FROM time WHERE start_time = (SELECT MIN(start_time) FROM time)',
    ['songplays.start_time in time'],
  ],
  ['a songplay without its user', 'DELETE FROM users WHERE user_id = 11', ['songplays.user_id in users']],
  [
    'a songplay whose song is missing',
    "DELETE FROM songs WHERE song_id = 'SOFIXTURE0000001'",
    ['songplays.song_id in songs'],
  ],
  [
    'a songplay whose artist is missing',
    "DELETE FROM artists WHERE artist_id = 'ARFIXTURE0000001'",
    ['songplays.artist_id in artists'],
  ],
  ['a lost songplay', 'DELETE FROM songplays WHERE user_id = 11', ['staged NextSong events have their songplay']],
];

test('every check passes on a correct load', async (t) => {
  const tdb = await loaded(t);
  t.deepEqual(await failing(tdb), []);
  // One check per key, per NOT NULL key and per reference each step declares, plus its own: derived, named once each.
  const names = checksFor(pipeline).map((c) => c.name);
  t.is(new Set(names).size, names.length, 'no check twice');
  for (const step of pipeline.transforms) {
    t.true(names.includes(`${step.table}: ${step.key.join(', ')} unique`), `${step.table}'s grain is checked`);
    for (const r of step.references ?? [])
      t.true(names.includes(`${step.table}.${r.column} in ${r.table}`), `${step.table}.${r.column} is checked`);
  }
});

for (const [what, sql, expected] of breakages) {
  test(`verify fails on ${what}`, async (t) => {
    const tdb = await loaded(t);
    // NULL keys are NOT NULL columns in the schema; Redshift enforces NOT NULL too, so drop it to simulate a bad writer.
    for (const table of ['users', 'songs', 'artists', 'time']) {
      const key = { users: 'user_id', songs: 'song_id', artists: 'artist_id', time: 'start_time' }[table];
      await tdb.query(`ALTER TABLE ${table} ALTER COLUMN ${key} DROP NOT NULL`);
    }
    await tdb.query(sql);
    const failed = await failing(tdb);
    t.deepEqual(failed.filter((name) => expected.includes(name)).sort(), [...expected].sort());
    // Anything else that fails is another step's reference into the same broken table (a star table registered later).
    const broken = expected.map((e) => / in (\w+)$/.exec(e)?.[1]).filter((x): x is string => x !== undefined);
    t.deepEqual(
      failed.filter((name) => !expected.includes(name) && !broken.includes(/ in (\w+)$/.exec(name)?.[1] ?? '')),
      [],
    );
  });
}

test('npm run verify exits 4 naming the check and showing the offending rows; 0 when all pass', async (t) => {
  const tdb = await loaded(t);
  const ok = await runCli(['verify'], { DATABASE_URL: tdb.url });
  t.is(ok.code, 0, ok.stderr);
  t.regex(ok.stdout, /PASS {2}users: user_id unique/);
  t.regex(ok.stdout, /Song match rate: 1 of 2 songplays \(50\.0%\)/);
  await tdb.query('INSERT INTO users SELECT * FROM users WHERE user_id = 10');
  const bad = await runCli(['verify'], { DATABASE_URL: tdb.url });
  t.is(bad.code, EXIT.check);
  t.regex(bad.stdout, /FAIL {2}users: user_id unique: 1 offending row/);
  t.regex(bad.stdout, /user_id \| copies[\s\S]*10 \|\s+2/);
  t.regex(bad.stderr, /1 check\(s\) failed: users: user_id unique/);
});

const data = sharedSparkify();
(data ? test : test.skip)(
  data ? 'verify passes on a correct load of ../shared/sparkify' : 'verify on ../shared/sparkify (skipped: not found)',
  async (t) => {
    const tdb = await migratedDatabase();
    dbs.push(tdb);
    await load(tdb, {
      LOG_DATA: path.join(data ?? '', 'log_data'),
      SONG_DATA: path.join(data ?? '', 'song_data'),
      LOG_JSONPATH: path.join(data ?? '', 'log_json_path.json'),
    });
    t.deepEqual(await failing(tdb), []);
  },
);
