/**
 * A stand-in for a Redshift cluster, which cannot run here: a client that
 * records every statement and answers the few the load reads back. It checks
 * the order and text of what the tool sends, never SQL results.
 */
import type pg from 'pg';
import type { Database } from '../../lib/db.ts';
import { dialectByName } from '../../lib/dialect/index.ts';

export interface FakeRedshift {
  readonly db: Database;
  /** Every statement sent, in order, across connections. */
  readonly statements: string[];
}

export function fakeRedshift(options: { failCopyOf?: string; loadErrors?: Record<string, unknown>[]; serverless?: boolean; ledger?: Record<string, unknown>[]; outOfRange?: Record<string, unknown> } = {}): FakeRedshift {
  const statements: string[] = [];
  const client = {
    async query(text: string) {
      statements.push(text);
      if (options.failCopyOf && text.startsWith(`COPY ${options.failCopyOf}`)) {
        throw Object.assign(new Error("Load into table 'staging_events' failed. Check 'stl_load_errors' system table for details."), { code: 'XX000' });
      }
      if (/FROM stl_load_errors/.test(text)) {
        if (options.serverless) throw new Error('relation "stl_load_errors" does not exist');
        return { rows: options.loadErrors ?? [] };
      }
      if (/FROM sys_load_error_detail/.test(text)) return { rows: options.loadErrors ?? [] };
      if (/PG_LAST_COPY_COUNT/.test(text)) return { rows: [{ n: '42' }] };
      if (/AS out_of_range/.test(text)) return { rows: [options.outOfRange ?? { out_of_range: '0', lowest: null, highest: null }] };
      if (/^SELECT object_uri, object_size, object_version FROM load_ledger/.test(text)) return { rows: options.ledger ?? [] };
      if (/COUNT\(\*\)/.test(text)) return { rows: [{ n: '7' }] };
      if (/information_schema\.columns/.test(text)) return { rows: [] };
      return { rows: [] };
    },
    async end() {},
    on() {
      return client;
    },
  };
  const db: Database = {
    dialect: dialectByName('redshift'),
    description: 'fake-redshift:5439/dev',
    connection: {},
    connect: async () => client as unknown as pg.Client,
    close: async () => undefined,
  };
  return { db, statements };
}
