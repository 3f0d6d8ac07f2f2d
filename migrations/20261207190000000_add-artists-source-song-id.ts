// Issue 30, point 2: artists.source_song_id, the song file whose record the artist row comes from (the smallest
// song_id among the most complete records, loaders/artists.ts). A later run's song files are ranked against the
// stored row as one full load ranks them, so an artist spelled two ways across song files ends the same whatever
// the order the files arrive in. Rows loaded before keep NULL (ranked last among equally complete records).
import { varchar } from '../lib/dialect/table-def.ts';
import { addColumnMigration } from '../lib/migrate/table-migration.ts';

export const { up, down, addedColumn } = addColumnMigration('artists', { name: 'source_song_id', type: varchar(32) });
