// Staging many small files from s3:// (s3rver on 127.0.0.1, behind a proxy
// that counts requests): one GET per object and nothing else per object (no
// HEAD), one ListObjectsV2 per 1000 keys, and several GETs in flight but never
// more than the bound.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { generate } from '../lib/sample/generator.ts';
import { startS3Proxy } from './support/s3-proxy.ts';
import { runCli } from './helpers/cli.ts';
import { migratedDatabase } from './helpers/load.ts';
import { startS3 } from './helpers/s3.ts';
import { tempDir } from './helpers/temp-dir.ts';

/** Generates `songs` song files and `events` events, uploads them to s3rver and stages them from s3:// through a counting proxy. */
async function stageFromS3(
  t: ExecutionContext,
  bucket: string,
  data: { songs: number; events: number; seed: number },
  options: { latencyMs?: number; env?: Record<string, string> } = {},
) {
  const out = await tempDir(t, 'gen-');
  const expected = await generate({ ...data, out });
  const s3 = await startS3([bucket]);
  t.teardown(() => s3.close());
  const songFiles = await s3.upload(bucket, 'song_data/', path.join(out, 'song_data'));
  const logFiles = await s3.upload(bucket, 'log_data/', path.join(out, 'log_data'));
  await s3.put(bucket, 'meta/log_json_path.json', await readFile(path.join(out, 'log_json_path.json')));
  const proxy = await startS3Proxy(s3.endpoint, { latencyMs: options.latencyMs ?? 0 });
  t.teardown(() => proxy.close());
  const db = await migratedDatabase();
  t.teardown(() => db.drop());
  const r = await runCli(['load', '--only', 'stage'], {
    ...s3.env,
    AWS_ENDPOINT_URL_S3: proxy.url,
    DATABASE_URL: db.url,
    SONG_DATA: `s3://${bucket}/song_data/`,
    LOG_DATA: `s3://${bucket}/log_data/`,
    LOG_JSONPATH: `s3://${bucket}/meta/log_json_path.json`,
    ...options.env,
  });
  t.is(r.code, 0, r.stderr);
  const staged = await db.query<{ n: number }>('select count(*)::int as n from staging_songs');
  t.is(staged[0]?.n, expected.staging_songs);
  return { r, counts: proxy.counts, songFiles, logFiles };
}

test('small files from s3://: one GET per object, a listing per 1000 keys, S3_MAX_CONCURRENCY GETs at once over kept-alive connections', async (t) => {
  const songs = 2500;
  const { r, counts, songFiles, logFiles } = await stageFromS3(
    t,
    'sparkify-small',
    { songs, events: 300, seed: 3 },
    { env: { S3_MAX_CONCURRENCY: '24' } },
  );
  t.is(songFiles, songs);
  t.log(`requests: ${JSON.stringify(counts)}; ${/stage staging_songs.*/.exec(r.stdout)?.[0] ?? ''}`);
  // The JSONPaths file is found by listing its key and read with one GET.
  t.is(counts.get, songFiles + logFiles + 1, 'one GET per object');
  t.is(counts.head, 0, 'no HEAD per object');
  t.is(counts.other, 0);
  t.is(
    counts.list,
    Math.ceil(songFiles / 1000) + Math.ceil(logFiles / 1000) + 1,
    'one ListObjectsV2 page per 1000 keys',
  );
  t.true(counts.maxGetsInFlight > 16, `more than the old fixed 16 GETs at once (${counts.maxGetsInFlight})`);
  t.true(counts.maxGetsInFlight <= 24, `at most S3_MAX_CONCURRENCY=24 GETs at once (${counts.maxGetsInFlight})`);
  // Keep-alive: thousands of requests over about as many connections as are in flight at once.
  t.true(
    counts.connections <= 24 + 2,
    `connections reused (${counts.connections} for ${counts.get + counts.list} requests)`,
  );
});

test('S3_MAX_CONCURRENCY must be a whole number from 1 to 1024', async (t) => {
  for (const bad of ['0', 'lots', '2.5', '5000']) {
    const r = await runCli(['load', '--dry-run'], {
      S3_MAX_CONCURRENCY: bad,
      DATABASE_URL: 'postgres://u@127.0.0.1:1/db',
    });
    t.is(r.code, 2, r.stderr);
    t.regex(
      r.stderr,
      new RegExp(`S3_MAX_CONCURRENCY: expected a whole number from 1 to 1024, got '${bad.replace('.', '\\.')}'`),
    );
  }
});

test('by default 128 GETs are in flight at once (DEFAULT_S3_MAX_CONCURRENCY): at 600 ms a request, more than 64 at a time', async (t) => {
  // 600 ms: ample time to send 65 GETs even on a starved machine (about 1 ms of CPU each).
  const { counts } = await stageFromS3(t, 'sparkify-default', { songs: 600, events: 50, seed: 4 }, { latencyMs: 600 });
  t.true(counts.maxGetsInFlight > 64, `more than the old default of 64 GETs at once (${counts.maxGetsInFlight})`);
  t.true(counts.maxGetsInFlight <= 128, `at most 128 GETs at once (${counts.maxGetsInFlight})`);
});
