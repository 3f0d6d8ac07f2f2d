/**
 * The staging seam: how each engine fills the staging tables from the JSON
 * sources, in one transaction (all replaced or none), how that is shown in a
 * dry run, and how the objects it loaded are written to the load ledger.
 * Redshift: one COPY per source, read by Redshift itself from S3
 * (lib/dialect/redshift/staging.ts). PostgreSQL: this tool reads the objects
 * and streams rows into COPY FROM STDIN (lib/dialect/postgres/staging.ts).
 */
import type { Config } from '../config/config.ts';
import type { Connection } from '../db/connection.ts';
import type { RecordProblem } from '../errors.ts';
import type { FaultPoints } from '../fault-points.ts';
import type { LedgerRow } from '../load/ledger.ts';
import type { StagingStep, StepReport } from '../load/steps.ts';
import type { Logger } from '../log.ts';
import type { SourceObject, SourceReader } from '../sources/source-objects.ts';

export interface StageProgress {
  readonly table: string;
  readonly objectsDone: number;
  readonly objectsTotal: number;
  readonly rows: number;
  readonly bytes: number;
  /** The table's last report: every row is in (rows counted before are behind the conversion's buffer). */
  readonly done?: boolean;
}

/** AWS credentials for Redshift COPY when no IAM role is set. */
export type CredentialsResolver = () => Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken?: string | undefined }>;

export interface StagingContext {
  readonly config: Config;
  readonly log: Logger;
  readonly faults: FaultPoints;
  /** Bad records skipped and listed per staging table before the load fails. */
  readonly maxErrors: number;
  /** Stage only objects the ledger does not list as loaded. */
  readonly incremental: boolean;
  /** A source with no objects loads an empty staging table instead of failing (lib/load/stage-checks.ts). */
  readonly allowEmpty: boolean;
  /** A mapped column NULL in every staged row fails the stage instead of warning. */
  readonly strict: boolean;
  /** This run's id (ledger rows, manifest names). */
  readonly runId: string;
  /** Source reader (tests may pass their own); default: local files and S3. */
  readonly reader?: SourceReader | undefined;
  readonly onProgress?: ((p: StageProgress) => void) | undefined;
  /** Default: the AWS SDK's default credential chain. */
  readonly credentials?: CredentialsResolver | undefined;
  /** Asked before the staging transaction commits; throws to refuse (the warehouse lock lost, a signal). */
  readonly beforeCommit?: (() => Promise<void>) | undefined;
  /** Throws when the run must stop (known without a round trip). */
  readonly assertRunning?: (() => void) | undefined;
}

/** The objects a run staged into one staging table. */
export interface StagedObjects {
  readonly table: string;
  readonly objects: readonly SourceObject[];
}

export interface Staged {
  /** One report per staging table; none when an incremental load found nothing new. */
  readonly reports: readonly StepReport[];
  /** What was staged, for the ledger (empty when the objects were not listed). */
  readonly objects: readonly StagedObjects[];
  /** Bad records skipped under --max-errors. */
  readonly skipped: readonly RecordProblem[];
}

export interface StagingStrategy {
  /** Replaces the steps' staging tables in one transaction on `conn`. */
  stage(conn: Connection, steps: readonly StagingStep[], ctx: StagingContext): Promise<Staged>;
  /** The dry run's lines for each step, after the step's header and its clearTable statement. */
  plan(steps: readonly StagingStep[], ctx: StagingContext): Promise<string[][]>;
  /** Inserts ledger rows (inside the caller's transaction). */
  insertLedgerRows(conn: Connection, rows: readonly LedgerRow[]): Promise<void>;
}
