// Issue 26, point 10: songplays.item_in_session, the itemInSession of the event a play comes from. Two events
// with one (user_id, session_id, start_time) in different runs are ranked as a full load ranks them (a matched
// song first, then the smaller itemInSession, loaders/songplays.ts): a later duplicate whose song is unmatched
// never replaces a matched play. Rows loaded before keep NULL (ranked last among equal songs).
import { integer } from '../lib/dialect/table-def.ts';
import { addColumnMigration } from '../lib/migrate/table-migration.ts';

export const { up, down, addedColumn } = addColumnMigration('songplays', { name: 'item_in_session', type: integer });
