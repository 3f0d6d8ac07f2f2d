// load_runs.context: what a run ran with, as JSON text (lib/load/run-record.ts
// RunContext): the tool's version, the target (its password masked) and the
// sources. `history` prints it; `npm start` and `load` compare the sources
// with the last successful run's and say so when they differ. VARCHAR(65535)
// is Redshift's longest VARCHAR: https://docs.aws.amazon.com/redshift/latest/dg/r_Character_types.html
import { varchar } from '../lib/dialect/table-def.ts';
import { addColumnMigration } from '../lib/migrate/table-migration.ts';

export const { up, down, addedColumn } = addColumnMigration('load_runs', { name: 'context', type: varchar(65535) });
