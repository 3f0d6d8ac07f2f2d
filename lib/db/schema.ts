/**
 * The warehouse schema (WAREHOUSE_SCHEMA, --schema): every connection the tool
 * opens selects it with SET search_path, so that the migrations, the loaders,
 * the checks and the analytics SQL name their tables unqualified and run
 * unchanged in any schema, and the lock, the ledger, node-pg-migrate's
 * bookkeeping and the work tables are per schema too. Redshift resolves
 * unqualified names through the search_path and creates an unqualified table
 * in its first schema, as PostgreSQL does:
 * https://docs.aws.amazon.com/redshift/latest/dg/r_search_path.html
 * The name was validated (lib/config/schema-name.ts): lowercase
 * letters, digits and _, so it is quoted without escaping.
 */
import { DEFAULT_SCHEMA } from '../config/config.ts';
import type { Connection } from './connection.ts';

/**
 * IF NOT EXISTS on both engines (Redshift:
 * https://docs.aws.amazon.com/redshift/latest/dg/r_CREATE_SCHEMA.html).
 */
export function createSchemaSql(schema: string): string {
  return `CREATE SCHEMA IF NOT EXISTS "${schema}"`;
}

/**
 * The value as a string literal rather than a quoted identifier: both engines
 * take either, and sqlfluff's Redshift grammar (the tests' independent
 * parser) takes only this one.
 */
export function selectSchemaSql(schema: string): string {
  return `SET search_path TO '${schema}'`;
}

/**
 * What a dry-run script runs first so that it is runnable as printed: the
 * migrations create the schema, a load only selects it (nothing for the
 * default schema, which every database has and selects).
 */
export function schemaPreamble(schema: string, options: { readonly create: boolean }): string[] {
  if (schema === DEFAULT_SCHEMA) return [];
  return [
    `-- the warehouse schema (WAREHOUSE_SCHEMA): every table below is in ${schema}`,
    ...(options.create ? [`${createSchemaSql(schema)};`, ''] : []),
    `${selectSchemaSql(schema)};`,
    '',
  ];
}

export async function schemaExists(conn: Connection, schema: string): Promise<boolean> {
  const { rows } = await conn.query('SELECT 1 AS one FROM pg_namespace WHERE nspname = $1', [schema]);
  return rows.length > 0;
}

export async function createSchema(conn: Connection, schema: string): Promise<void> {
  try {
    await conn.query(createSchemaSql(schema));
  } catch (err) {
    // Two first runs racing on PostgreSQL: the other one created it, which is fine.
    const code = (err as { code?: string }).code;
    if (code !== '23505' && code !== '42P06') throw err;
  }
}

/**
 * Whether `table` exists in `schema` (default: the connection's current
 * schema). information_schema is on both engines; on Redshift it lists the
 * tables the user may read.
 */
export async function tableExists(conn: Connection, table: string, schema?: string): Promise<boolean> {
  const { rows } =
    schema === undefined
      ? await conn.query<{ n: string }>(
          'SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1',
          [table],
        )
      : await conn.query<{ n: string }>(
          'SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2',
          [schema, table],
        );
  return Number(rows[0]?.n ?? 0) > 0;
}

/** Which of `tables` are not in `schema` (information_schema, on both engines). */
export async function missingTables(conn: Connection, tables: readonly string[], schema: string): Promise<string[]> {
  const { rows } = await conn.query<{ table_name: string }>(
    'SELECT table_name FROM information_schema.tables WHERE table_schema = $1',
    [schema],
  );
  const present = new Set(rows.map((r) => r.table_name));
  return tables.filter((t) => !present.has(t));
}
