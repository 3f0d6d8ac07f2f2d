/**
 * Named points in a run where the reliability tests stop or pause the process
 * (test/reliability.test.ts): SPARKIFY_FAULT_AT=<name> with SPARKIFY_FAULT=hang
 * (wait to be killed), SPARKIFY_FAULT=wait (wait until the test sends SIGUSR2;
 * once released, the point no longer waits, so a step that runs again passes it
 * and says so a second time), SPARKIFY_FAULT=pause:<ms> or SPARKIFY_FAULT=fail
 * (the step fails with an error that is not retried). Without those variables a
 * fault point does nothing.
 */

let released = false;

export async function faultPoint(name: string): Promise<void> {
  if (process.env['SPARKIFY_FAULT_AT'] !== name) return;
  const mode = process.env['SPARKIFY_FAULT'] ?? 'hang';
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
}
