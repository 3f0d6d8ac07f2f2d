// users.last_event_ts: the ts (epoch ms) of the event a user's row comes from, so
// that a load of older events (an incremental re-load of a changed old file)
// never overwrites a newer level with an older one.
import type { MigrationBuilder } from 'node-pg-migrate';

export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.sql('ALTER TABLE users ADD COLUMN last_event_ts BIGINT');
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql('ALTER TABLE users DROP COLUMN last_event_ts');
}
