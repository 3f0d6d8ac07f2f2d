/**
 * Named points in a run where the reliability tests stop or pause the process
 * (test/reliability.test.ts). The CLI builds them from SPARKIFY_FAULT_AT=<name>
 * with SPARKIFY_FAULT=hang (wait to be killed), wait (wait until the test
 * sends SIGUSR2; once released, the point no longer waits, so a step that runs
 * again passes it and says so a second time), pause:<ms> or fail (the step
 * fails with an error that is not retried); library callers pass none, and
 * then a fault point does nothing.
 */

export interface FaultPoints {
  /** Called at each named point; resolves when the run may go on. */
  at(name: string): Promise<void>;
}

export const noFaults: FaultPoints = { at: async () => undefined };

export function faultPointsFrom(env: Readonly<Record<string, string | undefined>>): FaultPoints {
  const target = env['SPARKIFY_FAULT_AT'];
  if (!target) return noFaults;
  const mode = env['SPARKIFY_FAULT'] ?? 'hang';
  let released = false;
  return {
    async at(name) {
      if (name !== target) return;
      process.stderr.write(`fault point: ${name}\n`);
      if (mode === 'hang') {
        // Keep the process alive until the test kills it.
        await new Promise<void>(() => setInterval(() => undefined, 60_000));
      }
      if (mode === 'wait' && !released) {
        await new Promise<void>((resolve) => {
          const keepAlive = setInterval(() => undefined, 60_000);
          process.once('SIGUSR2', () => {
            released = true;
            clearInterval(keepAlive);
            resolve();
          });
        });
      }
      if (mode === 'fail') throw new Error(`injected failure at fault point ${name}`);
      const ms = Number(mode.replace(/^pause:/, ''));
      if (Number.isFinite(ms) && ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
    },
  };
}
