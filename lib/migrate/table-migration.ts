/**
 * Turns a literal table definition into node-pg-migrate `up`/`down` functions.
 * The engine is detected from the migration's own connection, so one migration
 * file serves Redshift and PostgreSQL.
 */
import type { MigrationBuilder } from 'node-pg-migrate';
import { dialectFromVersion, type Dialect } from '../dialect/index.ts';
import type { TableDef } from '../dialect/table-def.ts';

export async function dialectOf(pgm: MigrationBuilder): Promise<Dialect> {
  const rows = (await pgm.db.select('select version() as version')) as { version?: string }[];
  return dialectFromVersion(String(rows[0]?.version ?? ''));
}

export function tableMigration(def: TableDef): {
  up: (pgm: MigrationBuilder) => Promise<void>;
  down: (pgm: MigrationBuilder) => Promise<void>;
} {
  return {
    async up(pgm) {
      for (const statement of (await dialectOf(pgm)).createTable(def)) pgm.sql(statement);
    },
    async down(pgm) {
      for (const statement of (await dialectOf(pgm)).dropTable(def.name)) pgm.sql(statement);
    },
  };
}
