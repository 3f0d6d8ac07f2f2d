// artists: one row per artist_id. Song files may disagree about an artist; the
// most complete record wins (a location, then coordinates), ties going to the
// smallest song_id and then to the values themselves, so any file order gives
// the same row. An empty location is NULL. source_song_id keeps the winning
// record's song file, so a later run's song files are ranked against the
// stored row as one full load ranks them (issue 30: an artist spelled two
// ways across song files that arrive in different runs).
import { ranksBefore, rankOrderBy, type RankTerm } from '../lib/load/ranking.ts';
import { loaderFile, type TransformStep } from '../lib/load/steps.ts';
import { upsertStep } from '../lib/load/upsert.ts';

const LOCATION = `NULLIF(TRIM(artist_location), '')`;

const RANKING: readonly RankTerm[] = [
  {
    column: 'no_location',
    source: `CASE WHEN ${LOCATION} IS NULL THEN 1 ELSE 0 END`,
    stored: (a) => `CASE WHEN ${a}.location IS NULL THEN 1 ELSE 0 END`,
    notNull: true,
  },
  {
    column: 'no_coordinates',
    source: 'CASE WHEN artist_latitude IS NULL OR artist_longitude IS NULL THEN 1 ELSE 0 END',
    stored: (a) => `CASE WHEN ${a}.latitude IS NULL OR ${a}.longitude IS NULL THEN 1 ELSE 0 END`,
    notNull: true,
  },
  { column: 'source_song_id', source: 'song_id' },
  { column: 'name', source: 'artist_name' },
  { column: 'location', source: LOCATION },
  { column: 'latitude', source: 'artist_latitude' },
  { column: 'longitude', source: 'artist_longitude' },
];

export const artists: TransformStep = upsertStep({
  table: 'artists',
  file: loaderFile(import.meta.url),
  role: 'dimension',
  description: 'artists, one per artist_id, most complete record wins',
  key: ['artist_id'],
  dependsOn: [],
  // Redshift: the batch is replicated as the table is (DISTSTYLE ALL), so the MERGE joins on each slice.
  distribution: { style: 'all' },
  columns: ['artist_id', 'name', 'location', 'latitude', 'longitude', 'source_song_id'],
  columnSources: {
    columns: {
      artist_id: ['staging_songs.artist_id'],
      name: ['staging_songs.artist_name'],
      location: ['staging_songs.artist_location'],
      latitude: ['staging_songs.artist_latitude'],
      longitude: ['staging_songs.artist_longitude'],
      source_song_id: ['staging_songs.song_id'],
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
  select: `SELECT artist_id, name, location, latitude, longitude, source_song_id
FROM (
    SELECT
        artist_id,
        artist_name AS name,
        ${LOCATION} AS location,
        artist_latitude AS latitude,
        artist_longitude AS longitude,
        song_id AS source_song_id,
        ROW_NUMBER() OVER (
            PARTITION BY artist_id
            ORDER BY ${rankOrderBy(RANKING)}
        ) AS rn
    FROM staging_songs
    WHERE artist_id IS NOT NULL AND artist_id <> ''
) AS ranked
WHERE rn = 1`,
  // A stored artist that outranks the batch's row stays (Redshift's MERGE takes no
  // condition on WHEN MATCHED, so the batch row goes instead).
  prune: [
    `DELETE FROM artists_batch
USING artists
WHERE artists.artist_id = artists_batch.artist_id
    AND ${ranksBefore(RANKING, 'artists', 'artists_batch')}`,
  ],
});
