/**
 * Everything that differs between Amazon Redshift and PostgreSQL lives behind
 * this interface (lib/dialect/redshift/, lib/dialect/postgres/): the SQL each
 * engine needs. How each engine stages the JSON is the staging layer's
 * (lib/stage/, one engine → strategy switch in lib/stage/index.ts); this
 * folder imports nothing from it. Migrations, loaders, the load runner and
 * the checks never branch on the engine themselves.
 */
import type { Distribution, TableDef } from './table-def.ts';

export type DialectName = 'redshift' | 'postgres';

/** A work table of a transform step, made from a query and dropped by the step (lib/load/upsert.ts). */
export interface WorkTableDef {
  readonly name: string;
  readonly select: string;
  /** Redshift: where its rows live, so that the joins that read it need no redistribution. */
  readonly distribution: Distribution;
  /** Read by PostgreSQL's parallel workers, which cannot read another session's temporary tables. */
  readonly parallelRead?: boolean;
}

export interface Dialect {
  readonly name: DialectName;
  /** What `select version()` answers on this engine (used by dry runs, which have no server). */
  readonly sampleVersion: string;
  /** Statements that create a table with its physical options. */
  createTable(def: TableDef): string[];
  /**
   * CREATE TABLE … AS for a work table. PostgreSQL: TEMP unless parallel
   * workers read it. Redshift: always TEMP (no parallel-worker reason there),
   * with the given distribution (CREATE TABLE AS inherits none).
   */
  createTableAs(def: WorkTableDef): string;
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
   * Whole calendar days (UTC) from one TIMESTAMP expression's day to another's,
   * an INTEGER (Redshift has DATEDIFF(day, …), PostgreSQL subtracts DATEs).
   */
  daysBetween(from: string, to: string): string;
  /**
   * Empties a staging table. PostgreSQL: inside the load's transaction, so a
   * failure restores it. Redshift: TRUNCATE, which commits the transaction it
   * runs in, so Redshift staging runs it on its own before its transaction
   * (lib/stage/redshift/staging.ts, emptyStatements: no ghost rows).
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
   * Statements that give an existing scratch table (its rows are rebuilt by
   * every load) a new physical design (distribution, sort key): Redshift
   * drops and creates it again (transactional, unlike some ALTER TABLE
   * forms); PostgreSQL has no physical design to change (none).
   */
  redesignScratchTable(def: TableDef): string[];
  /**
   * An informational primary key on a MERGE target's join columns, or its
   * removal (`drop`): Redshift does not enforce it but its planner uses it
   * (https://docs.aws.amazon.com/redshift/latest/dg/c_best-practices-defining-constraints.html);
   * PostgreSQL: none (its index on the same columns serves the MERGE).
   */
  informationalPrimaryKey(table: string, columns: readonly string[], drop: boolean): string[];
  /**
   * The unique index that makes the engine refuse a second row with the same
   * surrogate key (songplays.songplay_id), or its removal (`drop`):
   * PostgreSQL's unique index; Redshift enforces no key (none): there the load
   * checks the key itself (enforcesUniqueKeys).
   */
  uniqueKeyIndex(table: string, column: string, drop: boolean): string[];
  /** Whether the engine refuses a duplicate of a key its uniqueKeyIndex declares (PostgreSQL: yes; Redshift: no). */
  readonly enforcesUniqueKeys: boolean;
  /** Whether CREATE TABLE AS analyzes the new table itself (Redshift: yes, so no ANALYZE follows it). */
  readonly analyzesCreateTableAs: boolean;
  /**
   * What a transform into an empty star table runs first, inside its
   * transaction: PostgreSQL locks and truncates it (still empty once locked),
   * so that under wal_level=minimal (the embedded server) its rows skip the
   * WAL and are flushed once at commit. Redshift: nothing (its TRUNCATE
   * commits the transaction).
   */
  emptyTargetBeforeFirstLoad(table: string): { readonly lock: string; readonly truncate: string } | undefined;
  /** Engine-specific errors worth retrying (beyond lib/db/retry.ts's SQLSTATEs and network errors). */
  isTransient(err: { readonly code?: unknown; readonly message?: unknown }): boolean;
  /**
   * Settings for the session that holds the warehouse lock (lib/db/lock.ts), which
   * stays idle in its transaction for the whole run: PostgreSQL would end it
   * after idle_in_transaction_session_timeout (if an administrator set one) and
   * so release the lock mid-run. Redshift has no such setting for a session.
   */
  readonly lockSessionSettings: readonly string[];
  /**
   * The RPU-seconds Redshift Serverless charged between $1 and $2 (TIMESTAMP
   * text, UTC), as one row `charged` (and `intervals`, the usage rows read);
   * undefined where the engine has no such record (PostgreSQL).
   */
  chargedRpuSecondsSql(): string | undefined;
}
