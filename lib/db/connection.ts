/**
 * How statements reach the engine: the one interface every part of the tool
 * talks to (the load, migrations, checks, analytics). Today's transport is
 * PostgreSQL's wire protocol (lib/db/wire-connection.ts, for PostgreSQL and
 * Redshift alike); another transport (the Redshift Data API) implements the
 * same interface, without `copyFromStdin`, which only the wire protocol has.
 */
import type { Writable } from 'node:stream';

export interface QueryResult<R> {
  readonly rows: R[];
}

/** One statement's outcome in a script: its columns and rows, or its command tag. */
export interface StatementResult {
  readonly command: string;
  readonly columns: readonly string[];
  readonly rows: Record<string, unknown>[];
  readonly rowCount: number | null;
  /** Each column's SQL type (int8, numeric, timestamp, timestamptz, …) where the transport says it: `query --format json` types its values by it. */
  readonly types?: readonly string[];
}

export interface Connection {
  /** Runs one statement; `$1`-style parameters where the engine takes them. */
  query<R extends object = Record<string, unknown>>(sql: string, values?: readonly unknown[]): Promise<QueryResult<R>>;
  /** Runs a script of one or more statements (ad-hoc SQL), every statement's result in order. */
  script(sql: string): Promise<StatementResult[]>;
  /**
   * A stream into `COPY … FROM STDIN` (PostgreSQL's wire protocol only;
   * undefined on a transport without it). Ends when the stream finishes.
   */
  readonly copyFromStdin: ((sql: string) => Writable) | undefined;
  /** The server process serving this connection (to cancel its statement from another one), where the transport knows it. */
  readonly backendPid: number | undefined;
  /** Calls `listener` once when the connection is lost (terminated backend, dropped socket, closed). */
  onLost(listener: (err: Error) => void): void;
  /**
   * The error worth reporting for a failed statement: a query on a broken
   * connection fails with "not queryable"; the reason it broke came earlier.
   */
  explain(err: unknown): unknown;
  end(): Promise<void>;
}

/**
 * Runs `fn` in one transaction: COMMIT when it returns, ROLLBACK when it
 * throws. `beforeCommit` may refuse the COMMIT by throwing (the warehouse
 * lock lost, a signal): the work is then rolled back.
 */
export async function transaction<T>(
  conn: Connection,
  fn: () => Promise<T>,
  beforeCommit?: () => Promise<void>,
): Promise<T> {
  await conn.query('BEGIN');
  try {
    const result = await fn();
    await beforeCommit?.();
    await conn.query('COMMIT');
    return result;
  } catch (err) {
    await conn.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
