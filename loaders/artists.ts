// artists: one row per artist_id. Song files may disagree about an artist; the
// most complete record wins (a location, then coordinates), ties going to the
// smallest song_id and then to the values themselves, so any file order gives
// the same row. An empty location is NULL.
import { loaderFile, type TransformStep } from '../lib/load/steps.ts';
import { upsertStep } from '../lib/load/upsert.ts';

export const artists: TransformStep = upsertStep({
  table: 'artists',
  file: loaderFile(import.meta.url),
  role: 'dimension',
  description: 'artists, one per artist_id, most complete record wins',
  key: ['artist_id'],
  dependsOn: [],
  // Redshift: the batch is replicated as the table is (DISTSTYLE ALL), so the MERGE joins on each slice.
  distribution: { style: 'all' },
  columns: ['artist_id', 'name', 'location', 'latitude', 'longitude'],
  columnSources: {
    columns: {
      artist_id: ['staging_songs.artist_id'],
      name: ['staging_songs.artist_name'],
      location: ['staging_songs.artist_location'],
      latitude: ['staging_songs.artist_latitude'],
      longitude: ['staging_songs.artist_longitude'],
    },
    // The most complete record per artist_id, ties to the smallest song_id, then the values.
    rows: [
      'staging_songs.artist_id',
      'staging_songs.artist_location',
      'staging_songs.artist_latitude',
      'staging_songs.artist_longitude',
      'staging_songs.song_id',
      'staging_songs.artist_name',
    ],
  },
  select: `SELECT artist_id, name, location, latitude, longitude
FROM (
    SELECT
        artist_id,
        artist_name AS name,
        NULLIF(TRIM(artist_location), '') AS location,
        artist_latitude AS latitude,
        artist_longitude AS longitude,
        ROW_NUMBER() OVER (
            PARTITION BY artist_id
            ORDER BY
                CASE WHEN NULLIF(TRIM(artist_location), '') IS NULL THEN 1 ELSE 0 END,
                CASE WHEN artist_latitude IS NULL OR artist_longitude IS NULL THEN 1 ELSE 0 END,
                song_id NULLS LAST, artist_name NULLS LAST, artist_location NULLS LAST,
                artist_latitude NULLS LAST, artist_longitude NULLS LAST
        ) AS rn
    FROM staging_songs
    WHERE artist_id IS NOT NULL AND artist_id <> ''
) AS ranked
WHERE rn = 1`,
});
