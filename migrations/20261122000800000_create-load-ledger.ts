// load_ledger: one row per source object a load staged (key, size, ETag or mtime,
// run id, time); `npm run load -- --incremental` stages only objects not yet loaded.
import { bigint, timestamp, varchar } from '../lib/dialect/table-def.ts';
import { tableMigration } from '../lib/migrate/table-migration.ts';

export const { up, down, table } = tableMigration({
  name: 'load_ledger',
  columns: [
    { name: 'table_name', type: varchar(64), notNull: true },
    { name: 'object_uri', type: varchar(2048), notNull: true },
    { name: 'object_size', type: bigint },
    { name: 'object_version', type: varchar(256) },
    { name: 'row_count', type: bigint },
    { name: 'run_id', type: varchar(64), notNull: true },
    { name: 'status', type: varchar(16), notNull: true },
    { name: 'recorded_at', type: timestamp },
  ],
  distribution: { style: 'all' },
  sortKey: ['table_name', 'object_uri'],
  indexes: [['table_name', 'object_uri'], ['run_id']],
});
