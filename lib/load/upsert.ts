/**
 * The idempotent upsert every star table but `time` is filled with, as SQL:
 * a deduplicated batch (one row per key, in a temporary table) is compared
 * with the target, its unchanged rows dropped, and MERGEd, so a re-run
 * updates rows in place and never duplicates them (and writes nothing when
 * nothing changed). Redshift's MERGE needs a table as its source (not a
 * subquery), hence the batch table. The batch's whole life (and that of any
 * work table) is here: created, analyzed, merged, dropped.
 */
import type { TransformStep } from './steps.ts';

/** A table built before the batch, with statistics, and dropped at the end of the step. */
export interface WorkTable {
  readonly name: string;
  readonly select: string;
}

export interface UpsertSpec {
  readonly target: string;
  /** The grain: the MERGE's join columns. */
  readonly key: readonly string[];
  /** Every column written, key included, in the batch's column order. */
  readonly columns: readonly string[];
  /** One row per key: the batch's content. */
  readonly select: string;
  readonly workTables?: readonly WorkTable[];
  /** Statements on the batch before it is compared with the target (for example dropping stale rows). */
  readonly prune?: readonly string[];
  /** Columns whose statistics the MERGE needs (default: all). */
  readonly analyze?: readonly string[];
}

export const batchTable = (target: string) => `${target}_batch`;

function mergeFromBatch(spec: UpsertSpec, batch: string): string {
  const { target, key, columns } = spec;
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

/** Drops from the batch the rows the target already holds exactly. */
function dropUnchanged(spec: UpsertSpec, batch: string): string {
  const { target, key, columns } = spec;
  const conditions = [
    ...key.map((k) => `${target}.${k} = ${batch}.${k}`),
    ...columns.filter((c) => !key.includes(c)).map((c) => same(`${target}.${c}`, `${batch}.${c}`)),
  ];
  return `DELETE FROM ${batch}\nUSING ${target}\nWHERE ${conditions.join('\n    AND ')}`;
}

export function upsertStatements(spec: UpsertSpec): string[] {
  const batch = batchTable(spec.target);
  const work = spec.workTables ?? [];
  return [
    ...work.map((w) => `DROP TABLE IF EXISTS ${w.name}`),
    `DROP TABLE IF EXISTS ${batch}`,
    ...work.flatMap((w) => [`CREATE TABLE ${w.name} AS\n${w.select}`, `ANALYZE ${w.name}`]),
    `CREATE TEMP TABLE ${batch} AS\n${spec.select}`,
    ...(spec.prune ?? []),
    dropUnchanged(spec, batch),
    spec.analyze ? `ANALYZE ${batch} (${spec.analyze.join(', ')})` : `ANALYZE ${batch}`,
    mergeFromBatch(spec, batch),
    `DROP TABLE ${batch}`,
    ...work.map((w) => `DROP TABLE ${w.name}`),
  ];
}

/** A transform step that upserts its table: the step's grain is the upsert's key. */
export function upsertStep(
  step: Omit<TransformStep, 'statements' | 'key'> & Omit<UpsertSpec, 'target'>,
): TransformStep {
  const { workTables, prune, analyze, select, columns, ...declared } = step;
  return {
    ...declared,
    statements: upsertStatements({ target: step.table, key: step.key, columns, select, workTables, prune, analyze }),
  };
}
