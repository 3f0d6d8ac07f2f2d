/**
 * `--max-errors N`: the bad records skipped (and listed) per staging table
 * before the load fails, on both engines. Its one definition: the command
 * line's default and range, and the check the Redshift COPY renderer makes
 * before writing MAXERROR (lib/dialect/redshift/copy.ts).
 *
 * The top of the range is Redshift's largest MAXERROR, 100000 (Amazon
 * Redshift Database Developer Guide, Data load operations, MAXERROR:
 * https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-data-load.html).
 * N bad records become MAXERROR N+1, capped there.
 */
export const MAX_ERRORS = {
  default: 0,
  min: 0,
  /** Redshift's largest MAXERROR. */
  max: 100000,
} as const;

/** What is wrong with a --max-errors value, or undefined when it is in range. */
export function checkMaxErrors(n: unknown): string | undefined {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < MAX_ERRORS.min || n > MAX_ERRORS.max) {
    return `--max-errors takes a whole number from ${MAX_ERRORS.min} to ${MAX_ERRORS.max}, got ${String(n)}`;
  }
  return undefined;
}
