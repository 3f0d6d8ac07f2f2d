// songs.artist_name: the artist's name as the song's own file spells it. An
// incremental load matches events against songs loaded before by this name,
// so that it matches exactly as a full load does (which matches each staged
// song file's artist_name); artists.name holds one spelling per artist, and
// Sparkify spells some artists two ways across song files. Songs loaded before
// this migration get their artist's name until their files are loaded again.
import type { MigrationBuilder } from 'node-pg-migrate';

export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.sql('ALTER TABLE songs ADD COLUMN artist_name VARCHAR(1024)');
  pgm.sql(`UPDATE songs SET artist_name = artists.name
FROM artists
WHERE artists.artist_id = songs.artist_id`);
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql('ALTER TABLE songs DROP COLUMN artist_name');
}
