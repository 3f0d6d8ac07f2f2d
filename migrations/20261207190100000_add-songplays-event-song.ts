// Issue 30, point 2: songplays.event_song, the event's own song title as the app sent it, which the song match reads.
// Kept so that a song file arriving after the plays it matches (a late or split delivery) matches the plays
// loaded before, as one full load of the same files would (loaders/songplays.ts). Rows loaded before keep NULL.
import { varchar } from '../lib/dialect/table-def.ts';
import { addColumnMigration } from '../lib/migrate/table-migration.ts';

export const { up, down, addedColumn } = addColumnMigration('songplays', { name: 'event_song', type: varchar(1024) });
