// A lost ExecuteStatement answer: the statement ran, the answer never came
// back (an HTTP proxy in front of the Data API stand-in cuts the connection
// instead of answering), the SDK sends the call again with the same
// ClientToken, and the stand-in, as the service does, answers with the same
// statement instead of running it twice.
import http from 'node:http';
import { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import test from 'ava';
import { loadConfig } from '../lib/config/config.ts';
import { connectDataApi } from '../lib/db/data-api-connection.ts';
import { silentLogger } from '../lib/log.ts';
import { startDataApiStandIn } from './helpers/data-api.ts';
import { createTestDatabase } from './helpers/database.ts';

/** Forwards every call to `target`; the answer to the first ExecuteStatement whose Sql matches `lose` is never delivered. */
async function losingProxy(target: string, lose: RegExp) {
  const to = new URL(target);
  let lost = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const isExecute = req.headers['x-amz-target'] === 'RedshiftData.ExecuteStatement';
      const upstream = http.request(
        { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers },
        (up) => {
          const answer: Buffer[] = [];
          up.on('data', (c: Buffer) => answer.push(c));
          up.on('end', () => {
            if (isExecute && lost === 0 && lose.test(body.toString('utf8'))) {
              lost += 1;
              req.socket.destroy(); // the statement ran; its answer is lost
              return;
            }
            res.writeHead(up.statusCode ?? 502, up.headers);
            res.end(Buffer.concat(answer));
          });
        },
      );
      upstream.on('error', () => res.destroy());
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    lost: () => lost,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

test('an ExecuteStatement whose answer was lost is sent again with the same ClientToken and runs once', async (t) => {
  const standIn = await startDataApiStandIn({ env: {} });
  t.teardown(() => standIn.close());
  const db = await createTestDatabase();
  t.teardown(() => db.drop());
  const proxy = await losingProxy(standIn.endpoint, /INSERT INTO idempotent/);
  t.teardown(() => proxy.close());
  const d = loadConfig({ DATABASE_URL: `redshift-data://sparkify-wg/${db.name}` }).database;
  if (d.kind !== 'data-api') throw new Error('not a Data API setting');
  const client = new RedshiftDataClient({
    region: 'us-west-2',
    endpoint: proxy.url,
    credentials: { accessKeyId: 'AKIDSTANDIN', secretAccessKey: 'stand-in-secret' },
  });
  t.teardown(() => client.destroy());
  const conn = connectDataApi({ setting: d, client, log: silentLogger, pollMs: [5, 20] });
  t.teardown(() => conn.end());
  await conn.query('CREATE TABLE idempotent (n INTEGER)');
  await conn.query('INSERT INTO idempotent VALUES (1)');
  t.is(proxy.lost(), 1, 'the first answer was lost');
  const { rows } = await conn.query<{ n: number }>('SELECT COUNT(*)::int AS n FROM idempotent');
  t.is(rows[0]?.n, 1, 'the INSERT ran once');
});
