/**
 * The one place that maps an engine to its staging strategy (loaded on
 * demand: the Redshift path pulls in the AWS SDK, the PostgreSQL path the
 * JSON converter).
 */
import type { DialectName } from '../dialect/dialect.ts';
import type { StagingStrategy } from './strategy.ts';

export async function stagingFor(engine: DialectName): Promise<StagingStrategy> {
  switch (engine) {
    case 'redshift':
      return (await import('./redshift/staging.ts')).redshiftStaging;
    case 'postgres':
      return (await import('./postgres/staging.ts')).postgresStaging;
    default: {
      const never: never = engine;
      throw new Error(`no staging strategy for ${String(never)}`);
    }
  }
}
