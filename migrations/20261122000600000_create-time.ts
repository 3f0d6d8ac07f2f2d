// time: one row per distinct songplay start_time, broken into calendar parts.
import { integer, timestamp } from '../lib/dialect/table-def.ts';
import { tableMigration } from '../lib/migrate/table-migration.ts';

export const { up, down, table } = tableMigration({
  name: 'time',
  columns: [
    { name: 'start_time', type: timestamp, notNull: true },
    { name: 'hour', type: integer },
    { name: 'day', type: integer },
    { name: 'week', type: integer },
    { name: 'month', type: integer },
    { name: 'year', type: integer },
    { name: 'weekday', type: integer },
  ],
  // Co-located with songplays on start_time, so the time join needs no redistribution.
  distribution: { style: 'key', key: 'start_time' },
  sortKey: ['start_time'],
  indexes: [['start_time']],
});
