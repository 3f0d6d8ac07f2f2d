/**
 * Retries a step after a transient failure (a dropped connection, a timeout,
 * a serialization conflict, or what the engine's dialect adds) with bounded
 * exponential backoff, saying so. Every load step is atomic and idempotent,
 * so running it again is safe. Anything else is not retried.
 */
import { SqlError, WarehouseError } from '../errors.ts';
import type { Logger } from '../log.ts';

/** SQLSTATEs worth another try: serialization/deadlock, connection failures, server starting or overloaded. */
const TRANSIENT_CODES = new Set([
  '40001',
  '40P01',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '57P03',
  '53300',
  '55P03',
]);
const TRANSIENT_MESSAGES =
  /Connection terminated unexpectedly|ECONNRESET|EPIPE|ETIMEDOUT|ECONNREFUSED|socket hang up|timeout expired|Query read timeout/i;

/** An engine's own transient errors (Dialect.isTransient). */
export type TransientTest = (err: { readonly code?: unknown; readonly message?: unknown }) => boolean;

export function isTransient(err: unknown, engine: TransientTest = () => false): boolean {
  // A refused statement named by its step: what the server said decides.
  if (err instanceof SqlError) return isTransient(err.cause, engine);
  if (err instanceof WarehouseError) return false;
  const e = (err ?? {}) as { code?: unknown; message?: unknown };
  if (typeof e.code === 'string' && TRANSIENT_CODES.has(e.code)) return true;
  return (typeof e.message === 'string' && TRANSIENT_MESSAGES.test(e.message)) || engine(e);
}

export interface RetryOptions {
  readonly attempts?: number;
  readonly baseDelayMs?: number;
  readonly log: Logger;
  /** The engine's own transient errors. */
  readonly engine?: TransientTest;
  /** Called before each new attempt (for example to open a new connection). */
  readonly beforeRetry?: () => Promise<void>;
}

export async function withRetry<T>(what: string, fn: () => Promise<T>, options: RetryOptions): Promise<T> {
  const attempts = options.attempts ?? 4;
  const base = options.baseDelayMs ?? 500;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= attempts || !isTransient(err, options.engine)) throw err;
      const delay = Math.round(base * 2 ** (attempt - 1) * (0.75 + Math.random() * 0.5));
      options.log.warn(
        `${what}: transient error (${(err as Error).message}); retrying in ${(delay / 1000).toFixed(1)}s (attempt ${attempt + 1} of ${attempts})`,
      );
      await new Promise((resolve) => setTimeout(resolve, delay));
      await options.beforeRetry?.();
    }
  }
}
