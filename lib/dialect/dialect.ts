/**
 * Everything that differs between Amazon Redshift and PostgreSQL lives behind
 * this interface (lib/dialect/redshift.ts, lib/dialect/postgres.ts). Migrations,
 * loaders and checks never branch on the engine themselves.
 */
import type { TableDef } from './table-def.ts';

export type DialectName = 'redshift' | 'postgres';

export interface Dialect {
  readonly name: DialectName;
  /** What `select version()` answers on this engine (used by dry runs, which have no server). */
  readonly sampleVersion: string;
  /** Statements that create a table with its physical options. */
  createTable(def: TableDef): string[];
  /** Statements that drop a table. */
  dropTable(name: string): string[];
  /**
   * node-pg-migrate's own bookkeeping SQL, made valid for this engine
   * (Redshift has no SERIAL and runs NOW() on the leader node only).
   */
  rewriteMigrationSql(sql: string): string;
  /** The current time in a write statement (Redshift: NOW() is leader-node-only). */
  currentTimestamp(): string;
  /** Whole minutes between two TIMESTAMP expressions (Redshift has DATEDIFF, PostgreSQL interval arithmetic). */
  minutesBetween(from: string, to: string): string;
  /**
   * Empties a table inside the load's transaction, so a failure restores it.
   * Redshift's TRUNCATE commits the transaction, so there it is a DELETE.
   */
  clearTable(table: string): string;
  /**
   * Statements that make a table a scratch table (its rows are rebuilt by
   * every load) or an ordinary one again. PostgreSQL: UNLOGGED (no WAL, no
   * fsync at commit, emptied after a crash). Redshift: none (its BACKUP NO
   * can only be given when a table is created).
   */
  scratchTable(table: string, scratch: boolean): string[];
  /**
   * Whether rows written into a table truncated in the same transaction skip
   * the WAL (PostgreSQL with wal_level=minimal, as the embedded server runs):
   * a transform into an empty star table then truncates it first (nothing to
   * lose) and its rows are flushed once at commit instead of logged one by
   * one. Redshift: false (its TRUNCATE commits the transaction).
   */
  readonly truncateSkipsWal: boolean;
  /** PostgreSQL takes COPY … FROM STDIN from the client; Redshift does not. */
  readonly copyFromStdin: boolean;
  /** Redshift's COPY can read S3 itself; PostgreSQL's staging is done by this tool. */
  readonly copiesFromS3: boolean;
  /**
   * Settings for the session that holds the warehouse lock (lib/lock.ts), which
   * stays idle in its transaction for the whole run: PostgreSQL would end it
   * after idle_in_transaction_session_timeout (if an administrator set one) and
   * so release the lock mid-run. Redshift has no such setting for a session.
   */
  readonly lockSessionSettings: readonly string[];
}
