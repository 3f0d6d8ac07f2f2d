/**
 * Everything the report shows, read from the warehouse: the analytics
 * queries' rows, the data-quality checks, row counts, the load ledger and,
 * where the table exists, the run record. Portable SQL only (it runs on
 * Redshift and PostgreSQL alike).
 */
import type { Connection } from '../../db/connection.ts';
import type { Database } from '../../db/database.ts';
import { LEDGER_TABLE } from '../../stage/ledger.ts';
import { EMPTY_RUN, lastRunsSql, readRuns, runRow } from '../../load/run-record.ts';
import type { Pipeline } from '../../load/steps.ts';
import { analyticsQueries, type AnalyticsQuery } from '../analytics.ts';
import { MATCH_RATE_SQL, rowCountsSql, runChecks, type VerifyReport } from '../checks.ts';
import { CHARTS, type Rows } from './charts.ts';
import type { LastDrift } from './sources-section.ts';
import { checkFreshness, type FreshnessReport, type FreshnessThresholds } from '../freshness.ts';
import type { Sources } from '../../config/config.ts';
import type { SourceReader } from '../../sources/source-objects.ts';

/** What the page's freshness part reads: the sources, how, and the thresholds. */
export interface FreshnessInput {
  readonly reader: SourceReader;
  readonly sources: Sources;
  readonly thresholds: FreshnessThresholds;
}

/** Ledger objects listed one by one; the rest are counted in the summary. */
export const LEDGER_OBJECTS_SHOWN = 200;
export const RUNS_SHOWN = 10;
/** Only its column names are used (a table with no runs yet). */

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
  /** The schema drift of the latest run that recorded one (load_runs.drift). */
  readonly drift?: LastDrift;
  /** The sources' and the warehouse's newest data (lib/report/freshness.ts), when the sources were given. */
  readonly freshness?: FreshnessReport;
  readonly sql: {
    readonly rowCounts: string;
    readonly matchRate: string;
    readonly ledgerSummary: string;
    readonly ledgerObjects: string;
  };
}

/** The analytics query whose rows the page shows as the table of every user's free and paid intervals. */
export const USER_TIMELINES_QUERY = 'user-timelines';

/** The analytics queries the page reads: the charts', and the user timelines table's. */
export function chartQueryNames(): string[] {
  return [...new Set([...CHARTS.flatMap((c) => c.queries), USER_TIMELINES_QUERY])];
}

/** The run record's latest runs (lib/load/run-record.ts), one row each, as `history` shows them. */
async function lastRuns(client: Connection): Promise<Pick<ReportData, 'runs' | 'drift'>> {
  const runs = await readRuns(client, RUNS_SHOWN);
  if (!runs) return {};
  const rows = runs.map(runRow);
  const drifted = runs.find((r) => r.drift !== null);
  return {
    runs: { sql: lastRunsSql(RUNS_SHOWN), rows, columns: Object.keys(rows[0] ?? runRow(EMPTY_RUN)) },
    ...(drifted?.drift ? { drift: { runId: drifted.runId, startedAt: drifted.startedAt, tables: drifted.drift } } : {}),
  };
}

export async function collectReportData(
  db: Database,
  pipeline: Pipeline,
  freshness?: FreshnessInput,
): Promise<ReportData> {
  const wanted = new Set(chartQueryNames());
  const all = analyticsQueries(db.dialect);
  const missing = [...wanted].filter((n) => !all.some((q) => q.name === n));
  if (missing.length > 0)
    throw new Error(
      `the report needs analytics queries that lib/report/analytics/ does not have: ${missing.join(', ')}`,
    );
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
    const fresh = freshness
      ? await checkFreshness(freshness.reader, freshness.sources, client, freshness.thresholds)
      : undefined;
    return {
      generatedAt: new Date(),
      engine: db.dialect.name === 'redshift' ? 'Amazon Redshift' : 'PostgreSQL',
      where: db.description,
      queries,
      checks,
      ledger: { summary, objects, total },
      ...runs,
      ...(fresh ? { freshness: fresh } : {}),
      sql: {
        rowCounts: rowCountsSql(pipeline),
        matchRate: MATCH_RATE_SQL,
        ledgerSummary: LEDGER_SUMMARY_SQL,
        ledgerObjects: LEDGER_OBJECTS_SQL,
      },
    };
  } finally {
    await client.end();
  }
}
