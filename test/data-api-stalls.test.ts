// Issue 26, item 4, through the Data API: "a DescribeStatement that never returns" hung the load. A request that
// receives nothing for DATA_API_REQUEST_TIMEOUT_SECONDS fails (the SDK retries it, then gives up), and a statement
// still running at DATA_API_STATEMENT_TIMEOUT_SECONDS is cancelled and fails; neither waits for ever. In-process,
// an HTTP proxy in front of the Data API stand-in holding every DescribeStatement.
import http from 'node:http';
import test from 'ava';
import { loadConfig } from '../lib/config/config.ts';
import { DEFAULT_TRANSPORT } from '../lib/config/transport.ts';
import { connectDataApi, createDataApiClient } from '../lib/db/data-api-connection.ts';
import { silentLogger } from '../lib/log.ts';
import { startDataApiStandIn } from './helpers/data-api.ts';
import { createTestDatabase } from './helpers/database.ts';

/** Forwards every call to `target` except DescribeStatement while `stall()` says so, which is never answered. */
async function stallingProxy(target: string, stall: () => boolean) {
  const to = new URL(target);
  let held = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.headers['x-amz-target'] === 'RedshiftData.DescribeStatement' && stall()) {
        held += 1;
        return; // never answered
      }
      const upstream = http.request(
        { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      upstream.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    held: () => held,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

async function setup(t: { teardown(fn: () => unknown): void }, stall: () => boolean) {
  const standIn = await startDataApiStandIn({ env: {} });
  t.teardown(() => standIn.close());
  const db = await createTestDatabase();
  t.teardown(() => db.drop());
  const proxy = await stallingProxy(standIn.endpoint, stall);
  t.teardown(() => proxy.close());
  const setting = loadConfig({ DATABASE_URL: `redshift-data://sparkify-wg/${db.name}` }).database;
  if (setting.kind !== 'data-api') throw new Error('not a Data API setting');
  process.env['AWS_ACCESS_KEY_ID'] = 'AKIDSTANDIN';
  process.env['AWS_SECRET_ACCESS_KEY'] = 'stand-in-secret';
  const client = createDataApiClient({ ...setting, endpoint: proxy.url }, 'us-west-2', {
    ...DEFAULT_TRANSPORT,
    dataApiRequestTimeoutMs: 1000,
  });
  t.teardown(() => client.destroy());
  return { setting, client, proxy };
}

test('a DescribeStatement that never answers fails after DATA_API_REQUEST_TIMEOUT_SECONDS (and the SDK retries), not never', async (t) => {
  t.timeout(90_000);
  const { setting, client, proxy } = await setup(t, () => true);
  const conn = connectDataApi({ setting, client, log: silentLogger, pollMs: [5, 20] });
  t.teardown(() => conn.end().catch(() => undefined));
  const err = await t.throwsAsync(conn.query('SELECT 1 AS one'));
  t.regex(`${err?.name}: ${err?.message}`, /TimeoutError|timed out/i);
  t.true(proxy.held() >= 2, `the SDK sent it again (${proxy.held()} held)`);
});

test('a statement still running at DATA_API_STATEMENT_TIMEOUT_SECONDS is cancelled and fails', async (t) => {
  t.timeout(90_000);
  const { setting, client } = await setup(t, () => false);
  const conn = connectDataApi({ setting, client, log: silentLogger, pollMs: [5, 20], statementTimeoutMs: 1000 });
  t.teardown(() => conn.end().catch(() => undefined));
  await t.throwsAsync(conn.query('SELECT pg_sleep(30)'), { message: /did not finish within 1s: cancelled/ });
});
