/**
 * The star schema as the migrations define it, read without a database: each
 * migration module is imported in order and its exported table definition
 * (`table`, from tableMigration) or added column (`addedColumn`, from
 * addColumnMigration) is applied. The keys and references are the ones the
 * data-quality checks verify (lib/checks.ts), so the diagram shows what is checked.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { KEYS, REFERENCES } from '../../checks.ts';
import { sqlType, type ColumnDef, type TableDef } from '../../dialect/table-def.ts';
import { MIGRATIONS_DIR, migrationNames } from '../../migrate.ts';

export type TableRole = 'fact' | 'dimension' | 'staging';

export interface SchemaColumn {
  readonly name: string;
  /** The SQL type, as both engines spell it. */
  readonly type: string;
  readonly notNull: boolean;
  readonly identity: boolean;
  /** Part of the table's key (unique and not NULL, checked by npm run verify). */
  readonly primaryKey: boolean;
  /** Part of the natural key (unique, checked). */
  readonly naturalKey: boolean;
  readonly references?: { readonly table: string; readonly column: string; readonly nullable: boolean };
  /** Redshift: the distribution key column. */
  readonly distKey: boolean;
  /** Redshift: position in the compound sort key (1-based), if any. */
  readonly sortKey?: number;
}

export interface SchemaTable {
  readonly name: string;
  readonly role: TableRole;
  readonly columns: readonly SchemaColumn[];
  /** Redshift's distribution, as its DDL says it: DISTKEY (col), DISTSTYLE ALL, … */
  readonly distribution: string;
  readonly sortKey: readonly string[];
  /** Redshift BACKUP NO (staging: rebuilt from the sources). */
  readonly backupNo: boolean;
}

export interface SchemaRelation {
  readonly from: string;
  readonly column: string;
  readonly to: string;
  readonly toColumn: string;
  readonly nullable: boolean;
}

export interface SchemaModel {
  /** Fact first, then dimensions, then staging, each in migration order. */
  readonly tables: readonly SchemaTable[];
  readonly relations: readonly SchemaRelation[];
  /** Tables the migrations create that are not part of the diagram (bookkeeping such as the load ledger). */
  readonly others: readonly string[];
}

interface MigrationExports {
  readonly table?: TableDef;
  readonly addedColumn?: { readonly table: string; readonly column: ColumnDef };
}

/** The table definitions after every migration, in creation order. */
export async function migratedTableDefs(dir: string = MIGRATIONS_DIR): Promise<TableDef[]> {
  const defs = new Map<string, TableDef>();
  for (const name of await migrationNames(dir)) {
    const file = ['.ts', '.js'].map((ext) => path.join(dir, `${name}${ext}`)).find((f) => existsSync(f));
    if (!file) throw new Error(`migration ${name}: no .ts or .js file in ${dir}`);
    const mod = (await import(pathToFileURL(file).href)) as MigrationExports;
    if (mod.table) defs.set(mod.table.name, mod.table);
    if (mod.addedColumn) {
      const { table, column } = mod.addedColumn;
      const def = defs.get(table);
      if (!def) throw new Error(`migration ${name}: adds a column to ${table}, which no earlier migration creates`);
      defs.set(table, { ...def, columns: [...def.columns, column] });
    }
  }
  return [...defs.values()];
}

function distributionOf(def: TableDef): string {
  return def.distribution.style === 'key' ? `DISTKEY (${def.distribution.key})` : `DISTSTYLE ${def.distribution.style.toUpperCase()}`;
}

export function schemaModel(defs: readonly TableDef[]): SchemaModel {
  // The checks' references all start at the fact table (lib/checks.ts).
  const facts = new Set(['songplays']);
  const dimensions = new Set(REFERENCES.map((r) => r.target));
  const roleOf = (name: string): TableRole | undefined =>
    facts.has(name) ? 'fact' : dimensions.has(name) ? 'dimension' : name.startsWith('staging_') ? 'staging' : undefined;
  const tables: SchemaTable[] = [];
  for (const def of defs) {
    const role = roleOf(def.name);
    if (!role) continue;
    const keys = KEYS.filter((k) => k.table === def.name);
    const columns = def.columns.map((c): SchemaColumn => {
      const ref = role === 'fact' ? REFERENCES.find((r) => r.column === c.name) : undefined;
      const sortIndex = (def.sortKey ?? []).indexOf(c.name);
      return {
        name: c.name,
        type: sqlType(c.type),
        notNull: c.notNull === true,
        identity: c.identity === true,
        primaryKey: keys.some((k) => !k.natural && k.key.includes(c.name)),
        naturalKey: keys.some((k) => k.natural === true && k.key.includes(c.name)),
        ...(ref ? { references: { table: ref.target, column: ref.targetColumn, nullable: ref.nullable } } : {}),
        distKey: def.distribution.style === 'key' && def.distribution.key === c.name,
        ...(sortIndex >= 0 ? { sortKey: sortIndex + 1 } : {}),
      };
    });
    tables.push({ name: def.name, role, columns, distribution: distributionOf(def), sortKey: def.sortKey ?? [], backupNo: def.backup === false });
  }
  const order: TableRole[] = ['fact', 'dimension', 'staging'];
  tables.sort((a, b) => order.indexOf(a.role) - order.indexOf(b.role));
  const names = new Set(tables.map((t) => t.name));
  for (const r of REFERENCES) {
    if (!names.has(r.target)) throw new Error(`the checks reference ${r.target}, which no migration creates`);
  }
  return {
    tables,
    relations: REFERENCES.map((r) => ({ from: 'songplays', column: r.column, to: r.target, toColumn: r.targetColumn, nullable: r.nullable })),
    others: defs.filter((d) => !roleOf(d.name)).map((d) => d.name),
  };
}

export async function loadSchemaModel(dir: string = MIGRATIONS_DIR): Promise<SchemaModel> {
  return schemaModel(await migratedTableDefs(dir));
}
