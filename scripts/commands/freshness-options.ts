/**
 * --warn-after and --error-after, the freshness thresholds of `sources
 * --freshness` and of the report page (lib/report/freshness.ts).
 */
import type { Argv } from 'yargs';
import { parseDuration, type FreshnessThresholds } from '../../lib/report/freshness.ts';

export interface FreshnessArgs {
  warnAfter?: string;
  errorAfter?: string;
}

export function freshnessOptions<T>(y: Argv<T>): Argv<T & FreshnessArgs> {
  return y
    .option('warn-after', {
      type: 'string',
      describe: 'freshness: newest LOG_DATA object or loaded play older than this warns (30m, 12h, 3d, 1w)',
    })
    .option('error-after', {
      type: 'string',
      describe: 'freshness: older than this is an error (exit 4 for sources --freshness)',
    }) as unknown as Argv<T & FreshnessArgs>;
}

/** The thresholds given (a malformed duration is a usage error naming its flag). */
export function thresholdsOf(args: FreshnessArgs): FreshnessThresholds {
  return {
    warnAfter: args.warnAfter === undefined ? undefined : parseDuration('--warn-after', args.warnAfter),
    errorAfter: args.errorAfter === undefined ? undefined : parseDuration('--error-after', args.errorAfter),
  };
}
