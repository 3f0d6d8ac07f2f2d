// staging_songs: every song file from SONG_DATA (one object per file, keys
// equal to the column names), loaded with 'auto'.
import type { StagingStep } from '../lib/load/steps.ts';

export const stageSongs: StagingStep = {
  table: 'staging_songs',
  description: 'song metadata from SONG_DATA',
  columns: ['num_songs', 'artist_id', 'artist_latitude', 'artist_longitude', 'artist_location', 'artist_name', 'song_id', 'title', 'duration', 'year'],
  source: (s) => s.songData,
  format: () => 'auto',
  settings: { source: 'SONG_DATA' },
};
