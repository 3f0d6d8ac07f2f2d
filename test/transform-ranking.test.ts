// Which record wins when song files disagree, on loaded data in both file
// orders (each order loaded into a database of its own). artists: a record
// with a location first, then one with coordinates, then the smallest song_id.
// songs: a song_id seen twice gives the same row whatever the file order.
import test, { type ExecutionContext } from 'ava';
import { song, writeFixture, type Song } from './helpers/fixtures.ts';
import { load, migratedDatabase } from './helpers/load.ts';
import type { TestDatabase } from './helpers/database.ts';

/**
 * Loads the song files in the order given and in the reverse order (file names
 * are listed in sorted order, so the names set it) into two fresh databases.
 */
async function loadBothOrders(t: ExecutionContext, songs: readonly Song[]): Promise<[TestDatabase, TestDatabase]> {
  const orders = [songs, [...songs].reverse()];
  const dbs: TestDatabase[] = [];
  for (const order of orders) {
    const tdb = await migratedDatabase();
    t.teardown(() => tdb.drop());
    const files = Object.fromEntries(order.map((s, i) => [`${String(i).padStart(2, '0')}.json`, s]));
    await load(tdb, (await writeFixture(t, { songs: files })).env);
    dbs.push(tdb);
  }
  const [a, b] = dbs as [TestDatabase, TestDatabase];
  // The premise: the two loads staged the records in opposite orders.
  const staged = async (tdb: TestDatabase) =>
    (await tdb.query<{ song_id: string }>('select song_id from staging_songs order by ctid')).map((r) => r.song_id);
  t.deepEqual(await staged(b), (await staged(a)).reverse(), 'the file order reached staging');
  return [a, b];
}

const ARTIST_COLUMNS = 'artist_id, name, location, latitude, longitude';
const artists = (tdb: TestDatabase) => tdb.query(`select ${ARTIST_COLUMNS} from artists order by artist_id`);

test('artists: coordinates break the tie between two records with a location, even against the smaller song_id', async (t) => {
  const songs = [
    song({
      song_id: 'SOA1',
      artist_id: 'ARA',
      artist_name: 'Smaller Id',
      artist_location: 'Paris',
      artist_latitude: null,
      artist_longitude: null,
    }),
    song({
      song_id: 'SOA2',
      artist_id: 'ARA',
      artist_name: 'Larger Id',
      artist_location: 'Lyon',
      artist_latitude: 45.76,
      artist_longitude: 4.83,
    }),
  ];
  for (const tdb of await loadBothOrders(t, songs)) {
    t.deepEqual(await artists(tdb), [
      { artist_id: 'ARA', name: 'Larger Id', location: 'Lyon', latitude: 45.76, longitude: 4.83 },
    ]);
  }
});

test('artists: a location outranks coordinates, even against the smaller song_id', async (t) => {
  const songs = [
    song({
      song_id: 'SOB1',
      artist_id: 'ARB',
      artist_name: 'Coordinates Only',
      artist_location: '',
      artist_latitude: 40.71,
      artist_longitude: -74.01,
    }),
    song({
      song_id: 'SOB2',
      artist_id: 'ARB',
      artist_name: 'Location Only',
      artist_location: 'Berlin',
      artist_latitude: null,
      artist_longitude: null,
    }),
  ];
  for (const tdb of await loadBothOrders(t, songs)) {
    t.deepEqual(await artists(tdb), [
      { artist_id: 'ARB', name: 'Location Only', location: 'Berlin', latitude: null, longitude: null },
    ]);
  }
});

test('artists: between equally complete records the smaller song_id wins, in both file orders', async (t) => {
  // The smaller song_id has the later name, location and coordinates, so ranking by values instead would pick the other.
  const songs = [
    song({
      song_id: 'SOC1',
      artist_id: 'ARC',
      artist_name: 'Zulu Complete',
      artist_location: 'Rome',
      artist_latitude: 41.9,
      artist_longitude: 12.5,
    }),
    song({
      song_id: 'SOC2',
      artist_id: 'ARC',
      artist_name: 'Alpha Complete',
      artist_location: 'Athens',
      artist_latitude: 37.98,
      artist_longitude: 23.73,
    }),
    song({
      song_id: 'SOD1',
      artist_id: 'ARD',
      artist_name: 'Zulu Located',
      artist_location: 'Oslo',
      artist_latitude: null,
      artist_longitude: null,
    }),
    song({
      song_id: 'SOD2',
      artist_id: 'ARD',
      artist_name: 'Alpha Located',
      artist_location: 'Bergen',
      artist_latitude: null,
      artist_longitude: null,
    }),
    song({
      song_id: 'SOE1',
      artist_id: 'ARE',
      artist_name: 'Zulu Bare',
      artist_location: '',
      artist_latitude: null,
      artist_longitude: null,
    }),
    song({
      song_id: 'SOE2',
      artist_id: 'ARE',
      artist_name: 'Alpha Bare',
      artist_location: '',
      artist_latitude: null,
      artist_longitude: null,
    }),
  ];
  for (const tdb of await loadBothOrders(t, songs)) {
    t.deepEqual(await artists(tdb), [
      { artist_id: 'ARC', name: 'Zulu Complete', location: 'Rome', latitude: 41.9, longitude: 12.5 },
      { artist_id: 'ARD', name: 'Zulu Located', location: 'Oslo', latitude: null, longitude: null },
      { artist_id: 'ARE', name: 'Zulu Bare', location: null, latitude: null, longitude: null },
    ]);
  }
});

test('songs: two files with the same song_id give the same row in both file orders', async (t) => {
  // Each pair differs in one column only, so that column alone must decide.
  const songs = [
    song({ song_id: 'SOTITLE', title: 'Beta Title' }),
    song({ song_id: 'SOTITLE', title: 'Alpha Title' }),
    song({ song_id: 'SODURATION', title: 'Same', duration: 200.5 }),
    song({ song_id: 'SODURATION', title: 'Same', duration: 180.25 }),
    song({ song_id: 'SOARTIST', title: 'Same', artist_id: 'ARZ' }),
    song({ song_id: 'SOARTIST', title: 'Same', artist_id: 'ARB' }),
  ];
  const [a, b] = await loadBothOrders(t, songs);
  const rows = (tdb: TestDatabase) =>
    tdb.query('select song_id, title, artist_id, year, duration from songs order by song_id');
  const inOrder = await rows(a);
  t.is(inOrder.length, 3, 'one row per song_id');
  t.deepEqual(await rows(b), inOrder);
});
