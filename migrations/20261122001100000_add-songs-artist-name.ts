// songs.artist_name: the artist's name as the song's own file spells it. An
// incremental load matches events against songs loaded before by this name,
// so that it matches exactly as a full load does (which matches each staged
// song file's artist_name); artists.name holds one spelling per artist, and
// Sparkify spells some artists two ways across song files. Songs loaded before
// this migration get their artist's name until their files are loaded again.
import type { MigrationBuilder } from 'node-pg-migrate';
import { sqlType, varchar, type ColumnDef } from '../lib/dialect/table-def.ts';

/** The column added (the report's schema diagram applies it, as addColumnMigration's). */
export const addedColumn: { readonly table: string; readonly column: ColumnDef } = { table: 'songs', column: { name: 'artist_name', type: varchar(1024) } };

export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`ALTER TABLE songs ADD COLUMN artist_name ${sqlType(addedColumn.column.type)}`);
  pgm.sql(`UPDATE songs SET artist_name = artists.name
FROM artists
WHERE artists.artist_id = songs.artist_id`);
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql('ALTER TABLE songs DROP COLUMN artist_name');
}
