/**
 * The star schema as the migrations define it, read without a database: each
 * migration module is imported in order and its exported table definition
 * (`table`, from tableMigration) or added column (`addedColumn`, from
 * addColumnMigration) is applied. The keys and references are the ones the
 * loaders declare and the data-quality checks verify (lib/report/checks.ts),
 * so the diagram shows what is checked; each table's role (fact, dimension,
 * staging) is its step's, so a new star table is drawn without other edits.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { sqlType, type ColumnDef, type TableDef } from '../../dialect/table-def.ts';
import type { Pipeline } from '../../load/steps.ts';
import { MIGRATIONS_DIR, migrationNames } from '../../migrate/migrate.ts';

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
  /** Tables given a new physical design (same columns): applied to their earlier definitions. */
  readonly redesigned?: readonly TableRedesign[];
}

/** A table's new physical design: its distribution and sort key (undefined: none). */
export type TableRedesign = { readonly name: string } & Partial<Pick<TableDef, 'distribution' | 'sortKey'>>;

/** The table definitions after every migration (or those before `until`), in creation order. */
export async function migratedTableDefs(dir: string = MIGRATIONS_DIR, until?: string): Promise<TableDef[]> {
  const defs = new Map<string, TableDef>();
  for (const name of await migrationNames(dir)) {
    if (name === until) break;
    const file = ['.ts', '.js'].map((ext) => path.join(dir, `${name}${ext}`)).find((f) => existsSync(f));
    if (!file) throw new Error(`migration ${name}: no .ts or .js file in ${dir}`);
    const mod = (await import(pathToFileURL(file).href)) as MigrationExports;
    if (mod.table) defs.set(mod.table.name, mod.table);
    for (const redesign of mod.redesigned ?? []) {
      const def = defs.get(redesign.name);
      if (!def) throw new Error(`migration ${name}: redesigns ${redesign.name}, which no earlier migration creates`);
      defs.set(redesign.name, { ...def, ...redesign });
    }
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
  return def.distribution.style === 'key'
    ? `DISTKEY (${def.distribution.key})`
    : `DISTSTYLE ${def.distribution.style.toUpperCase()}`;
}

/** The keys each star table declares (loaders/): a surrogate key, and the grain as the natural key beside it. */
function declaredKeys(pipeline: Pipeline): { table: string; key: readonly string[]; natural: boolean }[] {
  return pipeline.transforms.flatMap((s): { table: string; key: readonly string[]; natural: boolean }[] =>
    s.surrogateKey
      ? [
          { table: s.table, key: [s.surrogateKey], natural: false },
          { table: s.table, key: s.key, natural: true },
        ]
      : [{ table: s.table, key: s.key, natural: false }],
  );
}

/** The references the star tables declare: from the fact table to the dimensions. */
function declaredReferences(
  pipeline: Pipeline,
): { from: string; column: string; target: string; targetColumn: string; nullable: boolean }[] {
  return pipeline.transforms.flatMap((s) =>
    (s.references ?? []).map((r) => ({
      from: s.table,
      column: r.column,
      target: r.table,
      targetColumn: r.targetColumn,
      nullable: r.nullable,
    })),
  );
}

export function schemaModel(defs: readonly TableDef[], pipeline: Pipeline): SchemaModel {
  const KEYS = declaredKeys(pipeline);
  const REFERENCES = declaredReferences(pipeline);
  // Each step says what its table is (TransformStep.role); staging tables are the staging steps'.
  // Anything else the migrations create (the ledger, the run record) is bookkeeping, not in the diagram.
  const roles = new Map<string, TableRole>([
    ...pipeline.transforms.map((s) => [s.table, s.role] as const),
    ...pipeline.staging.map((s) => [s.table, 'staging'] as const),
  ]);
  const roleOf = (name: string): TableRole | undefined => roles.get(name);
  const tables: SchemaTable[] = [];
  for (const def of defs) {
    const role = roleOf(def.name);
    if (!role) continue;
    const keys = KEYS.filter((k) => k.table === def.name);
    const columns = def.columns.map((c): SchemaColumn => {
      const ref = REFERENCES.find((r) => r.from === def.name && r.column === c.name);
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
    tables.push({
      name: def.name,
      role,
      columns,
      distribution: distributionOf(def),
      sortKey: def.sortKey ?? [],
      backupNo: def.backup === false,
    });
  }
  const order: TableRole[] = ['fact', 'dimension', 'staging'];
  tables.sort((a, b) => order.indexOf(a.role) - order.indexOf(b.role));
  const names = new Set(tables.map((t) => t.name));
  for (const r of REFERENCES) {
    if (!names.has(r.target)) throw new Error(`${r.from} references ${r.target}, which no migration creates`);
  }
  return {
    tables,
    relations: REFERENCES.map((r) => ({
      from: r.from,
      column: r.column,
      to: r.target,
      toColumn: r.targetColumn,
      nullable: r.nullable,
    })),
    others: defs.filter((d) => !roleOf(d.name)).map((d) => d.name),
  };
}

export async function loadSchemaModel(pipeline: Pipeline, dir: string = MIGRATIONS_DIR): Promise<SchemaModel> {
  return schemaModel(await migratedTableDefs(dir), pipeline);
}
