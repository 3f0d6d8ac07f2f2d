/**
 * Whether an error says the warehouse could not be reached (the network or
 * the service failed, not a statement and not another run): a refused, reset
 * or cut connection, a name that does not resolve, a request that timed out,
 * or a Data API answer that is no documented error (the SDK's UnknownError,
 * an HTTP 5xx). Used to tell a run that lost its warehouse (exit 1, a re-run
 * may succeed) from one whose lock session was ended by someone (exit 5).
 */

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

interface MaybeNetworkError {
  readonly name?: unknown;
  readonly code?: unknown;
  readonly message?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: unknown };
}

/** What failed, in words, when `err` is a failure to reach the warehouse; undefined otherwise. */
export function unreachableBecause(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  const e = err as MaybeNetworkError;
  const message = typeof e.message === 'string' && e.message !== '' ? e.message : String(e.name);
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return message;
  if (/socket hang up|ECONNREFUSED|ECONNRESET/i.test(message)) return message;
  if (e.name === 'TimeoutError') return `no answer in time (${message})`;
  const status = e.$metadata?.httpStatusCode;
  // The SDK's name for an answer it could not read as any documented error ("UnknownError"): say what came back.
  if (e.name === 'UnknownError')
    return `an answer that is not a Data API response (${typeof status === 'number' ? `HTTP ${status}, ` : ''}UnknownError)`;
  if (typeof status === 'number' && status >= 500 && status !== 501)
    return `the service failed (HTTP ${status}: ${message})`;
  return undefined;
}
