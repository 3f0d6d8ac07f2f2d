/**
 * What a load is asked to do: the same options for a run (runner.ts) and for
 * its script (plan.ts).
 */
import type { Config } from '../config/config.ts';
import { MAX_ERRORS } from '../config/max-errors.ts';
import type { CredentialsResolver, StageProgress, StagingContext } from '../stage/strategy.ts';
import { noFaults, type FaultPoints } from '../fault-points.ts';
import type { Logger } from '../log.ts';
import type { SourceReader } from '../sources/source-objects.ts';
import type { LoadRun } from './run-record.ts';
import type { Pipeline } from './steps.ts';

export interface LoadOptions {
  readonly config: Config;
  readonly log: Logger;
  /** The steps (loaders/index.ts). */
  readonly pipeline: Pipeline;
  /** Subset of steps: 'stage', 'transform' or table names. Default: everything. */
  readonly only?: readonly string[] | undefined;
  /** Bad records skipped per staging table before the load fails (Redshift MAXERROR). */
  readonly maxErrors?: number | undefined;
  readonly onProgress?: ((p: StageProgress) => void) | undefined;
  /** Source reader (tests may pass their own); default: local files and S3. */
  readonly reader?: SourceReader | undefined;
  /** Stage only objects the ledger does not list as loaded (same size and ETag/mtime). */
  readonly incremental?: boolean | undefined;
  /** Redshift: compact many small objects into a few gzip chunks (true), never (false), or by the rule (undefined). */
  readonly compact?: boolean | undefined;
  /** A source with no objects loads an empty staging table (default: an error naming the setting). */
  readonly allowEmpty?: boolean | undefined;
  /** A mapped column NULL in every staged row, a new key or a changed type fails the stage (default: a warning). */
  readonly strict?: boolean | undefined;
  /** A mapped key absent from more than this share of the records is reported (default: DEFAULT_DRIFT_THRESHOLD). */
  readonly driftThreshold?: number | undefined;
  /** AWS credentials for Redshift COPY when no IAM role is set; default: the SDK's default chain. */
  readonly credentials?: CredentialsResolver | undefined;
  /** Where the reliability tests stop the run (the CLI builds them from the environment); default: none. */
  readonly faults?: FaultPoints | undefined;
  /** Aborted on SIGINT/SIGTERM (lib/interrupt.ts): running statements are cancelled, nothing more commits. */
  readonly signal?: AbortSignal | undefined;
  /**
   * Told when the warehouse lock is lost mid-run: the command line then
   * exits within STOP_TIMEOUT_SECONDS even when a statement never answers.
   */
  readonly onLockLost?: (() => void) | undefined;
  /**
   * Empty the star tables and the ledger before the transforms (once the
   * staging has read every source without a problem), under the same lock:
   * what is loaded then comes only from these sources.
   */
  readonly fullRefresh?: boolean | undefined;
  /**
   * Rebuild the star tables and the ledger from what the sources hold now, in
   * one transaction after staging (lib/load/runner.ts replaceStarTables): rows of
   * deleted or corrected source files go. Needs every step (no --only, no --incremental).
   */
  readonly replace?: boolean | undefined;
  /** Each transform as it starts and as it commits (the command line prints one line each, as dbt does); default: a log line at the start. */
  readonly onStep?: ((e: StepEvent) => void) | undefined;
  /** This run's record (load_runs), filled in as it runs; default: a new one for `load`. */
  readonly run?: LoadRun | undefined;
}

/** A transform starting or committed: its place in the run's transforms, and once it ended its rows and seconds. */
export interface StepEvent {
  readonly phase: 'start' | 'end';
  readonly step: string;
  readonly description: string;
  readonly position: number;
  readonly total: number;
  readonly rows?: number;
  readonly seconds?: number;
}

/** What the staging strategy is told of a load (a run adds its guard's checks). */
export function stagingContext(
  opts: LoadOptions,
  runId: string,
  guard: Pick<StagingContext, 'beforeCommit' | 'assertRunning'> = {},
): StagingContext {
  return {
    config: opts.config,
    log: opts.log,
    faults: opts.faults ?? noFaults,
    maxErrors: opts.maxErrors ?? MAX_ERRORS.default,
    incremental: opts.incremental ?? false,
    compact: opts.compact,
    allowEmpty: opts.allowEmpty ?? false,
    strict: opts.strict ?? false,
    driftThreshold: opts.driftThreshold,
    runId,
    reader: opts.reader,
    onProgress: opts.onProgress,
    credentials: opts.credentials,
    signal: opts.signal,
    ...guard,
  };
}
