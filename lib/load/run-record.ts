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
import type { Connection } from '../db/connection.ts';
import { tableExists } from '../db/schema.ts';
import type { Database } from '../db/database.ts';
import { InterruptedError, type RecordProblem } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { StepReport } from './steps.ts';

export const RUNS_TABLE = 'load_runs';
/** The skipped records of each run, one row each (migration 20261207000200000). */
export const SKIPPED_TABLE = 'load_run_skipped';

export type RunOutcome = 'running' | 'succeeded' | 'failed' | 'interrupted';

/** One run as `history --format json` and `load --format json` print it. */
export interface RunSummary {
  readonly runId: string;
  /** The command line's words after the program name: `load --incremental`, `start`. */
  readonly command: string;
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
}

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
 * The steps' JSON is kept well under its column (65535) so that a whole
 * load_runs row (command, steps, error: at most 21.5 KB) stays under the Data
 * API's 64 KB per result row
 * (https://docs.aws.amazon.com/redshift/latest/mgmt/data-api-troubleshooting.html).
 */
export const COLUMN_BYTES = {
  command: 1024,
  steps: 16384,
  error: 4096,
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

  /** `redact` masks the run's secrets in the command line and the error kept (the record is read by others). */
  constructor(
    command: string,
    private readonly redact: (text: string) => string = (text) => text,
  ) {
    this.runId = newRunId(this.startedAt);
    this.command = redact(command);
  }

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
      startedAt: this.startedAt.toISOString(),
      endedAt: this.endedAt?.toISOString() ?? null,
      seconds: this.endedAt ? (this.endedAt.getTime() - this.startedAt.getTime()) / 1000 : null,
      outcome: this.outcome,
      steps: this.steps.map((s) => ({ step: s.step, table: s.table, rows: s.rows, seconds: Number(s.seconds.toFixed(3)), detail: s.detail ?? null })),
      skippedRecords: this.skipped.length,
      skipped: this.skipped.slice(0, SKIPPED_KEPT),
      error: this.error ?? null,
    };
  }
}

/**
 * Records the run's start (on the load's own connection, once it holds the
 * warehouse lock); false when it is not recorded. The record never fails the
 * load: a warehouse migrated before load_runs existed, or a write that fails,
 * is a warning.
 */
export async function recordRunStart(conn: Connection, run: LoadRun, log: Logger): Promise<boolean> {
  try {
    if (!(await tableExists(conn, RUNS_TABLE))) {
      log.warn(`This run is not recorded: the warehouse has no ${RUNS_TABLE} table yet (run \`sparkify-warehouse migrate up\`).`);
      return false;
    }
    await conn.query(`INSERT INTO ${RUNS_TABLE} (run_id, command, started_at, outcome, skipped_records) VALUES ($1, $2, $3, $4, 0)`, [
      run.runId,
      fitBytes(run.command, COLUMN_BYTES.command),
      timestampText(run.startedAt),
      run.outcome,
    ]);
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
          await conn.query(`INSERT INTO ${SKIPPED_TABLE} (run_id, seq, file, line, field, value, reason) VALUES ($1, $2, $3, $4, $5, $6, $7)`, [
            run.runId,
            i + 1,
            p.file,
            p.line,
            p.field ?? null,
            p.value ?? null,
            p.reason,
          ]);
        }
      }
      await conn.query(`UPDATE ${RUNS_TABLE} SET ended_at = $2, outcome = $3, steps = $4, skipped_records = $5, error = $6 WHERE run_id = $1`, [
        run.runId,
        run.endedAt ? timestampText(run.endedAt) : null,
        s.outcome,
        jsonFitting(s.steps, COLUMN_BYTES.steps),
        s.skippedRecords,
        s.error === null ? null : fitBytes(s.error, COLUMN_BYTES.error),
      ]);
    } finally {
      await conn.end().catch(() => undefined);
    }
  } catch (err) {
    log.warn(`Could not complete this run's record in ${RUNS_TABLE} (it stays 'running'): ${(err as Error).message}`);
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
}

/** The latest `limit` runs, newest first; undefined when the warehouse has no load_runs table. */
export function lastRunsSql(limit: number): string {
  if (!Number.isInteger(limit) || limit < 1) throw new Error(`runs to show: a whole number of 1 or more, got ${limit}`);
  return `SELECT run_id, command, CAST(started_at AS VARCHAR(32)) AS started_at, CAST(ended_at AS VARCHAR(32)) AS ended_at,
    outcome, steps, skipped_records, skipped, error
FROM ${RUNS_TABLE}
ORDER BY started_at DESC, run_id DESC
LIMIT ${limit}`;
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
    list.push({ file: r.file, line: Number(r.line), ...(r.field === null ? {} : { field: r.field }), ...(r.value === null ? {} : { value: r.value }), reason: r.reason });
    out.set(r.run_id, list);
  }
  return out;
}

export async function readRuns(conn: Connection, limit: number): Promise<RunSummary[] | undefined> {
  if (!(await tableExists(conn, RUNS_TABLE))) return undefined;
  const { rows } = await conn.query<RunRow>(lastRunsSql(limit));
  const skipped = await skippedOfRuns(
    conn,
    rows.map((r) => r.run_id),
  );
  return rows.map((r) => {
    const startedAt = isoFromTimestampText(r.started_at) ?? '';
    const endedAt = isoFromTimestampText(r.ended_at);
    return {
      runId: r.run_id,
      command: r.command,
      startedAt,
      endedAt,
      seconds: endedAt ? (Date.parse(endedAt) - Date.parse(startedAt)) / 1000 : null,
      outcome: r.outcome as RunOutcome,
      steps: r.steps ? (JSON.parse(r.steps) as StepSummary[]) : [],
      skippedRecords: Number(r.skipped_records ?? 0),
      // Runs recorded before load_run_skipped kept them in load_runs.skipped.
      skipped: skipped.get(r.run_id) ?? (r.skipped ? (JSON.parse(r.skipped) as RecordProblem[]) : []),
      error: r.error,
    };
  });
}

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
    error: r.error === null ? null : r.error.replace(/:?\s*\n\s*-?\s*/g, (m) => (m.startsWith(':') ? ': ' : '; ')).slice(0, 160),
  };
}
