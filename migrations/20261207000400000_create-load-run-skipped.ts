// load_run_skipped: the bad records a run skipped under --max-errors, one row each (the first
// SKIPPED_KEPT of lib/load/run-record.ts; load_runs.skipped_records counts them all), instead of a
// JSON array in load_runs.skipped (issue 28, point 3): a load_runs row stays well under the Data
// API's 64 KB per row (https://docs.aws.amazon.com/redshift/latest/mgmt/data-api-troubleshooting.html)
// and Redshift's row width. load_runs.skipped is no longer written (old rows keep theirs).
// VARCHAR sizes are bytes on Redshift; the writer cuts each value to them
// (https://docs.aws.amazon.com/redshift/latest/dg/r_Character_types.html).
import { bigint, integer, varchar } from '../lib/dialect/table-def.ts';
import { tableMigration } from '../lib/migrate/table-migration.ts';

export const { up, down, table } = tableMigration({
  name: 'load_run_skipped',
  columns: [
    { name: 'run_id', type: varchar(64), notNull: true },
    { name: 'seq', type: integer, notNull: true },
    { name: 'file', type: varchar(1024) },
    { name: 'line', type: bigint },
    { name: 'field', type: varchar(256) },
    { name: 'value', type: varchar(1024) },
    { name: 'reason', type: varchar(1024) },
  ],
  distribution: { style: 'all' },
  sortKey: ['run_id', 'seq'],
  indexes: [['run_id', 'seq']],
});
