// load_runs.cost: what a run was expected to cost and what it cost (JSON text,
// lib/cost/estimate.ts RunCost): the planned work (objects, bytes, statements),
// the estimate of time and money for the target, and after the run the
// measured seconds and, on Redshift Serverless, the RPU-seconds charged for the
// run's window (SYS_SERVERLESS_USAGE). `history` shows estimate against actual.
// NULL for runs on PostgreSQL and runs recorded before this migration.
import { varchar } from '../lib/dialect/table-def.ts';
import { addColumnMigration } from '../lib/migrate/table-migration.ts';

export const { up, down, addedColumn } = addColumnMigration('load_runs', { name: 'cost', type: varchar(4096) });
