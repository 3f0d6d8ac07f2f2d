/**
 * Data-quality checks after a load (npm run verify). Redshift enforces no
 * keys, so uniqueness, NOT NULL and references are checked here, derived
 * from each step's declared grain and references (loaders/), plus the checks
 * a step declares itself. Every check is a portable query that returns the
 * offending rows; none means it passed.
 */
import type { Connection } from '../db/connection.ts';
import type { Database } from '../db/database.ts';
import { CheckFailedError } from '../errors.ts';
import type { CheckSpec, Pipeline, Reference, TransformStep } from '../load/steps.ts';

export type Check = CheckSpec;

const keysOf = (step: TransformStep) => (step.surrogateKey ? [step.surrogateKey, ...step.key] : step.key);

const unique = (table: string, key: readonly string[]): Check => ({
  name: `${table}: ${key.join(', ')} unique`,
  description: `no two rows of ${table} share (${key.join(', ')})`,
  sql: `SELECT ${key.join(', ')}, COUNT(*) AS copies FROM ${table} GROUP BY ${key.join(', ')} HAVING COUNT(*) > 1`,
});

const notNull = (table: string, key: readonly string[]): Check => ({
  name: `${table}: ${key.join(', ')} not NULL`,
  description: `every row of ${table} has its key`,
  sql: `SELECT * FROM ${table} WHERE ${key.map((k) => `${k} IS NULL`).join(' OR ')}`,
});

const references = (step: TransformStep, r: Reference): Check => ({
  name: `${step.table}.${r.column} in ${r.table}`,
  description: `every ${step.table} row's ${r.column}${r.nullable ? ', when not NULL,' : ''} is in ${r.table}`,
  sql: `SELECT ${[...new Set([...keysOf(step), r.column])].map((c) => `t.${c}`).join(', ')}
FROM ${step.table} AS t
LEFT JOIN ${r.table} AS target ON target.${r.targetColumn} = t.${r.column}
WHERE ${r.nullable ? `t.${r.column} IS NOT NULL AND ` : ''}target.${r.targetColumn} IS NULL`,
});

/** Every check, in this order: keys unique, keys not NULL, references, then each step's own. */
export function checksFor(pipeline: Pipeline): Check[] {
  const steps = pipeline.transforms;
  return [
    ...steps.flatMap((s) => [...(s.surrogateKey ? [unique(s.table, [s.surrogateKey])] : []), unique(s.table, s.key)]),
    ...steps.map((s) => notNull(s.table, keysOf(s))),
    ...steps.flatMap((s) => (s.references ?? []).map((r) => references(s, r))),
    ...steps.flatMap((s) => s.checks ?? []),
  ];
}

/** Rows per table, every table the load fills, in the pipeline's order (a UNION ALL alone has no order: each run could print another). */
export function rowCountsSql(pipeline: Pipeline): string {
  const rows = pipeline.tables
    .map((t, i) =>
      i === 0
        ? `SELECT ${i} AS position, '${t}' AS table_name, COUNT(*) AS row_count FROM ${t}`
        : `UNION ALL SELECT ${i}, '${t}', COUNT(*) FROM ${t}`,
    )
    .join('\n');
  return `SELECT table_name, row_count FROM (\n${rows}\n) AS counts\nORDER BY position`;
}

export const MATCH_RATE_SQL = `SELECT COUNT(*) AS songplays,
    SUM(CASE WHEN song_id IS NOT NULL THEN 1 ELSE 0 END) AS matched
FROM songplays`;

export interface CheckResult {
  readonly check: Check;
  readonly failures: number;
  readonly sample: readonly Record<string, unknown>[];
}

export interface VerifyReport {
  readonly counts: readonly { table_name: string; row_count: number }[];
  readonly matched: number;
  readonly songplays: number;
  readonly results: readonly CheckResult[];
}

export async function runChecks(conn: Connection, pipeline: Pipeline, sampleSize = 5): Promise<VerifyReport> {
  const counts = (await conn.query<{ table_name: string; row_count: string }>(rowCountsSql(pipeline))).rows.map(
    (r) => ({ table_name: r.table_name, row_count: Number(r.row_count) }),
  );
  const rate = (await conn.query<{ songplays: string; matched: string | null }>(MATCH_RATE_SQL)).rows[0];
  const results: CheckResult[] = [];
  for (const check of checksFor(pipeline)) {
    const { rows } = await conn.query<{ n: string }>(`SELECT COUNT(*) AS n FROM (${check.sql}) AS offending`);
    const failures = Number(rows[0]?.n ?? 0);
    const sample =
      failures > 0
        ? (await conn.query(`SELECT * FROM (${check.sql}) AS offending ORDER BY 1 LIMIT ${sampleSize}`)).rows
        : [];
    results.push({ check, failures, sample });
  }
  return { counts, matched: Number(rate?.matched ?? 0), songplays: Number(rate?.songplays ?? 0), results };
}

/** The checks on a connection of their own. */
export async function verifyWarehouse(db: Database, pipeline: Pipeline): Promise<VerifyReport> {
  const conn = await db.connect();
  try {
    return await runChecks(conn, pipeline);
  } finally {
    await conn.end();
  }
}

/** Throws CheckFailedError (exit 4) naming every failed check. */
export function assertChecksPassed(report: VerifyReport): void {
  const failed = report.results.filter((r) => r.failures > 0);
  if (failed.length > 0)
    throw new CheckFailedError(`${failed.length} check(s) failed: ${failed.map((r) => r.check.name).join('; ')}`);
}

/** What `verify --format json` prints and the programmatic verify() returns. */
export interface VerifyJson {
  readonly passed: boolean;
  readonly counts: readonly { readonly table: string; readonly rows: number }[];
  readonly songplays: number;
  readonly matched: number;
  readonly checks: readonly {
    readonly name: string;
    readonly description: string;
    readonly passed: boolean;
    readonly offendingRows: number;
    readonly sample: readonly Record<string, unknown>[];
  }[];
}

/** The JSON shape of `verify --format json` (docs/operations.md, Machine-readable output). */
export function verifyJson(report: VerifyReport): VerifyJson {
  return {
    passed: report.results.every((r) => r.failures === 0),
    counts: report.counts.map((c) => ({ table: c.table_name, rows: Number(c.row_count) })),
    songplays: report.songplays,
    matched: report.matched,
    checks: report.results.map((r) => ({
      name: r.check.name,
      description: r.check.description,
      passed: r.failures === 0,
      offendingRows: r.failures,
      sample: r.sample,
    })),
  };
}
