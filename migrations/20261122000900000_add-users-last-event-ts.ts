// users.last_event_ts: the ts (epoch ms) of the event a user's row comes from, so
// that a load of older events (an incremental re-load of a changed old file)
// never overwrites a newer level with an older one.
import { bigint } from '../lib/dialect/table-def.ts';
import { addColumnMigration } from '../lib/migrate/table-migration.ts';

export const { up, down, addedColumn } = addColumnMigration('users', { name: 'last_event_ts', type: bigint });
