// load_ledger.mapping_fingerprint: what the object was staged with (the JSON
// mapping, 'auto' or the JSONPaths file's paths, and the COPY column list),
// as a SHA-256 (lib/stage/ledger.ts, mappingFingerprint). `--incremental`
// stages an object again when its mapping changed (a fixed LOG_JSONPATH).
// Rows written before this column hold NULL: they count as changed once.
import { varchar } from '../lib/dialect/table-def.ts';
import { addColumnMigration } from '../lib/migrate/table-migration.ts';

export const { up, down, addedColumn } = addColumnMigration('load_ledger', {
  name: 'mapping_fingerprint',
  type: varchar(64),
});
