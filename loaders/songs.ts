// songs: one row per song_id from the song files; year 0 means unknown (NULL).
// A song_id seen twice keeps one row, chosen by its values (never by file
// order), in one run and across runs: a stored song that ranks before a later
// run's record of it stays (issue 30: split deliveries end as one full load).
// artist_name is the song file's own spelling of its artist (songplays matches on it).
import { ranksBefore, rankOrderBy, type RankTerm } from '../lib/load/ranking.ts';
import { loaderFile, type TransformStep } from '../lib/load/steps.ts';
import { upsertStep } from '../lib/load/upsert.ts';

const RANKING: readonly RankTerm[] = [
  { column: 'title' },
  { column: 'artist_id' },
  { column: 'duration' },
  { column: 'year', source: 'NULLIF(year, 0)' },
  { column: 'artist_name' },
];

export const songs: TransformStep = upsertStep({
  table: 'songs',
  file: loaderFile(import.meta.url),
  role: 'dimension',
  description: 'songs, one per song_id',
  key: ['song_id'],
  dependsOn: [],
  // Redshift: the batch is replicated as the table is (DISTSTYLE ALL), so the MERGE joins on each slice.
  distribution: { style: 'all' },
  columns: ['song_id', 'title', 'artist_id', 'artist_name', 'year', 'duration'],
  columnSources: {
    columns: {
      song_id: ['staging_songs.song_id'],
      title: ['staging_songs.title'],
      artist_id: ['staging_songs.artist_id'],
      artist_name: ['staging_songs.artist_name'],
      year: ['staging_songs.year'],
      duration: ['staging_songs.duration'],
    },
    // A song_id seen twice: one row, chosen by its values.
    rows: [
      'staging_songs.song_id',
      'staging_songs.title',
      'staging_songs.artist_id',
      'staging_songs.duration',
      'staging_songs.year',
      'staging_songs.artist_name',
    ],
  },
  select: `SELECT song_id, title, artist_id, artist_name, year, duration
FROM (
    SELECT
        song_id,
        title,
        artist_id,
        artist_name,
        NULLIF(year, 0) AS year,
        duration,
        ROW_NUMBER() OVER (
            PARTITION BY song_id
            ORDER BY ${rankOrderBy(RANKING)}
        ) AS rn
    FROM staging_songs
    WHERE song_id IS NOT NULL AND song_id <> ''
) AS ranked
WHERE rn = 1`,
  prune: [
    `DELETE FROM songs_batch
USING songs
WHERE songs.song_id = songs_batch.song_id
    AND ${ranksBefore(RANKING, 'songs', 'songs_batch')}`,
  ],
});
