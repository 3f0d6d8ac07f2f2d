// songs: one row per song_id.
import { double, integer, varchar } from '../lib/dialect/table-def.ts';
import { tableMigration } from '../lib/migrate/table-migration.ts';

export const { up, down, table } = tableMigration({
  name: 'songs',
  columns: [
    { name: 'song_id', type: varchar(32), notNull: true },
    { name: 'title', type: varchar(1024) },
    { name: 'artist_id', type: varchar(32) },
    { name: 'year', type: integer },
    { name: 'duration', type: double },
  ],
  distribution: { style: 'all' },
  sortKey: ['song_id'],
  indexes: [['song_id']],
});
