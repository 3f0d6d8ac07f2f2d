// A warehouse that stops answering (a TCP proxy in front of the test
// PostgreSQL black-holes every connection mid-load): a first SIGTERM still
// ends the load within STOP_TIMEOUT_SECONDS (`timeout N` in cron works), and
// without any signal the lock's keep-alive notices the stall and the run ends
// with exit 5. Bounds are asserted with generous test-level limits, not timed.
import test, { type ExecutionContext } from 'ava';
import { spawnCli } from './support/spawn-cli.ts';
import { event, song, writeFixture } from './helpers/fixtures.ts';
import { migratedDatabase } from './helpers/load.ts';
import { startProxy } from './helpers/tcp-proxy.ts';

/** A load through the proxy, held at the fault point `stage:listed` until the proxy is stalled, then released. */
async function stalledLoad(t: ExecutionContext, env: Record<string, string>) {
  const db = await migratedDatabase();
  t.teardown(() => db.drop());
  const u = new URL(db.url);
  const proxy = await startProxy(u.hostname, Number(u.port));
  t.teardown(() => proxy.close());
  const viaProxy = new URL(db.url);
  viaProxy.port = String(proxy.port);
  const fixture = await writeFixture(t, {
    logs: { 'a.json': [event(), event()] },
    songs: { 'A/a.json': song() },
  });
  const child = spawnCli(['load'], {
    PATH: process.env['PATH'],
    HOME: process.env['HOME'],
    DATABASE_URL: viaProxy.toString(),
    ...fixture.env,
    SPARKIFY_FAULT_AT: 'stage:listed',
    SPARKIFY_FAULT: 'wait',
    ...env,
  });
  t.teardown(() => child.kill('SIGKILL'));
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  while (!stderr.includes('fault point: stage:listed')) {
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  proxy.stall();
  child.kill('SIGUSR2'); // released: its next statement goes into the black hole
  const within = (ms: number) =>
    Promise.race([exited, new Promise<'still running'>((r) => setTimeout(() => r('still running'), ms))]);
  return { child, within, stderr: () => stderr };
}

test('a first SIGTERM ends a load whose warehouse stopped answering, within STOP_TIMEOUT_SECONDS (exit 143)', async (t) => {
  const { child, within, stderr } = await stalledLoad(t, { STOP_TIMEOUT_SECONDS: '3', PG_KEEPALIVE_SECONDS: '3600' });
  await new Promise((r) => setTimeout(r, 500));
  child.kill('SIGTERM');
  t.is(await within(30_000), 143, stderr());
  t.regex(stderr(), /SIGTERM received: cancelling the running statement/);
  t.regex(stderr(), /SIGTERM received, and the run has not stopped within 3s \(STOP_TIMEOUT_SECONDS\)/);
});

test('without a signal, the lock keep-alive notices the stalled warehouse and the load ends with exit 5', async (t) => {
  const { within, stderr } = await stalledLoad(t, { STOP_TIMEOUT_SECONDS: '3', PG_KEEPALIVE_SECONDS: '2' });
  t.is(await within(60_000), 5, stderr());
  t.regex(stderr(), /Lost the warehouse lock \(the lock session did not answer a keep-alive query within 2s/);
});
