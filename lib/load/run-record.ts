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

/** Skipped records kept in a run's row (all of them are counted). */
export const SKIPPED_KEPT = 20;
/** The columns' sizes in bytes (Redshift counts VARCHAR in bytes: https://docs.aws.amazon.com/redshift/latest/dg/r_Character_types.html). */
const JSON_BYTES = 65535;
const ERROR_BYTES = 4096;

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

/** Cuts text to at most `bytes` UTF-8 bytes, on a character boundary, the ellipsis that marks the cut included (3 bytes). */
function fitBytes(text: string, bytes: number): string {
  if (Buffer.byteLength(text) <= bytes) return text;
  let cut = text.slice(0, bytes);
  while (Buffer.byteLength(cut) > bytes - Buffer.byteLength(ELLIPSIS)) cut = cut.slice(0, -1);
  return `${cut}${ELLIPSIS}`;
}

/** A JSON array of as many of `items` as fit in the column. */
function jsonFitting(items: readonly unknown[]): string {
  let kept = items.length;
  let text = JSON.stringify(items);
  while (Buffer.byteLength(text) > JSON_BYTES && kept > 0) {
    kept = Math.floor(kept / 2);
    text = JSON.stringify(items.slice(0, kept));
  }
  return text;
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
      fitBytes(run.command, 1024),
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
      await conn.query(`UPDATE ${RUNS_TABLE} SET ended_at = $2, outcome = $3, steps = $4, skipped_records = $5, skipped = $6, error = $7 WHERE run_id = $1`, [
        run.runId,
        run.endedAt ? timestampText(run.endedAt) : null,
        s.outcome,
        jsonFitting(s.steps),
        s.skippedRecords,
        jsonFitting(s.skipped),
        s.error === null ? null : fitBytes(s.error, ERROR_BYTES),
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

export async function readRuns(conn: Connection, limit: number): Promise<RunSummary[] | undefined> {
  if (!(await tableExists(conn, RUNS_TABLE))) return undefined;
  const { rows } = await conn.query<RunRow>(lastRunsSql(limit));
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
      skipped: r.skipped ? (JSON.parse(r.skipped) as RecordProblem[]) : [],
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
