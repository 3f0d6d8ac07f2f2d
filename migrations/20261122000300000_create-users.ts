// users: one row per user; name, gender and level from the user's latest event.
import { integer, varchar } from '../lib/dialect/table-def.ts';
import { tableMigration } from '../lib/migrate/table-migration.ts';

export const { up, down, table } = tableMigration({
  name: 'users',
  columns: [
    { name: 'user_id', type: integer, notNull: true },
    { name: 'first_name', type: varchar(256) },
    { name: 'last_name', type: varchar(256) },
    { name: 'gender', type: varchar(16) },
    { name: 'level', type: varchar(16) },
  ],
  distribution: { style: 'all' },
  sortKey: ['user_id'],
  indexes: [['user_id']],
});
