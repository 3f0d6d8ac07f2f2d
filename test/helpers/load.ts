/**
 * Loads fixtures into a fresh, migrated test database in-process (faster than
 * the CLI for rule tests).
 */
import { pipeline } from '../../loaders/index.ts';
import { loadConfig } from '../../lib/config/config.ts';
import { openDatabase } from '../../lib/db/database.ts';
import { runLoad, type LoadReport } from '../../lib/load/runner.ts';
import { silentLogger } from '../../lib/log.ts';
import { migrate } from '../../lib/migrate/migrate.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { event, song, writeFixture } from './fixtures.ts';
import type { Owner } from './temp-dir.ts';
import { checksums } from './warehouse.ts';

export async function migratedDatabase(): Promise<TestDatabase> {
  const tdb = await createTestDatabase();
  const db = await tdb.open();
  try {
    await migrate(db, { direction: 'up', log: silentLogger });
  } finally {
    await db.close();
  }
  return tdb;
}

export async function load(
  tdb: TestDatabase,
  env: Record<string, string>,
  // allowEmpty (default true): rule tests load fixtures with no logs or no songs; stage-checks.test.ts tests the default.
  options: { only?: string[]; maxErrors?: number; url?: string; allowEmpty?: boolean } = {},
): Promise<LoadReport> {
  const config = loadConfig({ DATABASE_URL: options.url ?? tdb.url, ...env });
  const db = await openDatabase(config, silentLogger);
  try {
    return await runLoad(db, {
      config,
      log: silentLogger,
      pipeline,
      only: options.only,
      maxErrors: options.maxErrors ?? 0,
      allowEmpty: options.allowEmpty ?? true,
    });
  } finally {
    await db.close();
  }
}

/** A migrated database loaded with two good events and one song, and its checksums: what a bad load must leave unchanged. */
export async function loadedBaseline(owner: Owner): Promise<{ tdb: TestDatabase; baseline: Record<string, string> }> {
  const tdb = await migratedDatabase();
  const good = await writeFixture(owner, {
    logs: { 'good.json': [event({ ts: 1541000000000 }), event({ ts: 1541000001000 })] },
    songs: { 'A/1.json': song() },
  });
  await load(tdb, good.env);
  return { tdb, baseline: await checksums(tdb) };
}
