// staging_songs: every song file from SONG_DATA (one object per file, keys
// equal to the column names), loaded with 'auto'.
import { loaderFile, type StagingStep } from '../lib/load/steps.ts';

export const stageSongs: StagingStep = {
  table: 'staging_songs',
  file: loaderFile(import.meta.url),
  description: 'song metadata from SONG_DATA',
  columns: [
    'num_songs',
    'artist_id',
    'artist_latitude',
    'artist_longitude',
    'artist_location',
    'artist_name',
    'song_id',
    'title',
    'duration',
    'year',
  ],
  // Their trailing blanks are dropped when staging (docs/redshift.md, "Where the engines differ": trailing blanks).
  varcharColumns: ['artist_id', 'artist_location', 'artist_name', 'song_id', 'title'],
  // What songs, artists and songplays filter, join and group on.
  predicateColumns: ['song_id', 'artist_id', 'title', 'artist_name', 'duration'],
  source: (s) => s.songData,
  format: () => 'auto',
  settings: { source: 'SONG_DATA' },
};
