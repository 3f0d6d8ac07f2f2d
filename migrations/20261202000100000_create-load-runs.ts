// load_runs: one row per `load` or `start` (lib/load/run-record.ts): its run id,
// command line, start and end, outcome, the steps with their rows and seconds
// (JSON text), the bad records skipped under --max-errors, and the error of a
// failed run. `sparkify-warehouse history` and the report page read it. A row
// is written when the run starts ('running') and completed when it ends.
// VARCHAR(65535) is Redshift's longest VARCHAR (bytes; the writer keeps the
// JSON under it): https://docs.aws.amazon.com/redshift/latest/dg/r_Character_types.html
import { integer, timestamp, varchar } from '../lib/dialect/table-def.ts';
import { tableMigration } from '../lib/migrate/table-migration.ts';

export const { up, down, table } = tableMigration({
  name: 'load_runs',
  columns: [
    { name: 'run_id', type: varchar(64), notNull: true },
    { name: 'command', type: varchar(1024), notNull: true },
    { name: 'started_at', type: timestamp, notNull: true },
    { name: 'ended_at', type: timestamp },
    { name: 'outcome', type: varchar(16), notNull: true },
    { name: 'steps', type: varchar(65535) },
    { name: 'skipped_records', type: integer },
    { name: 'skipped', type: varchar(65535) },
    { name: 'error', type: varchar(4096) },
  ],
  distribution: { style: 'all' },
  sortKey: ['started_at'],
  indexes: [['run_id'], ['started_at']],
});
