/**
 * On Redshift, COPY itself loads `ts` into the BIGINT column: the tool never
 * sees the values, so the range check of PostgreSQL staging (copy-row.ts)
 * cannot run there. Instead, in the staging transaction right after the COPY,
 * a query counts the staged rows whose ts the transforms could not convert to
 * a TIMESTAMP (Redshift's TIMESTAMP holds 4713 BC to 294276 AD: Amazon
 * Redshift Database Developer Guide, Datetime types,
 * https://docs.aws.amazon.com/redshift/latest/dg/r_Datetime_types.html; the
 * bounds are lib/stage/epoch-ms.ts's, the same on both engines).
 * Any such row fails the staging transaction with exit 3, so no star table
 * changes; under --max-errors up to that many are deleted from staging and
 * counted as skipped. Redshift keeps no file or line for a staged row, so the
 * message names the table, the column and the values instead.
 */
import { EPOCH_MS_RANGE } from '../epoch-ms.ts';
import type { StagingStep } from '../step.ts';

export interface EpochMsCheck {
  readonly table: string;
  readonly column: string;
  /** Counts the rows out of range: out_of_range, lowest, highest. */
  readonly count: string;
  /** Deletes them (under --max-errors). */
  readonly remove: string;
}

/** The checks for one staging table's epoch-millisecond columns (none for most tables). */
export function epochMsChecks(step: StagingStep): EpochMsCheck[] {
  const [lo, hi] = EPOCH_MS_RANGE;
  const table = step.table;
  return (step.epochMsColumns ?? []).map((column) => {
    const outside = `${column} < ${lo} OR ${column} > ${hi}`;
    return {
      table,
      column,
      count: `SELECT COUNT(${column}) AS out_of_range, MIN(${column}) AS lowest, MAX(${column}) AS highest\nFROM ${table}\nWHERE ${outside}`,
      remove: `DELETE FROM ${table}\nWHERE ${outside}`,
    };
  });
}

/** The message for rows out of range, or undefined when there are none. */
export function describeOutOfRange(
  check: EpochMsCheck,
  row: { out_of_range?: unknown; lowest?: unknown; highest?: unknown } | undefined,
): string | undefined {
  const n = Number(row?.out_of_range ?? 0);
  if (!(n > 0)) return undefined;
  const [lo, hi] = EPOCH_MS_RANGE;
  return `${check.table}.${check.column}: ${n} staged row(s) hold a ${check.column} that is not a TIMESTAMP the warehouse can hold (lowest ${String(row?.lowest)}, highest ${String(row?.highest)}; accepted: ${lo} to ${hi} epoch milliseconds)`;
}
