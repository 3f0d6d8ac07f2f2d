/**
 * One lock for every command that writes to the warehouse (migrate, load), so
 * two runs never interleave. Redshift has no advisory locks, so both engines
 * use the same mechanism: LOCK TABLE on a one-purpose table, held by an open
 * transaction on a connection of its own until the run ends (or dies, which
 * releases it). A second run waits, saying so, until the first finishes.
 */
import type { Connection } from './connection.ts';
import type { Database } from './database.ts';
import { LockedError } from '../errors.ts';
import type { Logger } from '../log.ts';

export const LOCK_TABLE = 'sparkify_lock';

export const LOCK_STATEMENTS = {
  create: `CREATE TABLE IF NOT EXISTS ${LOCK_TABLE} (holder VARCHAR(256))`,
  begin: 'BEGIN',
  lock: `LOCK TABLE ${LOCK_TABLE}`,
  release: 'COMMIT',
} as const;

async function createLockTable(client: Connection): Promise<void> {
  try {
    await client.query(LOCK_STATEMENTS.create);
  } catch (err) {
    // Two first runs racing to create it on PostgreSQL: the other one won, which is fine.
    const code = (err as { code?: string }).code;
    if (code !== '23505' && code !== '42P07') throw err;
  }
}

/** Handed to the locked work: tells whether the lock's connection is still alive. */
export interface HeldLock {
  /** Throws when the lock's connection died (the database released the lock). */
  assertHeld(): void;
}

export async function withWarehouseLock<T>(db: Database, purpose: string, log: Logger, fn: (lock: HeldLock) => Promise<T>): Promise<T> {
  const client = await db.connect();
  let lost: Error | undefined;
  client.onLost((err) => (lost ??= err));
  const lock: HeldLock = {
    assertHeld() {
      if (lost) throw new LockedError(`Lost the warehouse lock (${lost.message}): stopping so that no other run interleaves with this one; run it again`);
    },
  };
  try {
    await createLockTable(client);
    await client.query(LOCK_STATEMENTS.begin);
    const started = Date.now();
    let said = 0;
    const timer = setInterval(() => {
      const waited = Math.round((Date.now() - started) / 1000);
      if (said === 0 || waited - said >= 10) {
        said = waited;
        log.info(`Waiting for the warehouse lock (${waited}s): another migrate or load is running on ${db.description}…`);
      }
    }, 1000);
    try {
      await client.query(LOCK_STATEMENTS.lock);
    } finally {
      clearInterval(timer);
    }
    log.debug(`Holding the warehouse lock for ${purpose}.`);
    return await fn(lock);
  } finally {
    await client.query(LOCK_STATEMENTS.release).catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}
