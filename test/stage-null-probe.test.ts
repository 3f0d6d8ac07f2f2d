// The probe for a mapped column NULL in every staged row, evaluated by a real
// engine (PostgreSQL runs the Redshift probe's portable SQL as it is): the
// COUNT(column) form Redshift staging runs and the EXISTS form PostgreSQL
// staging runs find the same columns, and only those.
import test from 'ava';
import { loadConfig } from '../lib/config/config.ts';
import { createLogger } from '../lib/log.ts';
import { checkMappedColumns } from '../lib/stage/checks.ts';
import { pipeline } from '../loaders/index.ts';
import { migratedDatabase } from './helpers/load.ts';

test('each column NULL in every staged row is found by both probes; a column NULL in some rows is not', async (t) => {
  const tdb = await migratedDatabase();
  t.teardown(() => tdb.drop());
  const step = pipeline.staging.find((s) => s.table === 'staging_songs');
  if (!step) throw new Error('no staging_songs step');
  // artist_longitude and artist_location NULL everywhere; year and artist_latitude NULL in some rows.
  await tdb.query(`insert into staging_songs (num_songs, artist_id, artist_latitude, artist_longitude, artist_location, artist_name, song_id, title, duration, year) values
    (1, 'AR1', 1.5, NULL, NULL, 'A', 'SO1', 'T1', 100, 2001),
    (1, 'AR2', NULL, NULL, NULL, 'B', 'SO2', 'T2', 100, NULL),
    (1, 'AR3', NULL, NULL, NULL, 'C', 'SO3', 'T3', 100, NULL)`);
  const db = await tdb.open();
  t.teardown(() => db.close());
  const conn = await db.connect();
  t.teardown(() => conn.end());
  const config = loadConfig({ DATABASE_URL: tdb.url });
  for (const stagedRows of [undefined, 3]) {
    const warnings: string[] = [];
    const log = createLogger({ write: (l) => warnings.push(l) });
    await checkMappedColumns(conn, step, { config, log, allowEmpty: false, strict: false }, undefined, stagedRows);
    const probe = stagedRows === undefined ? 'COUNT (Redshift)' : 'EXISTS (PostgreSQL)';
    t.deepEqual(
      warnings.map((w) => /staging_songs\.(\w+) is NULL in all 3 staged rows/.exec(w)?.[1]),
      ['artist_longitude', 'artist_location'],
      `${probe} probe: ${warnings.join('\n')}`,
    );
  }
});
