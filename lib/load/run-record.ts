/**
 * The run record (table load_runs, migration 20261202000100000): what every
 * `load` and `start` did — run id, command, start and end, outcome, each step
 * with its rows and seconds, the bad records skipped under --max-errors, and
 * the error of a failed run. A row is inserted when the run starts (outcome
 * 'running': a run killed outright stays so) and completed when it ends,
 * failed and interrupted runs too. Written and read through the Connection
 * interface only (any transport), with portable SQL; `history` and the report
 * page read it (readRuns).
 */
import { randomBytes } from 'node:crypto';
import { actualCost, type RunCost } from '../cost/estimate.ts';
import type { Connection } from '../db/connection.ts';
import { tableExists } from '../db/schema.ts';
import type { Database } from '../db/database.ts';
import { InterruptedError, type RecordProblem, ConfigError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { StepReport } from './steps.ts';
import type { DriftReport } from '../sources/drift.ts';

export const RUNS_TABLE = 'load_runs';
/** The skipped records of each run, one row each (migration 20261207000400000). */
export const SKIPPED_TABLE = 'load_run_skipped';

export type RunOutcome = 'running' | 'succeeded' | 'failed' | 'interrupted';

/** What a run ran with (column context, migration 20261207000200000): null for runs recorded before it. */
export interface RunContext {
  /** This tool's version (package.json). */
  readonly version: string;
  /** Where the warehouse is, its password masked (lib/config/config.ts describeTarget). */
  readonly target: string;
  /** The named target (--target, SPARKIFY_TARGET), if one was selected. */
  readonly targetName: string | null;
  readonly sources: { readonly logData: string; readonly logJsonPath: string; readonly songData: string };
  /** load --full-refresh: the star tables were emptied first. */
  readonly fullRefresh: boolean;
}

/** One run as `history --format json` and `load --format json` print it. */
export interface RunSummary {
  readonly runId: string;
  /** The command line's words after the program name: `load --incremental`, `start`. */
  readonly command: string;
  /** The tool's version, the target (password masked), the sources; null for runs recorded before these were kept. */
  readonly version: string | null;
  readonly target: string | null;
  readonly targetName: string | null;
  readonly sources: RunContext['sources'] | null;
  readonly fullRefresh: boolean;
  /** ISO 8601, UTC. */
  readonly startedAt: string;
  readonly endedAt: string | null;
  readonly seconds: number | null;
  readonly outcome: RunOutcome;
  readonly steps: readonly StepSummary[];
  readonly skippedRecords: number;
  /** The first SKIPPED_KEPT of them. */
  readonly skipped: readonly RecordProblem[];
  readonly error: string | null;
  /** Estimate and actual of a run on Redshift (column cost, migration 20261207000100000); null on PostgreSQL and before it. */
  readonly cost: RunCost | null;
  /** The schema drift its staging found, per staging table (column drift, migration 20261207130000000); null: not staged or not recorded. */
  readonly drift: readonly DriftFindings[] | null;
}

/** A staging table's drift as a run keeps it: the findings without the per-key profile. */
export type DriftFindings = Omit<DriftReport, 'profile'>;

export interface StepSummary {
  readonly step: string;
  readonly table: string;
  readonly rows: number;
  readonly seconds: number;
  readonly detail: string | null;
}

/** Skipped records kept for a run, in load_run_skipped (all of them are counted). */
export const SKIPPED_KEPT = 20;
/**
 * The columns' sizes in bytes (Redshift counts VARCHAR in bytes, PostgreSQL
 * in characters: https://docs.aws.amazon.com/redshift/latest/dg/r_Character_types.html).
 * The JSON columns are kept well under their declared size (65535) so that a
 * whole load_runs row (command, steps, error, context, cost: at most 34 KB)
 * stays under the Data API's 64 KB per result row
 * (https://docs.aws.amazon.com/redshift/latest/mgmt/data-api-troubleshooting.html).
 */
export const COLUMN_BYTES = {
  command: 1024,
  steps: 16384,
  error: 4096,
  context: 8192,
  cost: 4096,
  drift: 8192,
  file: 1024,
  field: 256,
  value: 1024,
  reason: 1024,
} as const;

/** `20261202045012-1a2b3c4d`: sorts by time, unique. */
export function newRunId(now: Date = new Date()): string {
  return `${now.toISOString().replace(/\D/g, '').slice(0, 14)}-${randomBytes(4).toString('hex')}`;
}

/** A TIMESTAMP literal both engines read the same way: UTC, milliseconds. */
const timestampText = (d: Date) => d.toISOString().replace('T', ' ').replace('Z', '');
/** What CAST(ts AS VARCHAR) gives on either engine, back to ISO 8601 UTC. */
function isoFromTimestampText(text: string | null): string | null {
  if (text === null) return null;
  const [date, time = '00:00:00'] = text.trim().split(' ');
  const [hms = '00:00:00', fraction = ''] = time.split('.');
  return `${date}T${hms}.${fraction.padEnd(3, '0').slice(0, 3)}Z`;
}

const ELLIPSIS = '…';

/**
 * Cuts text to at most `bytes` UTF-8 bytes, ending in "…" (3 bytes) when
 * cut, on a code point boundary (a surrogate pair is never split).
 */
export function fitBytes(text: string, bytes: number): string {
  if (Buffer.byteLength(text) <= bytes) return text;
  const room = bytes - Buffer.byteLength(ELLIPSIS);
  let cut = '';
  let used = 0;
  for (const ch of text) {
    const n = Buffer.byteLength(ch);
    if (used + n > room) break;
    cut += ch;
    used += n;
  }
  return `${cut}${ELLIPSIS}`;
}

/** A JSON array of as many of `items` as fit in `bytes`. */
function jsonFitting(items: readonly unknown[], bytes: number): string {
  let kept = items.length;
  let text = JSON.stringify(items);
  while (Buffer.byteLength(text) > bytes && kept > 0) {
    kept = Math.floor(kept / 2);
    text = JSON.stringify(items.slice(0, kept));
  }
  return text;
}

/** A skipped record cut to load_run_skipped's columns. */
function skippedRow(p: RecordProblem): RecordProblem {
  return {
    file: fitBytes(p.file, COLUMN_BYTES.file),
    line: p.line,
    ...(p.field === undefined ? {} : { field: fitBytes(p.field, COLUMN_BYTES.field) }),
    ...(p.value === undefined ? {} : { value: fitBytes(p.value, COLUMN_BYTES.value) }),
    reason: fitBytes(p.reason, COLUMN_BYTES.reason),
  };
}

/** One load's record, filled in as it runs (the runner adds each step as it commits). */
export class LoadRun {
  readonly runId: string;
  readonly command: string;
  readonly startedAt = new Date();
  endedAt: Date | undefined;
  outcome: RunOutcome = 'running';
  readonly steps: StepReport[] = [];
  skipped: readonly RecordProblem[] = [];
  error: string | undefined;
  /** The estimate, set before the run (Redshift targets); the actual is added when the run is recorded as ended. */
  cost: RunCost | undefined;
  /** What the staging found of the sources' keys (undefined: nothing staged). */
  drift: readonly DriftReport[] | undefined;

  /** `redact` masks the run's secrets in the command line, the context and the error kept (the record is read by others). */
  constructor(
    command: string,
    private readonly redact: (text: string) => string = (text) => text,
    context?: RunContext,
  ) {
    this.runId = newRunId(this.startedAt);
    this.command = redact(command);
    this.context = context && (JSON.parse(redact(JSON.stringify(context))) as RunContext);
  }

  readonly context: RunContext | undefined;

  end(err?: unknown): void {
    this.endedAt = new Date();
    if (err === undefined) {
      this.outcome = 'succeeded';
      return;
    }
    this.outcome = err instanceof InterruptedError ? 'interrupted' : 'failed';
    this.error = this.redact(err instanceof Error ? err.message : String(err));
  }

  summary(): RunSummary {
    return {
      runId: this.runId,
      command: this.command,
      ...contextFields(this.context),
      startedAt: this.startedAt.toISOString(),
      endedAt: this.endedAt?.toISOString() ?? null,
      seconds: this.endedAt ? (this.endedAt.getTime() - this.startedAt.getTime()) / 1000 : null,
      outcome: this.outcome,
      steps: this.steps.map((s) => ({
        step: s.step,
        table: s.table,
        rows: s.rows,
        seconds: Number(s.seconds.toFixed(3)),
        detail: s.detail ?? null,
      })),
      skippedRecords: this.skipped.length,
      skipped: this.skipped.slice(0, SKIPPED_KEPT),
      error: this.error ?? null,
      cost: this.cost ?? null,
      drift: this.drift ? this.drift.map(driftFindings) : null,
    };
  }
}

const driftFindings = ({ profile: _profile, ...findings }: DriftReport): DriftFindings => findings;

/** The drift as load_runs.drift holds it: findings cut to the column (the first of each list kept). */
export function driftColumnText(drift: readonly DriftFindings[]): string {
  let kept = 50;
  const cut = () =>
    JSON.stringify(
      drift.map((d) => ({
        ...d,
        newKeys: d.newKeys.slice(0, kept),
        typeChanges: d.typeChanges.slice(0, kept),
        missingKeys: d.missingKeys.slice(0, kept),
      })),
    );
  let text = cut();
  while (Buffer.byteLength(text) > COLUMN_BYTES.drift && kept > 0) {
    kept = Math.floor(kept / 2);
    text = cut();
  }
  return fitBytes(text, COLUMN_BYTES.drift);
}

const contextFields = (c: RunContext | undefined | null) => ({
  version: c?.version ?? null,
  target: c?.target ?? null,
  targetName: c?.targetName ?? null,
  sources: c?.sources ?? null,
  fullRefresh: c?.fullRefresh ?? false,
});

/**
 * load_runs' columns, in one catalog query (empty when the table does not
 * exist). A warehouse migrated before a column was added (context:
 * 20261207000200000; cost, drift) lacks it, and the record leaves it out.
 * One query instead of one per question: information_schema's views take
 * milliseconds to plan, and a run asked up to five times.
 */
async function runsColumns(conn: Connection): Promise<ReadonlySet<string>> {
  const { rows } = await conn.query<{ column_name: string }>(
    'SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1',
    [RUNS_TABLE],
  );
  return new Set(rows.map((r) => r.column_name));
}

/** The context of the last run that succeeded and staged (sources matter only then); undefined when none is recorded. */
export async function lastLoadContext(
  conn: Connection,
): Promise<{ context: RunContext; startedAt: string } | undefined> {
  if (!(await runsColumns(conn)).has('context')) return undefined;
  const { rows } = await conn.query<{ context: string | null; started_at: string; steps: string | null }>(
    `SELECT context, CAST(started_at AS VARCHAR(32)) AS started_at, steps FROM ${RUNS_TABLE}
WHERE outcome = 'succeeded' AND context IS NOT NULL
ORDER BY started_at DESC, run_id DESC
LIMIT 20`,
  );
  for (const r of rows) {
    const steps = r.steps ? (JSON.parse(r.steps) as StepSummary[]) : [];
    if (r.context && steps.some((st) => st.step.startsWith('stage ')))
      return { context: JSON.parse(r.context) as RunContext, startedAt: isoFromTimestampText(r.started_at) ?? '' };
  }
  return undefined;
}

/**
 * Records the run's start (on the load's own connection, once it holds the
 * warehouse lock); false when it is not recorded. The record never fails the
 * load: a warehouse migrated before load_runs existed, or a write that fails,
 * is a warning.
 */
export async function recordRunStart(conn: Connection, run: LoadRun, log: Logger): Promise<boolean> {
  try {
    const columns = await runsColumns(conn);
    if (columns.size === 0) {
      log.warn(
        `This run is not recorded: the warehouse has no ${RUNS_TABLE} table yet (run \`sparkify-warehouse migrate up\`).`,
      );
      return false;
    }
    const values = [run.runId, fitBytes(run.command, COLUMN_BYTES.command), timestampText(run.startedAt), run.outcome];
    // Idempotent: a write sent again (a retry whose first answer was lost, a second call) leaves one row, as
    // the skipped records below do. Neither engine has a key on run_id (Redshift enforces none), so the
    // INSERT itself says "only if absent"; a plain one made a second row, or under a unique index a failure.
    if (run.context && columns.has('context')) {
      await conn.query(
        `INSERT INTO ${RUNS_TABLE} (run_id, command, started_at, outcome, skipped_records, context)
SELECT CAST($1 AS VARCHAR(64)), $2, CAST($3 AS TIMESTAMP), $4, 0, $5
WHERE NOT EXISTS (SELECT 1 FROM ${RUNS_TABLE} WHERE run_id = CAST($1 AS VARCHAR(64)))`,
        [...values, fitBytes(JSON.stringify(run.context), COLUMN_BYTES.context)],
      );
    } else {
      await conn.query(
        `INSERT INTO ${RUNS_TABLE} (run_id, command, started_at, outcome, skipped_records)
SELECT CAST($1 AS VARCHAR(64)), $2, CAST($3 AS TIMESTAMP), $4, 0
WHERE NOT EXISTS (SELECT 1 FROM ${RUNS_TABLE} WHERE run_id = CAST($1 AS VARCHAR(64)))`,
        values,
      );
    }
    return true;
  } catch (err) {
    log.warn(`Could not record this run in ${RUNS_TABLE}: ${(err as Error).message}`);
    return false;
  }
}

/** Completes the run's record once it has ended, on a connection of its own (the load's may be gone). */
export async function recordRunEnd(db: Database, run: LoadRun, log: Logger): Promise<void> {
  const s = run.summary();
  try {
    const conn = await db.connect();
    try {
      // The skipped records first, one row each: the run's row says 'running' until they are all there.
      if (s.skipped.length > 0 && (await tableExists(conn, SKIPPED_TABLE))) {
        for (const [i, p] of s.skipped.map(skippedRow).entries()) {
          // Only if absent: recording the end again (a retried write) does not double the skipped records.
          await conn.query(
            `INSERT INTO ${SKIPPED_TABLE} (run_id, seq, file, line, field, value, reason)
SELECT CAST($1 AS VARCHAR(64)), CAST($2 AS INTEGER), $3, CAST($4 AS BIGINT), $5, $6, $7
WHERE NOT EXISTS (SELECT 1 FROM ${SKIPPED_TABLE} WHERE run_id = CAST($1 AS VARCHAR(64)) AND seq = CAST($2 AS INTEGER))`,
            [run.runId, i + 1, p.file, p.line, p.field ?? null, p.value ?? null, p.reason],
          );
        }
      }
      // The drift too, before the row says how the run ended.
      if (s.drift) await recordDrift(conn, run, s.drift, log);
      await conn.query(
        `UPDATE ${RUNS_TABLE} SET ended_at = $2, outcome = $3, steps = $4, skipped_records = $5, error = $6 WHERE run_id = $1`,
        [
          run.runId,
          run.endedAt ? timestampText(run.endedAt) : null,
          s.outcome,
          jsonFitting(s.steps, COLUMN_BYTES.steps),
          s.skippedRecords,
          s.error === null ? null : fitBytes(s.error, COLUMN_BYTES.error),
        ],
      );
      if (run.cost) await recordCost(conn, db, run, log);
    } finally {
      await conn.end().catch(() => undefined);
    }
  } catch (err) {
    log.warn(`Could not complete this run's record in ${RUNS_TABLE} (it stays 'running'): ${(err as Error).message}`);
  }
}

/** Whether the warehouse's load_runs has this column (a warehouse not migrated since has not). */
async function hasColumn(conn: Connection, column: 'cost' | 'drift'): Promise<boolean> {
  return (await runsColumns(conn)).has(column);
}
const hasCostColumn = (conn: Connection) => hasColumn(conn, 'cost');

/** Records the run's drift, where load_runs has the column (never fails the run's record). */
async function recordDrift(
  conn: Connection,
  run: LoadRun,
  drift: readonly DriftFindings[],
  log: Logger,
): Promise<void> {
  try {
    if (!(await hasColumn(conn, 'drift'))) {
      log.warn(
        `This run's schema drift is not recorded: ${RUNS_TABLE} has no drift column yet (run \`sparkify-warehouse migrate up\`).`,
      );
      return;
    }
    await conn.query(`UPDATE ${RUNS_TABLE} SET drift = $2 WHERE run_id = $1`, [run.runId, driftColumnText(drift)]);
  } catch (err) {
    log.warn(`Could not record this run's schema drift in ${RUNS_TABLE}: ${(err as Error).message}`);
  }
}

/** The drift column of the given runs, where the warehouse has it. */
async function readDrift(conn: Connection, runIds: readonly string[]): Promise<Map<string, DriftFindings[]>> {
  const out = new Map<string, DriftFindings[]>();
  if (runIds.length === 0 || !(await hasColumn(conn, 'drift'))) return out;
  const { rows } = await conn.query<{ run_id: string; drift: string | null }>(
    `SELECT run_id, drift FROM ${RUNS_TABLE} WHERE run_id IN (${runIds.map((_, i) => `$${i + 1}`).join(', ')})`,
    runIds,
  );
  for (const r of rows) {
    if (!r.drift) continue;
    try {
      out.set(r.run_id, JSON.parse(r.drift) as DriftFindings[]);
    } catch {
      // cut to the column's size: not shown
    }
  }
  return out;
}

/**
 * The run's actual cost next to its estimate: the measured duration, and on
 * Redshift Serverless the RPU-seconds charged for the run's window
 * (Dialect.chargedRpuSecondsSql); no usage row read (not a superuser, or not
 * yet computed) leaves the billing rules applied to the measured duration.
 */
async function recordCost(conn: Connection, db: Database, run: LoadRun, log: Logger): Promise<void> {
  const cost = run.cost;
  if (!cost || !run.endedAt) return;
  try {
    if (!(await hasCostColumn(conn))) {
      log.warn(
        `This run's estimate and actual cost are not recorded: ${RUNS_TABLE} has no cost column yet (run \`sparkify-warehouse migrate up\`).`,
      );
      return;
    }
    let charged: number | undefined;
    const sql = cost.estimate.target.kind === 'serverless' ? db.dialect.chargedRpuSecondsSql() : undefined;
    if (sql) {
      try {
        const { rows } = await conn.query<{ charged: string | number; intervals: string | number }>(sql, [
          timestampText(run.startedAt),
          timestampText(run.endedAt),
        ]);
        if (Number(rows[0]?.intervals ?? 0) > 0) charged = Number(rows[0]?.charged ?? 0);
        else
          log.info(
            'SYS_SERVERLESS_USAGE has no row for this run yet (it is computed after each transaction, and visible to superusers only): the actual cost applies the billing rules to the measured time.',
          );
      } catch (err) {
        log.warn(`Could not read SYS_SERVERLESS_USAGE: ${(err as Error).message}`);
      }
    }
    const seconds = (run.endedAt.getTime() - run.startedAt.getTime()) / 1000;
    run.cost = { ...cost, actual: actualCost(seconds, cost.estimate.target, cost.estimate.prices, charged) };
    await conn.query(`UPDATE ${RUNS_TABLE} SET cost = $2 WHERE run_id = $1`, [
      run.runId,
      fitBytes(JSON.stringify(run.cost), COLUMN_BYTES.cost),
    ]);
  } catch (err) {
    log.warn(`Could not record this run's cost in ${RUNS_TABLE}: ${(err as Error).message}`);
  }
}

interface RunRow {
  run_id: string;
  command: string;
  started_at: string;
  ended_at: string | null;
  outcome: string;
  steps: string | null;
  skipped_records: number | string | null;
  skipped: string | null;
  error: string | null;
  context?: string | null;
}

/** The latest `limit` runs, newest first; undefined when the warehouse has no load_runs table. */
export function lastRunsSql(limit: number, withContext = true): string {
  if (!Number.isInteger(limit) || limit < 1)
    throw new ConfigError([`runs to show: a whole number of 1 or more, got ${limit}`]);
  return `SELECT run_id, command, CAST(started_at AS VARCHAR(32)) AS started_at, CAST(ended_at AS VARCHAR(32)) AS ended_at,
    outcome, steps, skipped_records, skipped, error${withContext ? ', context' : ''}
FROM ${RUNS_TABLE}
ORDER BY started_at DESC, run_id DESC
LIMIT ${limit}`;
}

/** The cost column of the given runs, where the warehouse has it. */
async function readCosts(conn: Connection, runIds: readonly string[]): Promise<Map<string, RunCost>> {
  const costs = new Map<string, RunCost>();
  if (runIds.length === 0 || !(await hasCostColumn(conn))) return costs;
  const { rows } = await conn.query<{ run_id: string; cost: string | null }>(
    `SELECT run_id, cost FROM ${RUNS_TABLE} WHERE run_id IN (${runIds.map((_, i) => `$${i + 1}`).join(', ')})`,
    runIds,
  );
  for (const r of rows) {
    if (!r.cost) continue;
    try {
      costs.set(r.run_id, JSON.parse(r.cost) as RunCost);
    } catch {
      // cut to the column's size: not shown
    }
  }
  return costs;
}

/** The skipped records kept for these runs (run ids are the tool's own: newRunId's digits, '-' and hex only). */
export function skippedOfRunsSql(runIds: readonly string[]): string {
  for (const id of runIds) if (!/^\d{14}-[0-9a-f]{8}$/.test(id)) throw new Error(`not a run id: ${id}`);
  return `SELECT run_id, seq, file, line, field, value, reason
FROM ${SKIPPED_TABLE}
WHERE run_id IN (${runIds.map((id) => `'${id}'`).join(', ')})
ORDER BY run_id, seq`;
}

interface SkippedRow {
  run_id: string;
  file: string;
  line: number | string;
  field: string | null;
  value: string | null;
  reason: string;
}

async function skippedOfRuns(conn: Connection, runIds: readonly string[]): Promise<Map<string, RecordProblem[]>> {
  const out = new Map<string, RecordProblem[]>();
  const ids = runIds.filter((id) => /^\d{14}-[0-9a-f]{8}$/.test(id));
  if (ids.length === 0 || !(await tableExists(conn, SKIPPED_TABLE))) return out;
  for (const r of (await conn.query<SkippedRow>(skippedOfRunsSql(ids))).rows) {
    const list = out.get(r.run_id) ?? [];
    list.push({
      file: r.file,
      line: Number(r.line),
      ...(r.field === null ? {} : { field: r.field }),
      ...(r.value === null ? {} : { value: r.value }),
      reason: r.reason,
    });
    out.set(r.run_id, list);
  }
  return out;
}

export async function readRuns(conn: Connection, limit: number): Promise<RunSummary[] | undefined> {
  const columns = await runsColumns(conn);
  if (columns.size === 0) return undefined;
  const { rows } = await conn.query<RunRow>(lastRunsSql(limit, columns.has('context')));
  const runIds = rows.map((r) => r.run_id);
  const costs = await readCosts(conn, runIds);
  const drift = await readDrift(conn, runIds);
  const skipped = await skippedOfRuns(conn, runIds);
  return rows.map((r) => {
    const startedAt = isoFromTimestampText(r.started_at) ?? '';
    const endedAt = isoFromTimestampText(r.ended_at);
    return {
      runId: r.run_id,
      command: r.command,
      ...contextFields(r.context ? (JSON.parse(r.context) as RunContext) : null),
      startedAt,
      endedAt,
      seconds: endedAt ? (Date.parse(endedAt) - Date.parse(startedAt)) / 1000 : null,
      outcome: r.outcome as RunOutcome,
      steps: r.steps ? (JSON.parse(r.steps) as StepSummary[]) : [],
      skippedRecords: Number(r.skipped_records ?? 0),
      // Runs recorded before load_run_skipped kept them in load_runs.skipped.
      skipped: skipped.get(r.run_id) ?? (r.skipped ? (JSON.parse(r.skipped) as RecordProblem[]) : []),
      error: r.error,
      cost: costs.get(r.run_id) ?? null,
      drift: drift.get(r.run_id) ?? null,
    };
  });
}

/** A run with nothing in it: the columns of an empty run list. */
export const EMPTY_RUN: RunSummary = {
  runId: '',
  command: '',
  version: null,
  target: null,
  targetName: null,
  sources: null,
  fullRefresh: false,
  startedAt: '',
  endedAt: null,
  seconds: null,
  outcome: 'running',
  steps: [],
  skippedRecords: 0,
  skipped: [],
  error: null,
  cost: null,
  drift: null,
};

/** One line per run, as `history` and the report page show it: what an on-call engineer reads first. */
export function runRow(r: RunSummary): Record<string, string | number | null> {
  return {
    run_id: r.runId,
    command: r.command,
    started_utc: r.startedAt.replace('T', ' ').replace(/\.\d+Z$/, ''),
    seconds: r.seconds === null ? null : r.seconds.toFixed(1),
    outcome: r.outcome,
    rows: r.steps.map((s) => `${s.table} ${s.rows}`).join(', '),
    skipped: r.skippedRecords,
    // A multi-line error (a list of problems) on one line.
    error:
      r.error === null
        ? null
        : r.error.replace(/:?\s*\n\s*-?\s*/g, (m) => (m.startsWith(':') ? ': ' : '; ')).slice(0, 160),
  };
}
