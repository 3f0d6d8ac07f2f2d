/**
 * Turns a literal table definition into node-pg-migrate `up`/`down` functions.
 * The engine is detected from the migration's own connection, so one migration
 * file serves Redshift and PostgreSQL.
 */
import type { MigrationBuilder } from 'node-pg-migrate';
import { dialectFromVersion, type Dialect } from '../dialect/index.ts';
import { sqlType, type ColumnDef, type TableDef } from '../dialect/table-def.ts';

export async function dialectOf(pgm: MigrationBuilder): Promise<Dialect> {
  const rows = (await pgm.db.select('select version() as version')) as { version?: string }[];
  return dialectFromVersion(String(rows[0]?.version ?? ''));
}

/** The definition is returned too: migrations export it, so the report's schema diagram is drawn from it. */
export function tableMigration(def: TableDef): {
  up: (pgm: MigrationBuilder) => Promise<void>;
  down: (pgm: MigrationBuilder) => Promise<void>;
  table: TableDef;
} {
  return {
    table: def,
    async up(pgm) {
      for (const statement of (await dialectOf(pgm)).createTable(def)) pgm.sql(statement);
    },
    async down(pgm) {
      for (const statement of (await dialectOf(pgm)).dropTable(def.name)) pgm.sql(statement);
    },
  };
}

/**
 * A migration that adds one nullable column (Redshift's ALTER TABLE adds one
 * column per statement). The column is returned for the schema diagram, as
 * tableMigration returns its table.
 */
export function addColumnMigration(
  tableName: string,
  column: ColumnDef,
): {
  up: (pgm: MigrationBuilder) => Promise<void>;
  down: (pgm: MigrationBuilder) => Promise<void>;
  addedColumn: { readonly table: string; readonly column: ColumnDef };
} {
  return {
    addedColumn: { table: tableName, column },
    async up(pgm) {
      pgm.sql(`ALTER TABLE ${tableName} ADD COLUMN ${column.name} ${sqlType(column.type)}`);
    },
    async down(pgm) {
      pgm.sql(`ALTER TABLE ${tableName} DROP COLUMN ${column.name}`);
    },
  };
}
