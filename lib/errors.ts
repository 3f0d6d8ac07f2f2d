/**
 * Error classes. Each maps to an exit code at the CLI boundary (scripts/commands/common.ts),
 * so a user's script can tell bad usage/configuration from a failed run.
 */
import { printable } from './printable.ts';
import { refusalWhy } from './refusals.ts';

/** Exit codes of every command. */
export const EXIT = {
  ok: 0,
  /**
   * Unexpected failure: a database error, a crash, a bug; and a transport or
   * service fault (a reset or cut connection, a timeout, S3 503 SlowDown, a
   * store or server that does not answer): running again may succeed.
   */
  failure: 1,
  /** Bad usage or configuration: fix the command line or the settings. */
  usage: 2,
  /** Bad input data: a source file that cannot be loaded as it is. */
  input: 3,
  /** A data-quality check failed (npm run verify). */
  check: 4,
  /** Another run holds the warehouse lock. */
  locked: 5,
} as const;

export class WarehouseError extends Error {
  readonly exitCode: number = EXIT.failure;
  override name = 'WarehouseError';
}

/** A setting is missing or malformed. Lists every problem at once. */
export class ConfigError extends WarehouseError {
  override readonly exitCode: number = EXIT.usage;
  override name = 'ConfigError';
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(
      problems.length === 1
        ? `Configuration problem: ${problems[0]}`
        : `Configuration problems:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.problems = problems;
  }
}

/** Something only one engine can do was asked of the other. */
export class UnsupportedError extends WarehouseError {
  override readonly exitCode: number = EXIT.usage;
  override name = 'UnsupportedError';
}

/** One bad record: where it is and what is wrong with it. */
export interface RecordProblem {
  readonly file: string;
  /** 1-based line where the record ends (Redshift reports the same for JSON). */
  readonly line: number;
  /** The column or JSON field at fault, when one is. */
  readonly field?: string | undefined;
  readonly reason: string;
  readonly value?: string | undefined;
}

/** `file:line, field F: reason (value: V)`, the one way a bad record is written in messages: control characters escaped. */
export function describeProblem(p: RecordProblem, options: { readonly value?: boolean } = {}): string {
  const field = p.field === undefined ? '' : `, field ${printable(p.field)}`;
  const value = p.value === undefined || options.value === false ? '' : ` (value: ${printable(truncate(p.value, 80))})`;
  return `${printable(p.file)}:${p.line}${field}: ${printable(p.reason)}${value}`;
}

function truncate(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n)}…`;
}

/** Input data that cannot be loaded. Nothing was changed in the warehouse. */
export class InputError extends WarehouseError {
  override readonly exitCode: number = EXIT.input;
  override name = 'InputError';
  readonly problems: readonly RecordProblem[];
  constructor(message: string, problems: readonly RecordProblem[] = []) {
    super(message);
    this.problems = problems;
  }
  static fromProblem(p: RecordProblem): InputError {
    return new InputError(describeProblem(p), [p]);
  }
}

/**
 * The network or a service failed, not the data: a connection reset or cut, a
 * timeout, an S3 5xx (503 SlowDown), an object that changed while it was read.
 * Exit 1, never 3: a wrapper may retry the run.
 */
export class TransportError extends WarehouseError {
  override name = 'TransportError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Another migrate or load holds the warehouse lock. */
export class LockedError extends WarehouseError {
  override readonly exitCode: number = EXIT.locked;
  override name = 'LockedError';
}

/** A data-quality check failed. */
export class CheckFailedError extends WarehouseError {
  override readonly exitCode: number = EXIT.check;
  override name = 'CheckFailedError';
}

/** The run was stopped by a signal (SIGINT, SIGTERM, or its parent ending): exit 128 + the signal's number. */
export class InterruptedError extends WarehouseError {
  override readonly exitCode: number;
  override name = 'InterruptedError';
  constructor(message: string, exitCode: number) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** Where a statement came from: the step that ran it and the file that declares it. */
export interface StatementOrigin {
  /** `transform songplays`, `stage staging_events`, `migration 20261122000700000_create-songplays`. */
  readonly step: string;
  /** The repository file that holds the statement (loaders/songplays.ts, migrations/….ts), when one does. */
  readonly file?: string | undefined;
  readonly statement: string;
}

/** How many lines of the statement an SqlError's message shows. */
const STATEMENT_LINES = 6;

/**
 * A statement the server refused: the step, its file, the statement's first
 * lines, and the server's own message, SQLSTATE and position. The server's
 * error stays its `cause` (lib/db/retry.ts looks through to it: a transient
 * cause is still retried).
 */
export class SqlError extends WarehouseError {
  override name = 'SqlError';
  readonly step: string;
  readonly file: string | undefined;
  readonly statement: string;
  readonly serverMessage: string;
  readonly sqlstate: string | undefined;
  /** 1-based character of the statement where the server saw the error, when it said. */
  readonly position: number | undefined;
  readonly detail: string | undefined;
  readonly hint: string | undefined;
  /** What to change when the server refused for a reason outside the statement (lib/refusals.ts). */
  readonly why: string | undefined;

  constructor(origin: StatementOrigin, cause: Error) {
    const e = cause as Error & { code?: unknown; position?: unknown; detail?: unknown; hint?: unknown };
    const sqlstate = typeof e.code === 'string' ? e.code : undefined;
    const position =
      e.position === undefined || e.position === null || e.position === '' ? undefined : Number(e.position);
    const lines = origin.statement.trim().split('\n');
    const shown = lines.slice(0, STATEMENT_LINES).map((l) => `    ${l}`);
    if (lines.length > STATEMENT_LINES) shown.push(`    … (${lines.length - STATEMENT_LINES} more lines)`);
    const where = origin.file ? ` (${origin.file})` : '';
    const code = sqlstate
      ? ` [SQLSTATE ${sqlstate}${position !== undefined && Number.isFinite(position) ? `, at character ${position}` : ''}]`
      : '';
    // A refusal for a reason outside the statement (a timeout, a read-only session, a privilege) says what to change.
    const why = refusalWhy(sqlstate, cause.message, origin.statement);
    super(
      `${origin.step}${where} failed: ${cause.message}${code}${why ? `\n  why: ${why}` : ''}\n  statement:\n${shown.join('\n')}`,
      { cause },
    );
    this.why = why;
    this.step = origin.step;
    this.file = origin.file;
    this.statement = origin.statement;
    this.serverMessage = cause.message;
    this.sqlstate = sqlstate;
    this.position = position !== undefined && Number.isFinite(position) ? position : undefined;
    this.detail = typeof e.detail === 'string' ? e.detail : undefined;
    this.hint = typeof e.hint === 'string' ? e.hint : undefined;
  }

  /**
   * `err` as an SqlError when the server refused the statement (a SQLSTATE,
   * or a Data API statement that FAILED); anything else unchanged: the tool's
   * own errors, and a lost connection, which is not the statement's fault.
   */
  static wrap(origin: StatementOrigin, err: unknown): unknown {
    if (!(err instanceof Error) || err instanceof WarehouseError) return err;
    const code = (err as { code?: unknown }).code;
    const refused = (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) || err.name === 'DataApiStatementError';
    return refused ? new SqlError(origin, err) : err;
  }
}

/** Runs a statement and names its origin if the server refuses it. */
export async function naming<T>(origin: StatementOrigin, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw SqlError.wrap(origin, err);
  }
}
