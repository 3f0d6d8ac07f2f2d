// The load ledger's two rules, on loaded data: only objects whose rows reached
// every star table are recorded (a partial run, --only, records nothing), and
// only 'loaded' records count as loaded when --incremental picks new or
// changed objects (a 'staged' record, which older builds wrote before the
// transforms, does not).
import test from 'ava';
import { pipeline } from '../loaders/index.ts';
import { loadConfig } from '../lib/config/config.ts';
import { openDatabase } from '../lib/db/database.ts';
import { runLoad } from '../lib/load/runner.ts';
import { silentLogger } from '../lib/log.ts';
import { newOrChanged } from '../lib/stage/ledger.ts';
import type { TestDatabase } from './helpers/database.ts';
import { event, song, writeFixture } from './helpers/fixtures.ts';
import { migratedDatabase } from './helpers/load.ts';

async function loadWith(
  tdb: TestDatabase,
  env: Record<string, string>,
  options: { only?: string[]; incremental?: boolean },
) {
  const config = loadConfig({ DATABASE_URL: tdb.url, ...env });
  const db = await openDatabase(config, silentLogger);
  try {
    return await runLoad(db, { config, log: silentLogger, pipeline, maxErrors: 0, ...options });
  } finally {
    await db.close();
  }
}

const ledger = (tdb: TestDatabase) =>
  tdb.query<{ table_name: string; status: string }>(
    'select table_name, status from load_ledger order by table_name, object_uri',
  );
const count = async (tdb: TestDatabase, table: string) =>
  (await tdb.query<{ n: number }>(`select count(*)::int as n from ${table}`))[0]?.n;

test('a partial run (--only) records no object, so the next incremental load stages and transforms them all', async (t) => {
  const tdb = await migratedDatabase();
  t.teardown(() => tdb.drop());
  const f = await writeFixture(t, {
    logs: { 'day-1.json': [event({ ts: 1541030000000, song: 'Old Song', artist: 'Old Artist', length: 200.5 })] },
    songs: {
      'A/a.json': song({
        song_id: 'SOA',
        title: 'Old Song',
        artist_name: 'Old Artist',
        artist_id: 'AROLD',
        duration: 200.5,
      }),
    },
  });
  for (const only of [['stage'], ['stage', 'songs', 'artists'], ['stage', 'users', 'songs', 'artists', 'songplays']]) {
    await loadWith(tdb, f.env, { only, incremental: true });
    t.deepEqual(await ledger(tdb), [], `--only ${only.join(',')}`);
  }
  t.is(await count(tdb, 'time'), 0, 'no run filled time');
  await loadWith(tdb, f.env, { incremental: true });
  t.is(await count(tdb, 'time'), 1, 'the objects the partial runs staged are staged again and reach every table');
  t.deepEqual(await ledger(tdb), [
    { table_name: 'staging_events', status: 'loaded' },
    { table_name: 'staging_songs', status: 'loaded' },
  ]);
});

test("only 'loaded' records count: an object recorded only as 'staged' is new to --incremental", async (t) => {
  const tdb = await migratedDatabase();
  t.teardown(() => tdb.drop());
  const object = { uri: 's3://b/log_data/day-1.json', size: 120, version: 'etag-1' };
  const insert = (status: string, runId: string) =>
    tdb.query(
      `insert into load_ledger (table_name, object_uri, object_size, object_version, mapping_fingerprint, run_id, status, recorded_at) values ('staging_events', $1, $2, $3, 'm1', $4, $5, now())`,
      [object.uri, object.size, object.version, runId, status],
    );
  const db = await tdb.open();
  t.teardown(() => db.close());
  const conn = await db.connect();
  t.teardown(() => conn.end());
  await insert('staged', 'run-1');
  t.deepEqual(
    await newOrChanged(conn, 'postgres', 'staging_events', [object], 'm1'),
    [object],
    "'staged' is not loaded",
  );
  await insert('loaded', 'run-2');
  t.deepEqual([...(await newOrChanged(conn, 'postgres', 'staging_events', [object], 'm1'))], [], "'loaded' is");
  t.deepEqual(await newOrChanged(conn, 'postgres', 'staging_songs', [object], 'm1'), [object], 'per table');
  const changed = { ...object, version: 'etag-2' };
  t.deepEqual(await newOrChanged(conn, 'postgres', 'staging_events', [changed], 'm1'), [changed], 'a changed ETag');
  const resized = { ...object, size: 121 };
  t.deepEqual(await newOrChanged(conn, 'postgres', 'staging_events', [resized], 'm1'), [resized], 'a changed size');
  t.deepEqual(await newOrChanged(conn, 'postgres', 'staging_events', [object], 'm2'), [object], 'a changed mapping');
  await tdb.query('update load_ledger set mapping_fingerprint = null');
  t.deepEqual(
    await newOrChanged(conn, 'postgres', 'staging_events', [object], 'm1'),
    [object],
    'a record written before the mapping was recorded',
  );
});
