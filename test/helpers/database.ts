/**
 * A fresh database per test file on the test server (TEST_DATABASE_URL, set by
 * test/support/run-tests.ts or by you), dropped when the file's tests end.
 */
import pg from 'pg';
import { loadConfig, type Config } from '../../lib/config/config.ts';
import { openDatabase, type Database } from '../../lib/db/database.ts';
import { TYPE_PARSERS } from '../../lib/db/wire-connection.ts';
import { silentLogger } from '../../lib/log.ts';
import { createScratchDatabase } from '../support/scratch-database.ts';

export interface TestDatabase {
  readonly url: string;
  readonly name: string;
  /** Config pointing at this database (plus any extra settings). */
  config(extra?: Record<string, string>): Config;
  open(extra?: Record<string, string>): Promise<Database>;
  /** Runs one query on a fresh connection. */
  query<T extends pg.QueryResultRow = Record<string, unknown>>(sql: string, values?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

export function testServerUrl(): string {
  const url = process.env['TEST_DATABASE_URL'];
  if (!url)
    throw new Error('TEST_DATABASE_URL is not set: run the tests with `npm test` (it starts an embedded PostgreSQL)');
  return url;
}

/** Runs one query on a fresh connection to `url` (the tool's type parsers: timestamps as text). */
export async function queryOnce<T extends pg.QueryResultRow = Record<string, unknown>>(
  url: string,
  sql: string,
  values?: unknown[],
): Promise<T[]> {
  const c = new pg.Client({ connectionString: url, types: TYPE_PARSERS });
  await c.connect();
  try {
    return (await c.query<T>(sql, values)).rows;
  } finally {
    await c.end();
  }
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const { name, url, drop } = await createScratchDatabase(testServerUrl(), 'sw_test');
  const config = (extra: Record<string, string> = {}) => loadConfig({ DATABASE_URL: url, ...extra });
  return {
    url,
    name,
    config,
    open: (extra) => openDatabase(config(extra), silentLogger),
    query: (sql, values) => queryOnce(url, sql, values),
    drop,
  };
}
