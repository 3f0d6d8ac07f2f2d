// Issue 26, point 10: users.last_event_session_id, the sessionId of the event a user's row comes from: the
// tie-break after ts and itemInSession (loaders/users.ts), kept so that a later run decides as a full load.
import { integer } from '../lib/dialect/table-def.ts';
import { addColumnMigration } from '../lib/migrate/table-migration.ts';

export const { up, down, addedColumn } = addColumnMigration('users', { name: 'last_event_session_id', type: integer });
