/**
 * Picks the dialect: from `select version()` on a live connection, or by name
 * for a dry run without one. The only place that maps an engine to its module.
 */
import type { Dialect, DialectName } from './dialect.ts';
import { postgresDialect } from './postgres/dialect.ts';
import { redshiftDialect } from './redshift/dialect.ts';

export type { Dialect, DialectName } from './dialect.ts';

export const DIALECT_NAMES: readonly DialectName[] = ['redshift', 'postgres'];

export function dialectByName(name: DialectName): Dialect {
  switch (name) {
    case 'redshift':
      return redshiftDialect;
    case 'postgres':
      return postgresDialect;
    default: {
      const never: never = name;
      throw new Error(`unknown dialect ${String(never)}`);
    }
  }
}

/** Redshift answers `select version()` with "… Redshift 1.0.NNNNN". */
export function dialectFromVersion(version: string): Dialect {
  return /Redshift/i.test(version) ? redshiftDialect : postgresDialect;
}

interface Queryable {
  query(sql: string): Promise<{ rows: unknown[] }>;
}

export async function detectDialect(client: Queryable): Promise<Dialect> {
  const { rows } = await client.query('select version() as version');
  const version = String((rows[0] as { version?: unknown } | undefined)?.version ?? '');
  return dialectFromVersion(version);
}
