/**
 * A ranking declared once and rendered twice: as the ORDER BY of the
 * ROW_NUMBER that picks the winner among a batch's rows, and as the condition
 * "the stored row ranks before the batch's row" that drops a batch row from
 * the upsert (its `prune`). A later run then decides a tie with a row loaded
 * before exactly as one full load of both runs' files decides it (issue 26,
 * point 10). Every term sorts NULLs last, in both renderings, on both engines
 * (Redshift has no IS NOT DISTINCT FROM, hence the spelled-out NULL tests).
 */

export interface RankTerm {
  /** The column in the target table and in its batch. */
  readonly column: string;
  /** The same value in the step's source rows (for example `e.item_in_session`); default: the column. */
  readonly source?: string;
  /** Larger values first (default: smaller first). NULLs are last either way. */
  readonly descending?: boolean;
  /**
   * The term over a stored or batch row whose table has no such column, computed from the columns it has
   * (for example a flag for a missing location); default `${alias}.${column}`.
   */
  readonly stored?: (alias: string) => string;
  /** Never NULL (a flag computed by CASE): compared without the NULL tests. */
  readonly notNull?: boolean;
}

const valueOf = (t: RankTerm, alias: string) => (t.stored ? t.stored(alias) : `${alias}.${t.column}`);

/** The ORDER BY list over the source rows: `e.item_in_session DESC NULLS LAST, …`. */
export function rankOrderBy(terms: readonly RankTerm[]): string {
  return terms
    .map((t) => `${t.source ?? t.column}${t.descending ? ' DESC' : ''}${t.notNull ? '' : ' NULLS LAST'}`)
    .join(', ');
}

/** `a.column` sorts before `b.column` on this term (a value before NULL). */
const before = (t: RankTerm, a: string, b: string) => {
  const x = valueOf(t, a);
  const y = valueOf(t, b);
  if (t.notNull) return `${x} ${t.descending ? '>' : '<'} ${y}`;
  return `(${x} IS NOT NULL AND ${y} IS NULL) OR ${x} ${t.descending ? '>' : '<'} ${y}`;
};

const same = (t: RankTerm, a: string, b: string) => {
  const x = valueOf(t, a);
  const y = valueOf(t, b);
  if (t.notNull) return `${x} = ${y}`;
  return `(${x} = ${y} OR (${x} IS NULL AND ${y} IS NULL))`;
};

/**
 * The row of table `a` ranks strictly before the row of table `b`: before on
 * the first term, or the same on it and before on the second, and so on (one
 * line per term, flat rather than nested, so the rendered SQL reads as a list).
 */
export function ranksBefore(terms: readonly RankTerm[], a: string, b: string): string {
  if (terms.length === 0) return 'FALSE';
  const alternatives = terms.map((t, i) =>
    [...terms.slice(0, i).map((earlier) => same(earlier, a, b)), `(${before(t, a, b)})`].join(' AND '),
  );
  return `(
        ${alternatives.map((x) => `(${x})`).join('\n        OR ')}
    )`;
}
