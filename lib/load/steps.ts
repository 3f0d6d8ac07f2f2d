/**
 * The shapes of the load's steps (one module per table in loaders/) and the
 * pipeline they form. Each step declares its table, its grain (key columns)
 * and what it depends on; the transform lanes, the `--only` choices, the
 * verify checks and the table lists are derived from these declarations
 * (definePipeline), never restated. Adding a star table is one migration, one
 * loader file and one line in loaders/index.ts.
 */
import type { Dialect } from '../dialect/dialect.ts';
import { ConfigError } from '../errors.ts';
import type { StagingStep } from '../stage/step.ts';

export { loaderFile, type StagingStep, type StepReport } from '../stage/step.ts';

/** A data-quality check: a portable query returning the offending rows (none: passed). */
export interface CheckSpec {
  readonly name: string;
  readonly description: string;
  readonly sql: string;
}

/** A column of the step's table that must name a row of another star table. */
export interface Reference {
  readonly column: string;
  readonly table: string;
  readonly targetColumn: string;
  /** NULL allowed (an unmatched song). */
  readonly nullable: boolean;
}

/**
 * Where a step's columns come from, as `table.column` names (a staging column
 * such as `staging_events.ts`, or a column of a star table the step depends
 * on): the column lineage (lib/lineage/column-lineage.ts) is derived from
 * these and the JSON mappings, never written separately.
 * test/lineage-declarations.test.ts checks them against the step's SQL: every
 * staging column the statements name is listed here, and everything listed
 * is named there.
 */
export interface ColumnSources {
  /** Each column the step writes (its surrogate key aside: generated) → the columns its value is computed from. */
  readonly columns: Readonly<Record<string, readonly string[]>>;
  /** Columns that pick, join, group or order the rows without their value being written (filters, join keys, tie-breaks). */
  readonly rows: readonly string[];
}

export interface TransformStep {
  /** The star table it fills (also its --only name). */
  readonly table: string;
  /** The loader file that declares it (loaderFile(import.meta.url)): errors name it. */
  readonly file: string;
  /** A fact table (one row per event) or a dimension (one row per thing described): the report's diagram and counts follow it. */
  readonly role: 'fact' | 'dimension';
  /** One line for plans and progress. */
  readonly description: string;
  /** The grain: one row per value of these columns (verify checks them unique and not NULL). */
  readonly key: readonly string[];
  /** A generated surrogate key beside the grain (unique and not NULL too). */
  readonly surrogateKey?: string;
  /** The star tables this step reads, filled before it (staging is always filled first). */
  readonly dependsOn: readonly string[];
  /**
   * Tables the step keeps between runs beside its own (what it recomputes its
   * table from, as user_levels keeps user_level_events): not star tables (no
   * checks, no --only), but emptied with the step's table by --replace and
   * --full-refresh, so a rebuild starts from the sources alone.
   */
  readonly keeps?: readonly string[];
  readonly references?: readonly Reference[];
  /** Checks specific to this table, beyond keys and references. */
  readonly checks?: readonly CheckSpec[];
  /** Where each column's value comes from (the column lineage). */
  readonly columnSources: ColumnSources;
  /** The statements, in order, run in one transaction; the same SQL on Redshift and PostgreSQL 15+ but where the dialect renders a part. */
  statements(dialect: Dialect): readonly string[];
  /** Queries run after the statements, in the same transaction: a row returned fails the step (rolled back). */
  assertions?(dialect: Dialect): readonly Assertion[];
}

/** A query that must return no row once a step's statements ran; `explain` turns the rows it returned into the error. */
export interface Assertion {
  readonly name: string;
  readonly sql: string;
  explain(rows: readonly Record<string, unknown>[]): string;
}

export interface Pipeline {
  readonly staging: readonly StagingStep[];
  /** In script order (--dry-run): every step after the steps it depends on. */
  readonly transforms: readonly TransformStep[];
  /** How `load` runs the transforms: the lanes at the same time, each on its own connection, each in order. */
  readonly lanes: readonly (readonly TransformStep[])[];
  /** Every table the load fills, staging first. */
  readonly tables: readonly string[];
  /** What `--only` accepts. */
  readonly onlyChoices: readonly string[];
}

/**
 * Two lanes: on the 2-core machines measured (docs/performance.md) a third
 * connection only made the lanes compete. The largest group of steps linked
 * by dependencies (songs → songplays, the heaviest) gets a lane of its own;
 * every other step runs in the second lane, in script order.
 */
const MAX_LANES = 2;

export function definePipeline(steps: {
  staging: readonly StagingStep[];
  transforms: readonly TransformStep[];
}): Pipeline {
  const { staging, transforms } = steps;
  const tables = [...staging, ...transforms].map((s) => s.table);
  const duplicate = tables.find((t, i) => tables.indexOf(t) !== i);
  if (duplicate) throw new Error(`pipeline: two steps fill ${duplicate}`);
  transforms.forEach((step, i) => {
    for (const dep of step.dependsOn) {
      const at = transforms.findIndex((s) => s.table === dep);
      if (at < 0) throw new Error(`pipeline: ${step.table} depends on ${dep}, which no transform step fills`);
      if (at > i) throw new Error(`pipeline: ${step.table} depends on ${dep}, which comes after it: list ${dep} first`);
    }
  });
  return Object.freeze({
    staging,
    transforms,
    lanes: deriveLanes(transforms),
    tables,
    onlyChoices: ['stage', 'transform', ...tables],
  });
}

/** Steps linked by dependencies share a lane (in script order). */
function deriveLanes(transforms: readonly TransformStep[]): TransformStep[][] {
  // Connected components of the dependency graph (a handful of steps: relabelling is simplest).
  const label = new Map<string, number>();
  transforms.forEach((step, i) => {
    label.set(step.table, i);
    for (const dep of step.dependsOn) {
      const old = label.get(dep);
      for (const [table, l] of label) if (l === old) label.set(table, i);
    }
  });
  const components = new Map<number, TransformStep[]>();
  for (const step of transforms) {
    const l = label.get(step.table) as number;
    components.set(l, [...(components.get(l) ?? []), step]);
  }
  const bySize = [...components.values()].sort((a, b) => b.length - a.length);
  const own = bySize.slice(0, MAX_LANES - 1);
  const rest = transforms.filter((step) => !own.some((lane) => lane.includes(step)));
  return [...own, ...(rest.length > 0 ? [rest] : [])];
}

/** The tables a rebuild empties, in the reverse of script order: each step's own, then what it keeps. */
export function emptiedTables(transforms: readonly TransformStep[]): string[] {
  return [...transforms].reverse().flatMap((t) => [t.table, ...(t.keeps ?? [])]);
}

/** The steps `--only` picks ('stage', 'transform' or table names); default: everything. */
export function selectSteps(
  pipeline: Pipeline,
  only: readonly string[] | undefined,
): { staging: StagingStep[]; transforms: TransformStep[] } {
  const wanted = new Set(only && only.length > 0 ? only : ['stage', 'transform']);
  for (const name of wanted) {
    if (!pipeline.onlyChoices.includes(name))
      throw new ConfigError([`--only: unknown step '${name}' (choose from ${pipeline.onlyChoices.join(', ')})`]);
  }
  return {
    staging: pipeline.staging.filter((s) => wanted.has('stage') || wanted.has(s.table)),
    transforms: pipeline.transforms.filter((s) => wanted.has('transform') || wanted.has(s.table)),
  };
}
