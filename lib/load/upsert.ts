/**
 * The idempotent upsert every star table but `time` is filled with, as SQL:
 * a deduplicated batch (one row per key, in a temporary table) is compared
 * with the target, its unchanged rows dropped, and MERGEd, so a re-run
 * updates rows in place and never duplicates them (and writes nothing when
 * nothing changed). Redshift's MERGE needs a table as its source (not a
 * subquery), hence the batch table. The batch's whole life (and that of any
 * work table) is here: created, analyzed, merged, dropped. How the engine
 * creates them (temporary or not, Redshift's distribution) is the dialect's
 * (Dialect.createTableAs).
 */
import type { Dialect, WorkTableDef } from '../dialect/dialect.ts';
import type { Distribution } from '../dialect/table-def.ts';
import type { Assertion, TransformStep } from './steps.ts';

/** A table built before the batch, with statistics, and dropped at the end of the step. */
export type WorkTable = WorkTableDef;

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
  /**
   * The target's Redshift distribution, given to the batch table: "set the
   * staging table's distribution key to the same column as the target table's"
   * so the DELETE … USING and the MERGE join without redistribution (Amazon
   * Redshift Database Developer Guide, Create a staging table,
   * https://docs.aws.amazon.com/redshift/latest/dg/merge-create-staging-table.html).
   * CREATE TABLE AS does not inherit it. Default: chosen by Redshift.
   */
  readonly distribution?: Distribution;
}

export const batchTable = (target: string) => `${target}_batch`;

function mergeFromBatch(spec: UpsertSpec, batch: string): string {
  const { target, key, columns } = spec;
  const on = key.map((k) => `${target}.${k} = ${batch}.${k}`).join('\n    AND ');
  const updates = columns.filter((c) => !key.includes(c));
  // Redshift's MERGE grammar has a WHEN MATCHED clause in every form
  // (https://docs.aws.amazon.com/redshift/latest/dg/r_MERGE.html): with nothing
  // to update (a batch of key columns only), an INSERT of the keys not yet there.
  if (updates.length === 0) {
    return [
      `INSERT INTO ${target} (${columns.join(', ')})`,
      `SELECT ${columns.map((c) => `${batch}.${c}`).join(', ')}`,
      `FROM ${batch}`,
      `LEFT JOIN ${target}`,
      `    ON ${on}`,
      `WHERE ${target}.${key[0]} IS NULL`,
    ].join('\n');
  }
  return [
    `MERGE INTO ${target}`,
    `USING ${batch}`,
    `ON ${on}`,
    `WHEN MATCHED THEN UPDATE SET\n    ${updates.map((c) => `${c} = ${batch}.${c}`).join(',\n    ')}`,
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

export function upsertStatements(spec: UpsertSpec, dialect: Dialect): string[] {
  const batch = batchTable(spec.target);
  const work = spec.workTables ?? [];
  return [
    ...work.map((w) => `DROP TABLE IF EXISTS ${w.name}`),
    `DROP TABLE IF EXISTS ${batch}`,
    // A work table is read as it was created: analyzed by CTAS itself where the engine does so (Redshift).
    ...work.flatMap((w) => [dialect.createTableAs(w), ...(dialect.analyzesCreateTableAs ? [] : [`ANALYZE ${w.name}`])]),
    dialect.createTableAs({ name: batch, select: spec.select, distribution: spec.distribution ?? { style: 'auto' } }),
    ...(spec.prune ?? []),
    dropUnchanged(spec, batch),
    spec.analyze ? `ANALYZE ${batch} (${spec.analyze.join(', ')})` : `ANALYZE ${batch}`,
    mergeFromBatch(spec, batch),
    `DROP TABLE ${batch}`,
    ...work.map((w) => `DROP TABLE ${w.name}`),
  ];
}

/** How many repeated surrogate keys the error names. */
const REPEATED_SHOWN = 10;

/**
 * Where the engine enforces no unique key (Redshift, Dialect.enforcesUniqueKeys),
 * the surrogate key checked after the MERGE, in its transaction: rows written
 * by someone else with explicit ids (COPY … EXPLICIT_IDS,
 * https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-data-conversion.html#copy-explicit-ids)
 * can hold the values the IDENTITY column generates next. PostgreSQL's unique
 * index (migration 20261207110000000) refuses them at the insert itself.
 */
export function surrogateKeyAssertion(table: string, column: string): Assertion {
  return {
    name: `${table}.${column} unique`,
    sql: `SELECT ${column} AS id, COUNT(*) AS n\nFROM ${table}\nGROUP BY ${column}\nHAVING COUNT(*) > 1\nORDER BY ${column}\nLIMIT ${REPEATED_SHOWN}`,
    explain: (rows) =>
      `${table}.${column} would hold the same id twice (${rows.map((r) => `${String(r['id'])} ×${String(r['n'])}`).join(', ')}${rows.length >= REPEATED_SHOWN ? ', …' : ''}): ` +
      `rows written into ${table} by someone else with explicit ids hold the ids this load generated. Nothing was committed. ` +
      `Remove or renumber those rows (the rows this tool loads have ids its IDENTITY generated), then load again.`,
  };
}

/** A transform step that upserts its table: the step's grain is the upsert's key. */
export function upsertStep(
  step: Omit<TransformStep, 'statements' | 'key'> & Omit<UpsertSpec, 'target'>,
): TransformStep {
  const { workTables, prune, analyze, select, columns, distribution, ...declared } = step;
  const spec: UpsertSpec = {
    target: step.table,
    key: step.key,
    columns,
    select,
    workTables,
    prune,
    analyze,
    distribution,
  };
  const surrogate = step.surrogateKey;
  return {
    ...declared,
    statements: (dialect) => upsertStatements(spec, dialect),
    ...(surrogate
      ? {
          assertions: (dialect: Dialect) =>
            dialect.enforcesUniqueKeys ? [] : [surrogateKeyAssertion(step.table, surrogate)],
        }
      : {}),
  };
}
