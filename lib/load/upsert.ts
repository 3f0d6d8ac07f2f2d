/**
 * The shape of a transform step (one module per star table in loaders/):
 * set-based SQL that runs in one transaction and can be re-run safely.
 */
export interface TransformStep {
  /** The star table it fills (also its --only name). */
  readonly table: string;
  /** One line for plans and progress. */
  readonly description: string;
  /** The statements, in order; portable between Redshift and PostgreSQL 15+. */
  readonly statements: readonly string[];
}

/** A star table, its deduplicated batch (a temporary table), the key and the columns written. */
export interface BatchSpec {
  readonly target: string;
  readonly batch: string;
  readonly key: readonly string[];
  readonly columns: readonly string[];
}

/**
 * The idempotent upsert used by every step: the batch (deduplicated, one row
 * per key) is MERGEd into the target, so a re-run updates rows in place and
 * never duplicates them. Redshift's MERGE needs a table as its source (not a
 * subquery), hence the temporary batch table.
 */
function mergeFromBatch(spec: BatchSpec): string {
  const { target, batch, key, columns } = spec;
  const on = key.map((k) => `${target}.${k} = ${batch}.${k}`).join('\n    AND ');
  const updates = columns.filter((c) => !key.includes(c));
  return [
    `MERGE INTO ${target}`,
    `USING ${batch}`,
    `ON ${on}`,
    ...(updates.length > 0 ? [`WHEN MATCHED THEN UPDATE SET\n    ${updates.map((c) => `${c} = ${batch}.${c}`).join(',\n    ')}`] : []),
    `WHEN NOT MATCHED THEN INSERT (${columns.join(', ')})`,
    `VALUES (${columns.map((c) => `${batch}.${c}`).join(', ')})`,
  ].join('\n');
}

/** `a` equals `b`, NULL equal to NULL (Redshift has no IS NOT DISTINCT FROM). */
const same = (a: string, b: string) => `(${a} = ${b} OR (${a} IS NULL AND ${b} IS NULL))`;

/**
 * Drops from the batch the rows the target already holds exactly, so a re-run
 * (or overlapping input) writes nothing at all instead of rewriting every row.
 */
function dropUnchanged(spec: BatchSpec): string {
  const { target, batch, key, columns } = spec;
  const conditions = [
    ...key.map((k) => `${target}.${k} = ${batch}.${k}`),
    ...columns.filter((c) => !key.includes(c)).map((c) => same(`${target}.${c}`, `${batch}.${c}`)),
  ];
  return `DELETE FROM ${batch}\nUSING ${target}\nWHERE ${conditions.join('\n    AND ')}`;
}

/**
 * How every step ends: the rows the target already holds exactly are dropped
 * from the batch, the batch is analyzed (every column, or only `analyze`'s),
 * MERGEd into the target and dropped.
 */
export function upsertBatch(spec: BatchSpec, analyze?: readonly string[]): string[] {
  return [
    dropUnchanged(spec),
    analyze ? `ANALYZE ${spec.batch} (${analyze.join(', ')})` : `ANALYZE ${spec.batch}`,
    mergeFromBatch(spec),
    `DROP TABLE ${spec.batch}`,
  ];
}
