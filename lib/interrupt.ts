/**
 * Signals. A load catches SIGINT and SIGTERM: the first one aborts the run
 * (lib/load/guard.ts cancels the running statement, rolls back the step, says
 * what committed) and the process exits with 128 + the signal's number (130,
 * 143); a second one exits at once. Other commands keep Node's default (they
 * stop at once and the server rolls back their open transaction).
 *
 * `npm run X` runs the command under `sh -c`; a SIGTERM to npm ends npm and
 * the shell but not the command, which would go on in the background. So the
 * command watches its parent and, when it is gone, stops as on SIGTERM.
 *
 * The first signal's clean stop is bounded: a run that has not ended
 * `stopTimeoutMs` after it (the warehouse or the store does not answer the
 * cancel, a socket is black-holed) exits anyway with the signal's code, so
 * that `timeout N` in cron ends a stalled load. The server rolls back what
 * was not committed when the connection closes.
 */
import type { Logger } from './log.ts';

const EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;
type HandledSignal = keyof typeof EXIT_CODES;

/** Why a signal stopped the run, as this module reports it (AbortSignal.reason). */
export interface InterruptReason {
  readonly signal: string;
  readonly exitCode: number;
  readonly why: string;
}

export function isInterruptReason(value: unknown): value is InterruptReason {
  return typeof value === 'object' && value !== null && typeof (value as InterruptReason).exitCode === 'number';
}

/** How often the parent is looked at: cheap (process.ppid is a system call), and quick enough to stop before a step commits. */
const PARENT_POLL_MS = 200;

/** Sends SIGTERM to this process when the process that started it ends. */
export function stopWithParent(log: Logger): void {
  const parent = process.ppid;
  if (parent <= 1) return;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    log.warn(`The parent process (${parent}) ended: stopping as on SIGTERM.`);
    process.kill(process.pid, 'SIGTERM');
  }, PARENT_POLL_MS);
  timer.unref();
}

export interface Interrupts {
  /** Aborted, with an InterruptReason, on the first signal. */
  readonly signal: AbortSignal;
  dispose(): void;
}

/**
 * Exits with `exitCode` unless the process has ended `ms` from now (the timer
 * does not keep it alive). For a run that must stop but may be stuck on a
 * connection that no longer answers.
 */
export function exitUnlessStoppedWithin(ms: number, exitCode: number, log: Logger, why: string): void {
  setTimeout(() => {
    log.error(
      `${why}, and the run has not stopped within ${Math.round(ms / 1000)}s (STOP_TIMEOUT_SECONDS): a connection does not answer; exiting now, the server rolls back what was not committed.`,
    );
    process.exit(exitCode);
  }, ms).unref();
}

/**
 * `stopTimeoutMs` (the command line passes STOP_TIMEOUT_SECONDS): the
 * process exits that long after the first signal if the run has not ended by
 * then. Without it (a load run inside another process), no deadline.
 */
export function interruptOnSignals(
  log: Logger,
  what: string,
  options: { readonly stopTimeoutMs?: number | undefined } = {},
): Interrupts {
  const controller = new AbortController();
  const handlers = new Map<HandledSignal, () => void>();
  for (const name of Object.keys(EXIT_CODES) as HandledSignal[]) {
    const handler = () => {
      const exitCode = EXIT_CODES[name];
      if (controller.signal.aborted) {
        log.error(`${name} again: exiting now; the server rolls back what was not committed.`);
        process.exit(exitCode);
      }
      log.warn(
        `${name} received: cancelling the running statement and stopping the ${what} (a second ${name} exits at once)…`,
      );
      const reason: InterruptReason = { signal: name, exitCode, why: `Interrupted by ${name}` };
      if (options.stopTimeoutMs !== undefined)
        exitUnlessStoppedWithin(options.stopTimeoutMs, exitCode, log, `${name} received`);
      controller.abort(reason);
    };
    handlers.set(name, handler);
    process.on(name, handler);
  }
  return {
    signal: controller.signal,
    dispose() {
      for (const [name, handler] of handlers) process.off(name, handler);
    },
  };
}
