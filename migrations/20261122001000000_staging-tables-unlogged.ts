// The staging tables hold a copy of the source files that every load rebuilds:
// on PostgreSQL they become UNLOGGED, so staging writes no WAL and its commit
// flushes nothing to disk. After a server crash PostgreSQL empties them; the
// next load stages again (the sources and the star tables are what count).
// Redshift keeps them as they are: its equivalent (BACKUP NO) can only be
// given when a table is created.
import type { MigrationBuilder } from 'node-pg-migrate';
import { dialectOf } from '../lib/migrate/table-migration.ts';

const STAGING = ['staging_events', 'staging_songs'];

export async function up(pgm: MigrationBuilder): Promise<void> {
  const dialect = await dialectOf(pgm);
  for (const table of STAGING) for (const statement of dialect.scratchTable(table, true)) pgm.sql(statement);
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  const dialect = await dialectOf(pgm);
  for (const table of STAGING) for (const statement of dialect.scratchTable(table, false)) pgm.sql(statement);
}
