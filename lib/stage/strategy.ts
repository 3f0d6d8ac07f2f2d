/**
 * The staging seam: how each engine fills the staging tables from the JSON
 * sources, in one transaction (all replaced or none). Each strategy builds a
 * StagePlan (lib/stage/plan.ts), a value: the dry run prints it and a run
 * executes the same plan. Redshift: one COPY per source, read by Redshift
 * itself from S3 (lib/stage/redshift/staging.ts). PostgreSQL: this tool reads
 * the objects and streams rows into COPY FROM STDIN
 * (lib/stage/postgres/staging.ts). The objects a run loaded are written to
 * the load ledger by lib/stage/ledger.ts.
 */
import type { Config } from '../config/config.ts';
import type { Connection } from '../db/connection.ts';
import type { RecordProblem } from '../errors.ts';
import type { FaultPoints } from '../fault-points.ts';
import type { LedgerFiles, StagePlan } from './plan.ts';
import type { StagingStep, StepReport } from './step.ts';
import type { Logger } from '../log.ts';
import type { SourceObjects, SourceReader } from '../sources/source-objects.ts';
import type { DriftReport } from '../sources/drift.ts';

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
export type CredentialsResolver = () => Promise<{
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
}>;

export interface StagingContext {
  readonly config: Config;
  readonly log: Logger;
  readonly faults: FaultPoints;
  /** Bad records skipped and listed per staging table before the load fails. */
  readonly maxErrors: number;
  /** Stage only objects the ledger does not list as loaded. */
  readonly incremental: boolean;
  /** Redshift: compact many small objects into chunks (true), never (false), or when the rule says (undefined; lib/stage/redshift/compaction.ts). */
  readonly compact?: boolean | undefined;
  /** A source with no objects loads an empty staging table instead of failing (lib/stage/checks.ts). */
  readonly allowEmpty: boolean;
  /** A mapped column NULL in every staged row, a new key or a changed type fails the stage instead of warning. */
  readonly strict: boolean;
  /** A mapped key absent from more than this share of records is reported (default: DEFAULT_DRIFT_THRESHOLD). */
  readonly driftThreshold?: number | undefined;
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
  /** The run's interrupt (a first SIGINT/SIGTERM): aborts the S3 requests in flight at once. */
  readonly signal?: AbortSignal | undefined;
}

/** The objects a run staged into one staging table. */
export interface StagedObjects {
  readonly table: string;
  readonly objects: SourceObjects;
  /** The mapping they were staged with (lib/stage/ledger.ts, mappingFingerprint). */
  readonly mapping: string;
}

export interface Staged {
  /** One report per staging table; none when an incremental load found nothing new. */
  readonly reports: readonly StepReport[];
  /** What was staged, for the ledger (empty when the objects were not listed). */
  readonly objects: readonly StagedObjects[];
  /** Bad records skipped under --max-errors. */
  readonly skipped: readonly RecordProblem[];
  /** Schema drift per staging table (lib/stage/drift.ts); absent when nothing was staged. */
  readonly drift?: readonly DriftReport[];
  /** Where the ledger's object list is written for its COPY (Redshift with a stage or manifest prefix). */
  readonly ledgerFiles?: LedgerFiles | undefined;
}

export interface StagingStrategy {
  /**
   * The plan of a stage as a dry run shows it: no connection, nothing read
   * (placeholders where a run lists objects or resolves credentials).
   */
  plan(steps: readonly StagingStep[], ctx: StagingContext): Promise<StagePlan>;
  /** Replaces the steps' staging tables in one transaction on `conn`, executing the plan built from what it listed. */
  stage(conn: Connection, steps: readonly StagingStep[], ctx: StagingContext): Promise<Staged>;
}
