/**
 * The epoch milliseconds that the transforms can convert to a TIMESTAMP
 * (loaders/songplays.ts and loaders/time.ts: `ts` becomes `start_time`), on
 * both engines; a staging step names its epoch-millisecond columns
 * (StagingStep.epochMsColumns).
 * A value outside the range would stage as a valid BIGINT and then fail the
 * songplays step with "timestamp out of range" after other star tables had
 * changed, so it is refused where it enters: a bad record at staging.
 *
 * The range is what both engines hold: Redshift's TIMESTAMP is "4713 BC to
 * 294276 AD" (Amazon Redshift Database Developer Guide, Datetime types:
 * https://docs.aws.amazon.com/redshift/latest/dg/r_Datetime_types.html), and
 * so is PostgreSQL's. The low end is taken as 1 January 4713 BC (ISO year
 * -4712), the latest reading of "4713 BC", so that either engine converts it.
 * The high end is the largest integer a JavaScript number holds exactly
 * (the BIGINT limit of PostgreSQL staging, copy-row.ts), 9007199254740991 ms
 * = year 287396 AD: inside the range, and small enough that the conversion's
 * interval ((ts / 1000) seconds, in microseconds) cannot overflow 64 bits.
 */

/** The smallest and largest epoch milliseconds accepted (both included). */
export const EPOCH_MS_RANGE: readonly [number, number] = [Date.UTC(-4712, 0, 1), Number.MAX_SAFE_INTEGER];
