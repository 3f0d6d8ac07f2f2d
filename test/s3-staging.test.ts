// Staging many small files from s3:// (s3rver on 127.0.0.1, behind a proxy
// that counts requests): one GET per object and nothing else per object (no
// HEAD), one ListObjectsV2 per 1000 keys, and several GETs in flight but never
// more than the bound.
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { generate } from '../lib/sample/generator.ts';
import { runCli } from './helpers/cli.ts';
import { migratedDatabase } from './helpers/load.ts';
import { startS3 } from './helpers/s3.ts';
import { tempDir } from './helpers/temp-dir.ts';

interface Counts {
  list: number;
  get: number;
  head: number;
  other: number;
  inFlight: number;
  maxGetsInFlight: number;
}

/** An HTTP proxy to `target` that counts S3 requests by kind and the GETs in flight at once. */
async function countingProxy(target: string): Promise<{ url: string; counts: Counts; close: () => Promise<void> }> {
  const to = new URL(target);
  const counts: Counts = { list: 0, get: 0, head: 0, other: 0, inFlight: 0, maxGetsInFlight: 0 };
  const server = http.createServer((req, res) => {
    const isList = req.method === 'GET' && /[?&]list-type=2/.test(req.url ?? '');
    const isGet = req.method === 'GET' && !isList;
    if (isList) counts.list += 1;
    else if (isGet) counts.get += 1;
    else if (req.method === 'HEAD') counts.head += 1;
    else counts.other += 1;
    if (isGet) {
      counts.inFlight += 1;
      counts.maxGetsInFlight = Math.max(counts.maxGetsInFlight, counts.inFlight);
    }
    const upstream = http.request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
      up.on('end', () => {
        if (isGet) counts.inFlight -= 1;
      });
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, counts, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

test('small files from s3://: one GET per object, a listing per 1000 keys, bounded concurrency', async (t) => {
  const out = await tempDir(t, 'gen-');
  const songs = 2500;
  const expected = await generate({ songs, events: 300, seed: 3, out });
  const s3 = await startS3(['sparkify-small']);
  t.teardown(() => s3.close());
  const songFiles = await s3.upload('sparkify-small', 'song_data/', path.join(out, 'song_data'));
  const logFiles = await s3.upload('sparkify-small', 'log_data/', path.join(out, 'log_data'));
  await s3.put('sparkify-small', 'meta/log_json_path.json', await readFile(path.join(out, 'log_json_path.json')));
  t.is(songFiles, songs);
  const proxy = await countingProxy(s3.endpoint);
  t.teardown(() => proxy.close());
  const db = await migratedDatabase();
  t.teardown(() => db.drop());
  const r = await runCli(['load', '--only', 'stage'], {
    ...s3.env,
    AWS_ENDPOINT_URL_S3: proxy.url,
    DATABASE_URL: db.url,
    SONG_DATA: 's3://sparkify-small/song_data/',
    LOG_DATA: 's3://sparkify-small/log_data/',
    LOG_JSONPATH: 's3://sparkify-small/meta/log_json_path.json',
  });
  t.is(r.code, 0, r.stderr);
  const staged = await db.query<{ n: number }>('select count(*)::int as n from staging_songs');
  t.is(staged[0]?.n, expected.staging_songs);
  const { counts } = proxy;
  t.log(`requests: ${JSON.stringify(counts)}; ${/stage staging_songs.*/.exec(r.stdout)?.[0] ?? ''}`);
  // The JSONPaths file is found by listing its key and read with one GET.
  t.is(counts.get, songFiles + logFiles + 1, 'one GET per object');
  t.is(counts.head, 0, 'no HEAD per object');
  t.is(counts.other, 0);
  t.is(counts.list, Math.ceil(songFiles / 1000) + Math.ceil(logFiles / 1000) + 1, 'one ListObjectsV2 page per 1000 keys');
  t.true(counts.maxGetsInFlight > 1, `several GETs at once (${counts.maxGetsInFlight})`);
  t.true(counts.maxGetsInFlight <= 16, `at most 16 GETs at once (${counts.maxGetsInFlight})`);
});
