/**
 * Checks around a staging step that hold on every engine:
 * - before anything is replaced, the objects under the step's source setting,
 *   named in every message; none is an error unless --allow-empty (an empty
 *   folder would otherwise empty the staging table and load nothing, silently);
 * - after its COPY, in the staging transaction, a mapped column that is NULL
 *   in every staged row (a JSONPaths path or an 'auto' key that matched no
 *   field: Redshift's COPY loads NULL without complaint) is a warning, or,
 *   under --strict, a bad input that rolls the staging back.
 */
import type { Connection } from '../db/connection.ts';
import { InputError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { printable } from '../printable.ts';
import { describeColumnMapping, type JsonMapping } from '../sources/json-mapping.ts';
import type { SourceObjects, SourceReader } from '../sources/source-objects.ts';
import type { Config } from '../config/config.ts';
import type { StagingStep } from './step.ts';

export interface StageCheckOptions {
  readonly config: Config;
  readonly log: Logger;
  /** An empty source loads an empty staging table instead of failing. */
  readonly allowEmpty: boolean;
  /** A mapped column NULL in every staged row fails the stage instead of warning. */
  readonly strict: boolean;
}

/** The objects under the step's source; problems name the setting. */
export async function listSource(
  reader: SourceReader,
  step: StagingStep,
  opts: Pick<StageCheckOptions, 'config' | 'allowEmpty'>,
): Promise<SourceObjects> {
  const source = step.source(opts.config.sources);
  let objects: SourceObjects;
  try {
    objects = await reader.list(source);
  } catch (err) {
    if (err instanceof InputError) throw new InputError(`${step.settings.source}: ${err.message}`, err.problems);
    throw err;
  }
  if (objects.length === 0 && !opts.allowEmpty) {
    throw new InputError(
      `${step.settings.source}: no objects under ${printable(source)}; a load would empty ${step.table} (check the setting, or pass --allow-empty to load an empty source)`,
    );
  }
  return objects;
}

/** Two checks of one step (its source and its mapping file) run together: both input problems are reported, not only the first. */
export async function bothChecked<A, B>(a: Promise<A>, b: Promise<B>): Promise<[A, B]> {
  const [ra, rb] = await Promise.allSettled([a, b]);
  const failed = [ra, rb].flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  const other = failed.find((err) => !(err instanceof InputError));
  if (other !== undefined) throw other;
  const problems = failed as InputError[];
  if (problems.length === 1) throw problems[0];
  if (problems.length > 1)
    throw new InputError(
      problems.map((p) => p.message).join('\n'),
      problems.flatMap((p) => p.problems),
    );
  return [(ra as PromiseFulfilledResult<A>).value, (rb as PromiseFulfilledResult<B>).value];
}

/** Runs `fn` for every step and throws every input problem at once, in step order. */
export async function forEachStep<T>(
  steps: readonly StagingStep[],
  fn: (step: StagingStep) => Promise<T>,
): Promise<T[]> {
  const out: T[] = [];
  const problems: InputError[] = [];
  for (const step of steps) {
    try {
      out.push(await fn(step));
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      problems.push(err);
    }
  }
  if (problems.length === 1) throw problems[0];
  if (problems.length > 1)
    throw new InputError(
      problems.map((p) => p.message).join('\n'),
      problems.flatMap((p) => p.problems),
    );
  return out;
}

/** The SELECT that counts each column's non-NULL values (portable: COUNT(column) counts non-NULL values on both engines, https://docs.aws.amazon.com/redshift/latest/dg/r_COUNT.html). */
export function nullColumnsQuery(step: StagingStep): string {
  return `SELECT COUNT(*) AS n, ${step.columns.map((c, i) => `COUNT(${c}) AS c${i}`).join(', ')} FROM ${step.table}`;
}

/**
 * The same question when the row count is known (PostgreSQL staging counts
 * the rows it streams into the table it has just emptied): does each column
 * hold a non-NULL value? Each EXISTS stops at the first one, so a table scan
 * happens only for a column that is NULL everywhere (the case warned about:
 * a JSONPaths file that matches nothing costs a scan per column). Far
 * cheaper than the COUNT scan on many staged events (figures in
 * docs/performance.md, "Figures behind choices in the code").
 */
export function nonNullColumnsQuery(step: StagingStep): string {
  return `SELECT ${step.columns.map((c, i) => `EXISTS (SELECT 1 FROM ${step.table} WHERE ${c} IS NOT NULL) AS c${i}`).join(', ')}`;
}

/** The indexes of the step's columns that are NULL in every staged row, and the row count. */
async function emptyColumns(
  conn: Connection,
  step: StagingStep,
  stagedRows: number | undefined,
): Promise<{ n: number; empty: number[] }> {
  if (stagedRows !== undefined) {
    if (stagedRows === 0) return { n: 0, empty: [] };
    const { rows } = await conn.query<Record<string, boolean>>(nonNullColumnsQuery(step));
    const found = rows[0] ?? {};
    return { n: stagedRows, empty: step.columns.flatMap((_, i) => (found[`c${i}`] === true ? [] : [i])) };
  }
  const { rows } = await conn.query<Record<string, string | number>>(nullColumnsQuery(step));
  const counts = rows[0] ?? {};
  return {
    n: Number(counts['n'] ?? 0),
    empty: step.columns.flatMap((_, i) => (Number(counts[`c${i}`] ?? 0) === 0 ? [i] : [])),
  };
}

/**
 * Warns (or, strict, fails) for each mapped column that is NULL in every
 * staged row. `stagedRows`: the rows the COPY loaded, when the engine said.
 */
export async function checkMappedColumns(
  conn: Connection,
  step: StagingStep,
  opts: StageCheckOptions,
  mapping?: JsonMapping,
  stagedRows?: number,
): Promise<void> {
  const { n, empty } = await emptyColumns(conn, step, stagedRows);
  if (n === 0 || empty.length === 0) return;
  const format = step.format(opts.config.sources);
  const setting = step.settings.format ? ` (${step.settings.format})` : '';
  const lines = empty.map(
    (i) =>
      `${step.table}.${step.columns[i] ?? ''} is NULL in all ${n} staged rows: ${describeColumnMapping(format, step.columns, i, mapping)}${setting} matched no field`,
  );
  if (opts.strict)
    throw new InputError(`${lines.join('\n')}\n--strict: the staging was rolled back; fix the mapping or the data`);
  for (const line of lines) opts.log.warn(`${line} (--strict makes this an error)`);
}
