/**
 * A stand-in for a Redshift cluster, which cannot run here: a connection that
 * records every statement and answers the few the load reads back. It checks
 * the order and text of what the tool sends, never SQL results.
 */
import type { Connection } from '../../lib/db/connection.ts';
import type { Database } from '../../lib/db/database.ts';
import { dialectByName } from '../../lib/dialect/index.ts';

export interface FakeRedshift {
  readonly db: Database;
  /** Every statement sent, in order, across connections. */
  readonly statements: string[];
}

export function fakeRedshift(options: { failCopyOf?: string; loadErrors?: Record<string, unknown>[]; serverless?: boolean; ledger?: Record<string, unknown>[]; outOfRange?: Record<string, unknown>; nullColumns?: readonly string[] } = {}): FakeRedshift {
  const statements: string[] = [];
  const client: Connection = {
    async query<R extends object>(text: string): Promise<{ rows: R[] }> {
      return { rows: answer(text) as R[] };
    },
    async script() {
      throw new Error('not used by the load');
    },
    // Redshift takes no COPY FROM STDIN.
    copyFromStdin: undefined,
    backendPid: undefined,
    onLost() {},
    explain: (err) => err,
    async end() {},
  };
  function answer(text: string): Record<string, unknown>[] {
    statements.push(text);
    if (options.failCopyOf && text.startsWith(`COPY ${options.failCopyOf}`)) {
      throw Object.assign(new Error("Load into table 'staging_events' failed. Check 'stl_load_errors' system table for details."), { code: 'XX000' });
    }
    if (/FROM stl_load_errors/.test(text)) {
      if (options.serverless) throw new Error('relation "stl_load_errors" does not exist');
      return options.loadErrors ?? [];
    }
    if (/FROM sys_load_error_detail/.test(text)) return options.loadErrors ?? [];
    if (/PG_LAST_COPY_COUNT/.test(text)) return [{ n: '42' }];
    if (/AS out_of_range/.test(text)) return [options.outOfRange ?? { out_of_range: '0', lowest: null, highest: null }];
    if (/^SELECT object_uri, object_size, object_version FROM load_ledger/.test(text)) return options.ledger ?? [];
    // lib/load/stage-checks.ts: each column's non-NULL count (0 for options.nullColumns).
    if (/ AS c0\b/.test(text)) {
      const counts: Record<string, string> = { n: '7' };
      for (const m of text.matchAll(/COUNT\((\w+)\) AS (c\d+)/g)) counts[m[2] as string] = options.nullColumns?.includes(m[1] as string) ? '0' : '7';
      return [counts];
    }
    if (/COUNT\(\*\)/.test(text)) return [{ n: '7' }];
    return [];
  }
  const db: Database = {
    dialect: dialectByName('redshift'),
    description: 'fake-redshift:5439/dev',
    schema: 'public',
    connect: async () => client,
    close: async () => undefined,
  };
  return { db, statements };
}
