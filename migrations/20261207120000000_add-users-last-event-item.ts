// Issue 26, point 10: users.last_event_item_in_session, the itemInSession of the event a user's row comes
// from. With last_event_ts it decides a tie (two events of the user at the same ts, in different runs) as a
// full load does: the larger itemInSession wins (loaders/users.ts). Rows loaded before keep NULL (ranked
// below any itemInSession) until a load brings that user's latest event again, or a --replace.
import { integer } from '../lib/dialect/table-def.ts';
import { addColumnMigration } from '../lib/migrate/table-migration.ts';

export const { up, down, addedColumn } = addColumnMigration('users', { name: 'last_event_item_in_session', type: integer });
