/**
 * What a load checks before it writes, and what it says when it must stop.
 * Every step's transaction asks `beforeCommit()`: the warehouse lock must
 * still be held (a round trip on the lock's session) and no signal may have
 * arrived. When the lock is lost or a signal arrives, the statements running
 * on the load's sessions are cancelled at once (pg_cancel_backend, which
 * Redshift has too), so no step goes on writing; the run then ends with an
 * error that names the steps that committed and those that did not.
 */
import type { Connection } from '../db/connection.ts';
import type { Database } from '../db/database.ts';
import { lostLockError, type HeldLock } from '../db/lock.ts';
import { unreachableBecause } from '../db/unreachable.ts';
import { InterruptedError, LockedError, TransportError } from '../errors.ts';
import { isInterruptReason } from '../interrupt.ts';
import type { Logger } from '../log.ts';

export { isInterruptReason, type InterruptReason } from '../interrupt.ts';

/** Cancels whatever statement runs on these backends, from a connection of its own; failures are ignored (the step fails anyway). */
export async function cancelStatements(db: Database, clients: Iterable<Connection>): Promise<void> {
  const pids = [...clients].map((c) => c.backendPid).filter((pid): pid is number => pid !== undefined);
  if (pids.length === 0) return;
  try {
    const admin = await db.connect();
    try {
      for (const pid of pids) await admin.query('SELECT pg_cancel_backend($1)', [pid]);
    } finally {
      await admin.end().catch(() => undefined);
    }
  } catch {
    // The server is unreachable: its statements end with the connections.
  }
}

export class LoadGuard {
  private readonly committed: string[] = [];
  private readonly running = new Set<string>();
  /** Steps that started and did not commit (their transaction rolled back), whatever stopped them. */
  private readonly rolledBack: string[] = [];
  private readonly clients = new Set<Connection>();

  constructor(
    private readonly db: Database,
    private readonly lock: HeldLock,
    private readonly log: Logger,
    private readonly planned: readonly string[],
    private readonly signal: AbortSignal | undefined,
    /** Told when the lock is lost (the command line then bounds the time the run may take to stop). */
    onLockLost?: (() => void) | undefined,
  ) {
    lock.onLost(() => {
      onLockLost?.();
      void this.stopAll();
    });
    signal?.addEventListener('abort', () => void this.stopAll(), { once: true });
  }

  /** A session's current connection, whose statement is cancelled when the run must stop. */
  track(client: Connection): void {
    this.clients.add(client);
  }

  untrack(client: Connection): void {
    this.clients.delete(client);
  }

  private async stopAll(): Promise<void> {
    if (this.running.size > 0) this.log.info(`Cancelling the running statement of ${[...this.running].join(', ')}…`);
    await cancelStatements(this.db, this.clients);
  }

  /** Throws when the run must stop (known without a round trip). */
  check(): void {
    const reason: unknown = this.signal?.aborted ? this.signal.reason : undefined;
    if (isInterruptReason(reason)) throw new InterruptedError(reason.why, reason.exitCode);
    this.lock.assertHeld();
  }

  /** Before every COMMIT of the load (steps and ledger), and before a retry. */
  async beforeCommit(): Promise<void> {
    this.check();
    await this.lock.verify();
    this.check();
  }

  /** Runs one step (its own transaction), recording whether it committed. */
  async step<T>(name: string, fn: () => Promise<T>): Promise<T> {
    this.check();
    this.running.add(name);
    try {
      const result = await fn();
      this.committed.push(name);
      return result;
    } catch (err) {
      // Whether it failed before or after the stop was known, it ran and rolled back: never "not started".
      if (!this.rolledBack.includes(name)) this.rolledBack.push(name);
      throw err;
    } finally {
      this.running.delete(name);
    }
  }

  /**
   * The error a run that had to stop ends with (instead of whatever its steps threw), naming what committed.
   * A lock lost because the warehouse could not be reached (its session refused, reset or cut, a Data API answer
   * that is no documented error) is a transport failure (exit 1, a re-run may succeed), named as such; a lock
   * session ended by someone (an administrator, a restart) is exit 5, whatever the work's own connection said.
   */
  explain(err: unknown): unknown {
    const reason: unknown = this.signal?.aborted ? this.signal.reason : undefined;
    const lost = this.lock.lostBecause;
    if (!isInterruptReason(reason) && !lost) return err;
    const list = (steps: readonly string[]) => (steps.length > 0 ? steps.join(', ') : 'none');
    const notStarted = this.planned.filter((s) => !this.committed.includes(s) && !this.rolledBack.includes(s));
    const summary = `committed: ${list(this.committed)}; interrupted and rolled back: ${list(this.rolledBack)}; not started: ${list(notStarted)}. A re-run completes the load`;
    if (isInterruptReason(reason))
      return new InterruptedError(`${reason.why}: stopped the load; ${summary}`, reason.exitCode);
    const unreachable = unreachableBecause(lost);
    if (unreachable !== undefined)
      return new TransportError(
        `The warehouse stopped answering (${this.db.description}: ${unreachable}); the run stopped, and its warehouse lock went with the connection; ${summary}`,
        { cause: err },
      );
    const locked: LockedError = lostLockError(lost as Error);
    return new LockedError(`${locked.message.replace(/; run it again$/, '')}; ${summary}`);
  }
}
