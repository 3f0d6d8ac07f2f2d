/**
 * The shape of a staging step (one module per staging table in loaders/):
 * which source setting fills which table, with which JSON mapping.
 */
import type { Sources } from '../config/config.ts';

export interface StagingStep {
  /** The staging table (also its --only name). */
  readonly table: string;
  readonly description: string;
  /** The COPY column list, in the order of the JSONPaths file. */
  readonly columns: readonly string[];
  /** The source setting: s3://bucket/prefix or a local path. */
  source(sources: Sources): string;
  /** The JSON mapping setting: a JSONPaths file, 'auto' or 'auto ignorecase'. */
  format(sources: Sources): string;
}
