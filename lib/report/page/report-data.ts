/**
 * Everything the report shows, read from the warehouse: the analytics
 * queries' rows, the data-quality checks, row counts, the load ledger and,
 * where the table exists, the run record. Portable SQL only (it runs on
 * Redshift and PostgreSQL alike).
 */
import type { Connection } from '../../db/connection.ts';
import type { Database } from '../../db/database.ts';
import { LEDGER_TABLE } from '../../load/ledger.ts';
import type { Pipeline } from '../../load/steps.ts';
import { analyticsQueries, type AnalyticsQuery } from '../analytics.ts';
import { MATCH_RATE_SQL, rowCountsSql, runChecks, type VerifyReport } from '../checks.ts';
import { CHARTS, type Rows } from './charts.ts';

export const RUNS_TABLE = 'load_runs';
/** Ledger objects listed one by one; the rest are counted in the summary. */
export const LEDGER_OBJECTS_SHOWN = 200;
export const RUNS_SHOWN = 10;

export const LEDGER_SUMMARY_SQL = `SELECT table_name, COUNT(*) AS objects, SUM(object_size) AS bytes, COUNT(DISTINCT run_id) AS runs,
    MIN(recorded_at) AS first_loaded, MAX(recorded_at) AS last_loaded
FROM ${LEDGER_TABLE}
WHERE status = 'loaded'
GROUP BY table_name
ORDER BY table_name`;

export const LEDGER_OBJECTS_SQL = `SELECT table_name, object_uri, object_size, recorded_at, run_id
FROM ${LEDGER_TABLE}
WHERE status = 'loaded'
ORDER BY recorded_at DESC, table_name, object_uri
LIMIT ${LEDGER_OBJECTS_SHOWN}`;

// information_schema is on both engines; on Redshift it lists the tables the user may read.
const TABLE_EXISTS_SQL = `SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1`;
const COLUMNS_SQL = `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`;

export interface QueryResult {
  readonly query: AnalyticsQuery;
  readonly rows: Rows;
}

export interface ReportData {
  readonly generatedAt: Date;
  readonly engine: string;
  readonly where: string;
  readonly queries: ReadonlyMap<string, QueryResult>;
  readonly checks: VerifyReport;
  readonly ledger: { readonly summary: Rows; readonly objects: Rows; readonly total: number };
  /** The run record's latest rows, or undefined where the table does not exist yet. */
  readonly runs?: { readonly sql: string; readonly rows: Rows; readonly columns: readonly string[] };
  readonly sql: { readonly rowCounts: string; readonly matchRate: string; readonly ledgerSummary: string; readonly ledgerObjects: string };
}

/** The analytics queries the charts read. */
export function chartQueryNames(): string[] {
  return [...new Set(CHARTS.flatMap((c) => c.queries))];
}

async function tableExists(client: Connection, table: string): Promise<boolean> {
  const { rows } = await client.query<{ n: string }>(TABLE_EXISTS_SQL, [table]);
  return Number(rows[0]?.n ?? 0) > 0;
}

async function lastRuns(client: Connection): Promise<ReportData['runs']> {
  if (!(await tableExists(client, RUNS_TABLE))) return undefined;
  const { rows: columns } = await client.query<{ column_name: string; data_type: string }>(COLUMNS_SQL, [RUNS_TABLE]);
  // The run record's layout is its own migration's: order by its first timestamp column, newest first.
  const orderBy = columns.find((c) => c.data_type.startsWith('timestamp'))?.column_name ?? columns[0]?.column_name;
  const sql = `SELECT * FROM ${RUNS_TABLE}${orderBy ? ` ORDER BY ${orderBy} DESC` : ''} LIMIT ${RUNS_SHOWN}`;
  const result = await client.query(sql);
  return { sql, rows: result.rows as Rows, columns: columns.map((c) => c.column_name) };
}

export async function collectReportData(db: Database, pipeline: Pipeline): Promise<ReportData> {
  const wanted = new Set(chartQueryNames());
  const all = analyticsQueries(db.dialect);
  const missing = [...wanted].filter((n) => !all.some((q) => q.name === n));
  if (missing.length > 0) throw new Error(`the report needs analytics queries that lib/report/analytics/ does not have: ${missing.join(', ')}`);
  const client = await db.connect();
  try {
    const queries = new Map<string, QueryResult>();
    for (const query of all.filter((q) => wanted.has(q.name))) {
      queries.set(query.name, { query, rows: (await client.query(query.sql)).rows as Rows });
    }
    const checks = await runChecks(client, pipeline);
    const summary = (await client.query(LEDGER_SUMMARY_SQL)).rows as Rows;
    const objects = (await client.query(LEDGER_OBJECTS_SQL)).rows as Rows;
    const total = summary.reduce((s, r) => s + Number(r['objects']), 0);
    const runs = await lastRuns(client);
    return {
      generatedAt: new Date(),
      engine: db.dialect.name === 'redshift' ? 'Amazon Redshift' : 'PostgreSQL',
      where: db.description,
      queries,
      checks,
      ledger: { summary, objects, total },
      ...(runs ? { runs } : {}),
      sql: { rowCounts: rowCountsSql(pipeline), matchRate: MATCH_RATE_SQL, ledgerSummary: LEDGER_SUMMARY_SQL, ledgerObjects: LEDGER_OBJECTS_SQL },
    };
  } finally {
    await client.end();
  }
}
