/**
 * One lock for every command that writes to the warehouse (migrate, load), so
 * two runs never interleave. Redshift has no advisory locks, so both engines
 * use the same mechanism: LOCK TABLE on a one-purpose table, held by an open
 * transaction on a connection of its own until the run ends (or dies, which
 * releases it). A second run waits, saying so, until the first finishes.
 *
 * The lock lasts only as long as its session, so the session is protected and
 * watched: the engine's idle-in-transaction timeout is switched off for it
 * (Dialect.lockSessionSettings), a keep-alive query runs on it every few
 * seconds (idle-session timeouts, dropped NAT entries), and its 'error'/'end'
 * events mark the lock lost at once, as does a keep-alive query that gets no
 * answer within PG_KEEPALIVE_SECONDS (a stalled session, a black-holed
 * network). Work that commits asks `verify()` first.
 */
import type { Connection } from './connection.ts';
import type { Database } from './database.ts';
import { LockedError, naming, SqlError } from '../errors.ts';
import type { Logger } from '../log.ts';

export const LOCK_TABLE = 'sparkify_lock';

export const LOCK_STATEMENTS = {
  create: `CREATE TABLE IF NOT EXISTS ${LOCK_TABLE} (holder VARCHAR(256))`,
  begin: 'BEGIN',
  lock: `LOCK TABLE ${LOCK_TABLE}`,
  /** A round trip on the lock's session: it answers only while the session (and so the lock) lives. */
  check: 'SELECT 1 AS warehouse_lock_held',
  release: 'COMMIT',
} as const;

/** How often the keep-alive query runs on the lock's session. */
const KEEP_ALIVE_MS = 5_000;

/** What a refused statement of the lock is named by (SqlError): a read-only session or a missing privilege shows here first. */
const LOCK_STEP = 'taking the warehouse lock';

/** One statement that takes the lock, named as the lock's if the server refuses it. */
const lockStatement = (client: Connection, sql: string) =>
  naming({ step: LOCK_STEP, file: 'lib/db/lock.ts', statement: sql }, () => client.query(sql));

async function createLockTable(client: Connection): Promise<void> {
  try {
    await client.query(LOCK_STATEMENTS.create);
  } catch (err) {
    // Two first runs racing to create it on PostgreSQL: the other one won, which is fine.
    const code = (err as { code?: string }).code;
    if (code !== '23505' && code !== '42P07')
      throw SqlError.wrap({ step: LOCK_STEP, file: 'lib/db/lock.ts', statement: LOCK_STATEMENTS.create }, err);
  }
}

/** Handed to the locked work: tells whether the lock's session is still alive. */
export interface HeldLock {
  /** Throws a LockedError when the lock is known to be lost (no round trip). */
  assertHeld(): void;
  /** Asks the lock's session (one round trip); throws a LockedError when it no longer answers. */
  verify(): Promise<void>;
  /** Why the lock was lost, once it is. */
  readonly lostBecause: Error | undefined;
  /** Called once, at the moment the loss is noticed. */
  onLost(listener: (reason: Error) => void): void;
}

export interface LockOptions {
  /** Aborts the wait for the lock (a signal arrived). */
  readonly signal?: AbortSignal | undefined;
  /** Cancels the statement running on a backend (used to stop the wait). */
  readonly cancel?: ((client: Connection) => Promise<void>) | undefined;
  /**
   * A keep-alive query (or a verify) not answered within this time marks the
   * lock lost: a session that stalls, not only one that ends (PG_KEEPALIVE_SECONDS).
   */
  readonly keepAliveTimeoutMs?: number | undefined;
}

/** The default of PG_KEEPALIVE_SECONDS (lib/config/transport.ts). */
const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 30_000;

export function lostLockError(reason: Error): LockedError {
  return new LockedError(
    `Lost the warehouse lock (${reason.message}): another run may now hold it, so this one stops and commits nothing more; run it again`,
  );
}

export async function withWarehouseLock<T>(
  db: Database,
  purpose: string,
  log: Logger,
  fn: (lock: HeldLock) => Promise<T>,
  options: LockOptions = {},
): Promise<T> {
  const client = await db.connect();
  let lost: Error | undefined;
  let holding = false;
  let releasing = false;
  const listeners: ((reason: Error) => void)[] = [];
  const markLost = (reason: Error) => {
    if (lost || releasing) return;
    lost = reason;
    if (holding) log.warn(`Lost the warehouse lock (${reason.message}): stopping the run`);
    for (const listener of listeners) listener(reason);
  };
  client.onLost((err) => markLost(err.message === 'connection closed' ? new Error('the lock session closed') : err));
  const answerWithin = options.keepAliveTimeoutMs ?? DEFAULT_KEEP_ALIVE_TIMEOUT_MS;
  const stalled = () =>
    new Error(
      `the lock session did not answer a keep-alive query within ${Math.round(answerWithin / 1000)}s (PG_KEEPALIVE_SECONDS)`,
    );
  /** One round trip on the lock's session; a failure, or no answer in time, marks the lock lost. */
  const check = async (): Promise<void> => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        client.query(LOCK_STATEMENTS.check),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(stalled()), answerWithin);
        }),
      ]);
    } catch (err) {
      markLost(err as Error);
    } finally {
      clearTimeout(timer);
    }
  };
  const lock: HeldLock = {
    assertHeld() {
      if (lost) throw lostLockError(lost);
    },
    async verify() {
      lock.assertHeld();
      await check();
      lock.assertHeld();
    },
    get lostBecause() {
      return lost;
    },
    onLost(listener) {
      listeners.push(listener);
    },
  };
  let keepAlive: NodeJS.Timeout | undefined;
  try {
    await createLockTable(client);
    for (const sql of db.dialect.lockSessionSettings) await lockStatement(client, sql);
    await lockStatement(client, LOCK_STATEMENTS.begin);
    const started = Date.now();
    let said = 0;
    const timer = setInterval(() => {
      const waited = Math.round((Date.now() - started) / 1000);
      if (said === 0 || waited - said >= 10) {
        said = waited;
        log.info(
          `Waiting for the warehouse lock (${waited}s): another migrate or load is running on ${db.description}…`,
        );
      }
    }, 1000);
    const stopWaiting = () => void options.cancel?.(client);
    options.signal?.addEventListener('abort', stopWaiting, { once: true });
    try {
      await lockStatement(client, LOCK_STATEMENTS.lock);
    } finally {
      clearInterval(timer);
      options.signal?.removeEventListener('abort', stopWaiting);
    }
    options.signal?.throwIfAborted();
    holding = true;
    log.debug(`Holding the warehouse lock for ${purpose}.`);
    // One keep-alive at a time: one that does not answer marks the lock lost (check's timeout), instead of
    // more of them queueing behind it.
    let checking = false;
    keepAlive = setInterval(() => {
      if (lost || checking) return;
      checking = true;
      void check().finally(() => (checking = false));
    }, KEEP_ALIVE_MS);
    keepAlive.unref();
    return await fn(lock);
  } finally {
    clearInterval(keepAlive);
    releasing = true;
    if (lost) {
      // The session is gone or does not answer: nothing to release, and nothing to wait for.
      void client.end().catch(() => undefined);
    } else {
      await client.query(LOCK_STATEMENTS.release).catch(() => undefined);
      await client.end().catch(() => undefined);
    }
  }
}
