/**
 * A staging step (loaders/stage-events.ts, loaders/stage-songs.ts): which
 * staging table it fills from which source setting and JSON mapping, and what
 * a step reports once it ran (staging and transform steps alike).
 */
import type { Sources } from '../config/config.ts';

export interface StagingStep {
  /** The staging table (also its --only name). */
  readonly table: string;
  /** The loader file that declares it (loaderFile(import.meta.url)): errors name it. */
  readonly file: string;
  readonly description: string;
  /** The COPY column list, in the order of the JSONPaths file. */
  readonly columns: readonly string[];
  /** The source setting: s3://bucket/prefix or a local path. */
  source(sources: Sources): string;
  /** The JSON mapping setting: a JSONPaths file, 'auto' or 'auto ignorecase'. */
  format(sources: Sources): string;
  /** The names of those settings, for messages (LOG_DATA, LOG_JSONPATH); no format setting: fixed. */
  readonly settings: { readonly source: string; readonly format?: string };
  /** Columns of epoch milliseconds that the transforms convert to TIMESTAMP: a value outside lib/stage/epoch-ms.ts's range is a bad record. */
  readonly epochMsColumns?: readonly string[];
  /**
   * The VARCHAR columns (as the migrations define them): their trailing
   * blanks are dropped when staging, on both engines (Redshift ignores them in
   * comparisons, PostgreSQL does not; lib/dialect/redshift/trailing-blanks.ts).
   */
  readonly varcharColumns?: readonly string[];
  /** The columns the transforms filter, join and group on: their statistics are updated after staging (Redshift; default: every column). */
  readonly predicateColumns?: readonly string[];
}

/** What one step did. */
export interface StepReport {
  readonly step: string;
  readonly table: string;
  /** Rows in the table after the step. */
  readonly rows: number;
  readonly seconds: number;
  readonly detail?: string | undefined;
}

/** `loaders/<name>.ts` for a loader module's import.meta.url (compiled or not): the file a step's errors name. */
export function loaderFile(moduleUrl: string): string {
  const name = moduleUrl.slice(moduleUrl.lastIndexOf('/') + 1).replace(/\.js$/, '.ts');
  return `loaders/${name}`;
}
