// Each transform and staging rule on a fixture made for it (real PostgreSQL).
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { EVENT_KEYS, event, JSONPATHS, song, writeFixture } from './helpers/fixtures.ts';
import { load, migratedDatabase } from './helpers/load.ts';
import type { TestDatabase } from './helpers/database.ts';
import { checksums } from './helpers/warehouse.ts';

const dbs: TestDatabase[] = [];
async function fresh(): Promise<TestDatabase> {
  const tdb = await migratedDatabase();
  dbs.push(tdb);
  return tdb;
}
test.after.always(async () => {
  await Promise.all(dbs.map((d) => d.drop()));
});

test('a user going free → paid: the latest event wins, and a later load updates the row', async (t) => {
  const tdb = await fresh();
  const first = await writeFixture(t, {
    logs: {
      'a.json': [
        event({ level: 'free', ts: 1541000000000 }),
        event({ level: 'free', ts: 1541000001000, itemInSession: 1 }),
      ],
    },
  });
  await load(tdb, first.env);
  t.deepEqual(await tdb.query('select user_id, level from users'), [{ user_id: 10, level: 'free' }]);
  const later = await writeFixture(t, {
    logs: {
      'a.json': [
        event({ level: 'free', ts: 1541000000000 }),
        event({ level: 'free', ts: 1541000001000, itemInSession: 1 }),
      ],
      'b.json': [event({ level: 'paid', ts: 1541100000000, page: 'Home', song: null, artist: null, length: null })],
    },
  });
  await load(tdb, later.env);
  t.deepEqual(await tdb.query('select user_id, level from users'), [{ user_id: 10, level: 'paid' }]);
  // Same ts: the higher itemInSession is the later event.
  const tie = await writeFixture(t, {
    logs: {
      'a.json': [
        event({ level: 'paid', ts: 1542000000000, itemInSession: 3 }),
        event({ level: 'free', ts: 1542000000000, itemInSession: 4, sessionId: 10 }),
      ],
    },
  });
  await load(tdb, tie.env);
  t.deepEqual(await tdb.query('select level from users'), [{ level: 'free' }]);
});

test('a user whose events have no ts is still a user (from the highest itemInSession); an event with a ts beats them', async (t) => {
  const tdb = await fresh();
  const f = await writeFixture(t, {
    logs: {
      'a.json': [
        event({ userId: '20', level: 'free', ts: null, itemInSession: 1, page: 'Home' }),
        event({ userId: '20', level: 'paid', ts: null, itemInSession: 2, page: 'Home' }),
        event({ userId: '21', level: 'paid', ts: null, itemInSession: 9, page: 'Home' }),
        event({ userId: '21', level: 'free', ts: 1541000000000, itemInSession: 1, page: 'Home' }),
      ],
    },
  });
  await load(tdb, f.env);
  t.deepEqual(await tdb.query('select user_id, level, last_event_ts from users order by 1'), [
    { user_id: 20, level: 'paid', last_event_ts: null },
    { user_id: 21, level: 'free', last_event_ts: '1541000000000' },
  ]);
});

test('users come from every event with a userId, songplays only from NextSong; logged-out events are skipped', async (t) => {
  const tdb = await fresh();
  const f = await writeFixture(t, {
    logs: {
      'a.json': [
        event({ userId: '10' }),
        event({ userId: '11', page: 'Home', song: null }),
        // Pages other than NextSong, even with a song named: no songplay.
        event({ userId: '12', page: 'Settings' }),
        event({ userId: '13', page: 'Save Settings' }),
        event({ userId: '', page: 'NextSong', auth: 'Logged Out' }),
      ],
    },
  });
  await load(tdb, f.env);
  t.deepEqual(await tdb.query('select user_id from users order by 1'), [
    { user_id: 10 },
    { user_id: 11 },
    { user_id: 12 },
    { user_id: 13 },
  ]);
  t.deepEqual(await tdb.query('select user_id from songplays'), [{ user_id: 10 }]);
});

test('two songs with the same title by different artists: the event matches its own artist', async (t) => {
  const tdb = await fresh();
  const f = await writeFixture(t, {
    songs: {
      'A/1.json': song({
        song_id: 'SOA',
        artist_id: 'ARA',
        artist_name: 'Artist A',
        title: 'Same Title',
        duration: 180,
      }),
      'A/2.json': song({
        song_id: 'SOB',
        artist_id: 'ARB',
        artist_name: 'Artist B',
        title: 'Same Title',
        duration: 180,
      }),
    },
    logs: { 'a.json': [event({ song: 'Same Title', artist: 'Artist B', length: 180 })] },
  });
  await load(tdb, f.env);
  t.deepEqual(await tdb.query('select song_id, artist_id from songplays'), [{ song_id: 'SOB', artist_id: 'ARB' }]);
});

test('durations 152.2 and 152.4 do not match; within 0.01 s they do', async (t) => {
  const tdb = await fresh();
  const f = await writeFixture(t, {
    songs: {
      '1.json': song({ song_id: 'SO1522', title: 'T', artist_name: 'X', duration: 152.2 }),
      '2.json': song({ song_id: 'SO1524', artist_id: 'AR2', title: 'T', artist_name: 'X', duration: 152.4 }),
    },
    logs: {
      'a.json': [
        event({ song: 'T', artist: 'X', length: 152.4, ts: 1541000000000 }),
        event({ song: 'T', artist: 'X', length: 152.209, ts: 1541000005000 }),
        event({ song: 'T', artist: 'X', length: 152.3, ts: 1541000009000 }),
      ],
    },
  });
  await load(tdb, f.env);
  t.deepEqual(await tdb.query('select song_id from songplays order by start_time'), [
    { song_id: 'SO1524' },
    { song_id: 'SO1522' },
    { song_id: null },
  ]);
});

test('several matching songs: the smallest song_id, and still one songplay per event', async (t) => {
  const tdb = await fresh();
  const f = await writeFixture(t, {
    songs: {
      '1.json': song({ song_id: 'SOZ' }),
      '2.json': song({ song_id: 'SOM' }),
      '3.json': song({ song_id: 'SOQ' }),
    },
    logs: { 'a.json': [event()] },
  });
  await load(tdb, f.env);
  t.deepEqual(await tdb.query('select song_id from songplays'), [{ song_id: 'SOM' }]);
});

test('a 300-byte multibyte artist name loads and matches; one longer than its column is refused, naming the field', async (t) => {
  const tdb = await fresh();
  const name = 'Ж'.repeat(150); // 150 characters, 300 bytes
  t.is(Buffer.byteLength(name), 300);
  const f = await writeFixture(t, {
    songs: { '1.json': song({ artist_name: name }) },
    logs: { 'a.json': [event({ artist: name })] },
  });
  await load(tdb, f.env);
  t.deepEqual(await tdb.query('select name from artists'), [{ name }]);
  t.deepEqual(await tdb.query('select song_id from songplays'), [{ song_id: 'SOFIXTURE0000001' }]);
  const long = await writeFixture(t, { songs: { '1.json': song({ artist_name: 'Ж'.repeat(600) }) } });
  const error = await t.throwsAsync(load(tdb, long.env));
  t.regex(error?.message ?? '', /1\.json:1, field artist_name: value is 1200 bytes, longer than VARCHAR\(1024\)/);
});

test('two events 300 ms apart are two songplays and keep their milliseconds (UTC)', async (t) => {
  const tdb = await fresh();
  const f = await writeFixture(t, { logs: { 'a.json': [event({ ts: 1541106106796 }), event({ ts: 1541106107096 })] } });
  await load(tdb, f.env);
  t.deepEqual(await tdb.query('select cast(start_time as varchar(30)) as s from songplays order by 1'), [
    { s: '2018-11-01 21:01:46.796' },
    { s: '2018-11-01 21:01:47.096' },
  ]);
  t.deepEqual(
    await tdb.query(
      'select cast(start_time as varchar(30)) as s, hour, day, week, month, year, weekday from time order by 1',
    ),
    [
      { s: '2018-11-01 21:01:46.796', hour: 21, day: 1, week: 44, month: 11, year: 2018, weekday: 4 },
      { s: '2018-11-01 21:01:47.096', hour: 21, day: 1, week: 44, month: 11, year: 2018, weekday: 4 },
    ],
  );
});

test('time parts are the same whatever the session time zone; Sunday is 0 and weeks are ISO', async (t) => {
  const tdb = await fresh();
  // 2018-12-30 is a Sunday in ISO week 52; 2018-12-31 is a Monday in ISO week 1 of 2019.
  const f = await writeFixture(t, {
    logs: { 'a.json': [event({ ts: Date.UTC(2018, 11, 30, 23, 30) }), event({ ts: Date.UTC(2018, 11, 31, 0, 30) })] },
  });
  const url = `${tdb.url}?options=${encodeURIComponent('-c TimeZone=Pacific/Kiritimati')}`;
  await load(tdb, f.env, { url });
  t.deepEqual(await tdb.query('select hour, day, week, month, year, weekday from time order by start_time'), [
    { hour: 23, day: 30, week: 52, month: 12, year: 2018, weekday: 0 },
    { hour: 0, day: 31, week: 1, month: 12, year: 2018, weekday: 1 },
  ]);
});

test('a JSON number where a string is expected loads as its text (artists named 112)', async (t) => {
  const tdb = await fresh();
  const f = await writeFixture(t, { songs: { '1.json': song({ artist_name: 112, artist_location: 2562 }) } });
  await load(tdb, f.env);
  t.deepEqual(await tdb.query('select name, location from artists'), [{ name: '112', location: '2562' }]);
});

test('a pretty-printed file holding several objects, and an empty file', async (t) => {
  const tdb = await fresh();
  const pretty = `${JSON.stringify(song({ song_id: 'SO1' }), null, 4)}\n${JSON.stringify(song({ song_id: 'SO2' }), null, 2)}{"song_id":"SO3","title":"x","artist_id":"AR3"}`;
  const f = await writeFixture(t, {
    songs: { 'pretty.json': pretty, 'empty.json': '' },
    logs: { 'empty.json': '', 'a.json': [event()] },
  });
  const report = await load(tdb, f.env);
  t.deepEqual(await tdb.query('select song_id from songs order by 1'), [
    { song_id: 'SO1' },
    { song_id: 'SO2' },
    { song_id: 'SO3' },
  ]);
  t.is(report.steps.find((s) => s.step === 'stage staging_events')?.rows, 1);
});

test("camelCase keys: 'auto' maps only exact column names; 'auto ignorecase' also maps other letter cases", async (t) => {
  const tdb = await fresh();
  const f = await writeFixture(t, {
    logs: { 'a.json': [{ ...event(), Artist: undefined, artist: undefined, ARTIST: 'Loud', Page: 'NextSong' }] },
  });
  await load(tdb, { ...f.env, LOG_JSONPATH: 'auto' }, { only: ['stage'] });
  t.deepEqual(await tdb.query('select artist, page, first_name, ts is not null as has_ts from staging_events'), [
    { artist: null, page: 'NextSong', first_name: null, has_ts: true },
  ]);
  await load(tdb, { ...f.env, LOG_JSONPATH: 'auto ignorecase' }, { only: ['stage'] });
  t.deepEqual(await tdb.query('select artist, page, first_name from staging_events'), [
    { artist: 'Loud', page: 'NextSong', first_name: null },
  ]);
});

test('songs: year 0 is NULL; artists: an empty location is NULL and the most complete record wins in any file order', async (t) => {
  const songs = {
    '1.json': song({
      song_id: 'SO1',
      artist_id: 'AR1',
      artist_name: 'Name One',
      artist_location: '',
      artist_latitude: null,
      artist_longitude: null,
      year: 0,
    }),
    '2.json': song({
      song_id: 'SO2',
      artist_id: 'AR1',
      artist_name: 'Name Two',
      artist_location: 'Paris',
      artist_latitude: 48.85,
      artist_longitude: 2.35,
    }),
    '3.json': song({
      song_id: 'SO3',
      artist_id: 'AR1',
      artist_name: 'Name Three',
      artist_location: 'Lyon',
      artist_latitude: null,
      artist_longitude: null,
    }),
    '4.json': song({ song_id: 'SO4', artist_id: 'AR2', artist_name: 'Alone', artist_location: '  ' }),
  };
  const reversed = Object.fromEntries(Object.entries(songs).map(([k, v], i, all) => [`${all.length - i}-${k}`, v]));
  const a = await fresh();
  const b = await fresh();
  await load(a, (await writeFixture(t, { songs })).env);
  await load(b, (await writeFixture(t, { songs: reversed })).env);
  t.deepEqual(await a.query('select year from songs where song_id = $1', ['SO1']), [{ year: null }]);
  const rows = await a.query('select artist_id, name, location, latitude, longitude from artists order by 1');
  t.deepEqual(rows, [
    { artist_id: 'AR1', name: 'Name Two', location: 'Paris', latitude: 48.85, longitude: 2.35 },
    { artist_id: 'AR2', name: 'Alone', location: null, latitude: null, longitude: null },
  ]);
  t.deepEqual(await b.query('select artist_id, name, location, latitude, longitude from artists order by 1'), rows);
});

test('a song file with an empty song_id or artist_id gives no song or artist row', async (t) => {
  const tdb = await fresh();
  const f = await writeFixture(t, {
    songs: {
      '1.json': song({ song_id: '', artist_id: 'AR9', title: 'No Song Id' }),
      '2.json': song({ song_id: 'SO9', artist_id: '', artist_name: 'No Artist Id', title: 'Kept' }),
    },
  });
  await load(tdb, f.env);
  t.deepEqual(await tdb.query('select song_id, title from songs order by 1'), [{ song_id: 'SO9', title: 'Kept' }]);
  t.deepEqual(await tdb.query('select artist_id from artists order by 1'), [{ artist_id: 'AR9' }]);
});

test('overlapping input never duplicates a play; a re-run leaves every table identical', async (t) => {
  const tdb = await fresh();
  const e1 = event({ ts: 1541000000000 });
  const e2 = event({ ts: 1541000001000 });
  const f = await writeFixture(t, { logs: { 'a.json': [e1, e2], 'b.json': [e2] }, songs: { '1.json': song() } });
  await load(tdb, f.env);
  t.deepEqual(await tdb.query('select count(*)::int as n from songplays'), [{ n: 2 }]);
  const before = await checksums(tdb);
  await load(tdb, f.env);
  t.deepEqual(await checksums(tdb), before);
});

test('the JSONPaths file must match the table in count; a missing one is named', async (t) => {
  const tdb = await fresh();
  const f = await writeFixture(t, {
    logs: { 'a.json': [event()] },
    jsonpaths: JSON.stringify({ jsonpaths: ["$['artist']"] }),
  });
  const e = await t.throwsAsync(load(tdb, f.env));
  t.regex(e?.message ?? '', /log_json_path\.json: the JSONPaths file has 1 paths but the table has 18 columns/);
  const missing = await t.throwsAsync(load(tdb, { ...f.env, LOG_JSONPATH: path.join(f.root, 'nope.json') }));
  t.regex(missing?.message ?? '', /nope\.json: no such file or folder/);
  await writeFile(path.join(f.root, 'bad.json'), '{"jsonpaths": ["$[\'artist\'"]}');
  const bad = await t.throwsAsync(load(tdb, { ...f.env, LOG_JSONPATH: path.join(f.root, 'bad.json') }));
  t.regex(bad?.message ?? '', /bad\.json:1: jsonpaths\[0\]/);
  t.truthy(JSONPATHS);
});

test('a JSONPaths file in another order than the table is refused, naming the path', async (t) => {
  const tdb = await fresh();
  // Sparkify's keys with the first two swapped.
  const keys = [EVENT_KEYS[1], EVENT_KEYS[0], ...EVENT_KEYS.slice(2)];
  const f = await writeFixture(t, {
    logs: { 'a.json': [event()] },
    jsonpaths: JSON.stringify({ jsonpaths: keys.map((k) => `$['${k}']`) }, null, 2),
  });
  const e = await t.throwsAsync(load(tdb, f.env));
  t.regex(
    e?.message ?? '',
    /log_json_path\.json:3: jsonpaths\[0\] '\$\['auth'\]' names the field of column auth, but position 1 is column artist/,
  );
});
