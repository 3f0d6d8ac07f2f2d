// staging_songs: one row per song file (Million Song Dataset metadata), keys loaded with 'auto'.
import { double, integer, varchar } from '../lib/dialect/table-def.ts';
import { tableMigration } from '../lib/migrate/table-migration.ts';

export const { up, down, table } = tableMigration({
  name: 'staging_songs',
  columns: [
    { name: 'num_songs', type: integer },
    { name: 'artist_id', type: varchar(32) },
    { name: 'artist_latitude', type: double },
    { name: 'artist_longitude', type: double },
    { name: 'artist_location', type: varchar(512) },
    { name: 'artist_name', type: varchar(1024) },
    { name: 'song_id', type: varchar(32) },
    { name: 'title', type: varchar(1024) },
    { name: 'duration', type: double },
    { name: 'year', type: integer },
  ],
  // Replicated to every node: the songplays match joins every event against it.
  distribution: { style: 'all' },
  sortKey: ['title'],
  backup: false,
});
