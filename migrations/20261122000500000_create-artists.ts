// artists: one row per artist_id.
import { double, varchar } from '../lib/dialect/table-def.ts';
import { tableMigration } from '../lib/migrate/table-migration.ts';

export const { up, down, table } = tableMigration({
  name: 'artists',
  columns: [
    { name: 'artist_id', type: varchar(32), notNull: true },
    { name: 'name', type: varchar(1024) },
    { name: 'location', type: varchar(512) },
    { name: 'latitude', type: double },
    { name: 'longitude', type: double },
  ],
  distribution: { style: 'all' },
  sortKey: ['artist_id'],
  indexes: [['artist_id']],
});
