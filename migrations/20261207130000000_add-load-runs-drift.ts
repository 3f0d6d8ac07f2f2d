// load_runs.drift: the schema drift a run's staging found (JSON text,
// lib/sources/drift.ts DriftReport without its per-key profile): per staging
// table, the keys no column maps (count and first file:line), the keys whose
// type changes, and the mapped keys missing from more than --drift-threshold of
// the records. NULL for runs that staged nothing and runs recorded before this.
import { varchar } from '../lib/dialect/table-def.ts';
import { addColumnMigration } from '../lib/migrate/table-migration.ts';

export const { up, down, addedColumn } = addColumnMigration('load_runs', { name: 'drift', type: varchar(8192) });
