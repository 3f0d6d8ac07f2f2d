// S3 faults during PostgreSQL staging, injected by the proxy in front of s3rver
// (test/support/s3-proxy.ts): cut and empty bodies are read on or fail the run
// naming the object (exit 1, nothing recorded); an object changed between its
// listing and its GET is refused, and loaded by the next run once restored; a
// store that repeats a continuation token ends the listing with an error; a
// SIGINT ends stalled GETs at once; 503 SlowDown exits 1, not 3.
import test, { type ExecutionContext } from 'ava';
import { startS3Proxy, type S3Faults } from './support/s3-proxy.ts';
import { spawnCli } from './support/spawn-cli.ts';
import { runCli } from './helpers/cli.ts';
import { event, JSONPATHS, song } from './helpers/fixtures.ts';
import { migratedDatabase } from './helpers/load.ts';
import { startS3 } from './helpers/s3.ts';

const BUCKET = 'sparkify-faults';
const LOG_KEY = `${BUCKET}/log_data/2018-11-01-events.json`;
const SONG_KEY = `${BUCKET}/song_data/A/a.json`;
const EVENTS = 40;

const eventsFile = (n: number, sessionId: number) =>
  Array.from({ length: n }, (_, i) => JSON.stringify(event({ itemInSession: i, sessionId }))).join('\n');

/** s3rver with one log file of EVENTS events, one song file and the JSONPaths file, a proxy with `faults` before it, and a migrated database. */
async function setup(t: ExecutionContext, faults: S3Faults, options: { allowMismatchedSignatures?: boolean } = {}) {
  const s3 = await startS3([BUCKET], options);
  t.teardown(() => s3.close());
  const original = eventsFile(EVENTS, 7);
  await s3.put(BUCKET, 'log_data/2018-11-01-events.json', original);
  await s3.put(BUCKET, 'song_data/A/a.json', JSON.stringify(song()));
  await s3.put(BUCKET, 'meta/log_json_path.json', JSONPATHS);
  const proxy = await startS3Proxy(s3.endpoint, { faults });
  t.teardown(() => proxy.close());
  const db = await migratedDatabase();
  t.teardown(() => db.drop());
  const env = {
    ...s3.env,
    AWS_ENDPOINT_URL_S3: proxy.url,
    DATABASE_URL: db.url,
    LOG_DATA: `s3://${BUCKET}/log_data/`,
    SONG_DATA: `s3://${BUCKET}/song_data/`,
    LOG_JSONPATH: `s3://${BUCKET}/meta/log_json_path.json`,
  };
  const count = async (table: string) =>
    (await db.query<{ n: number }>(`select count(*)::int as n from ${table}`))[0]?.n;
  return { s3, proxy, db, env, count, original };
}

test('a cut or empty body is read on from where it stopped: every record is loaded', async (t) => {
  const { env, count, proxy } = await setup(t, {
    get: (key, attempt) => {
      if (key === LOG_KEY) return attempt === 1 ? 'cut-chunked' : attempt === 2 ? 'cut-reset' : undefined;
      if (key === SONG_KEY) return attempt === 1 ? 'empty' : undefined;
      return undefined;
    },
  });
  const r = await runCli(['load'], env);
  t.is(r.code, 0, r.stderr);
  t.is(await count('staging_events'), EVENTS);
  t.is(await count('staging_songs'), 1);
  t.is(await count('songplays'), EVENTS);
  t.regex(
    r.stderr,
    /s3:\/\/sparkify-faults\/log_data\/2018-11-01-events\.json: the answer ended after \d+ of \d+ bytes; reading on/,
  );
  t.regex(r.stderr, /s3:\/\/sparkify-faults\/song_data\/A\/a\.json: the answer ended after 0 of \d+ bytes; reading on/);
  t.is(proxy.counts.get, 3 + 2 + 1, 'the log file in three GETs, the song file in two, the JSONPaths file in one');
});

for (const fault of ['cut-chunked', 'cut-reset', 'empty'] as const) {
  test(`a body that is ${fault} on every attempt fails the load naming the object (exit 1), nothing staged or recorded`, async (t) => {
    const { env, count } = await setup(t, { get: (key) => (key === LOG_KEY ? fault : undefined) });
    const r = await runCli(['load'], { ...env, S3_READ_ATTEMPTS: '2' });
    t.is(r.code, 1, r.stderr);
    t.regex(
      r.stderr,
      /s3:\/\/sparkify-faults\/log_data\/2018-11-01-events\.json: short read: .* after 2 attempts \(S3_READ_ATTEMPTS\)/,
    );
    t.is(await count('staging_events'), 0);
    t.is(await count('songplays'), 0);
    t.is(await count('load_ledger'), 0);
  });
}

test('an object overwritten between listing and GET fails the run (exit 1); restored, the next --incremental loads it', async (t) => {
  const store: { s3?: Awaited<ReturnType<typeof setup>>['s3'] } = {};
  const { env, count, original, s3 } = await setup(t, {
    beforeGet: async (key, attempt) => {
      if (key === LOG_KEY && attempt === 1)
        await store.s3?.put(BUCKET, 'log_data/2018-11-01-events.json', eventsFile(3, 8));
    },
  });
  store.s3 = s3;
  const first = await runCli(['load'], env);
  t.is(first.code, 1, first.stderr);
  t.regex(
    first.stderr,
    /s3:\/\/sparkify-faults\/log_data\/2018-11-01-events\.json: changed since it was listed \(listed: \d+ bytes, ETag \w+; now: ETag \w+\)/,
  );
  t.is(await count('load_ledger'), 0, 'nothing recorded');
  await s3.put(BUCKET, 'log_data/2018-11-01-events.json', original);
  const second = await runCli(['load', '--incremental'], env);
  t.is(second.code, 0, second.stderr);
  t.is(await count('staging_events'), EVENTS);
  t.is(await count('songplays'), EVENTS);
});

const IGNORED_TOKEN = {
  'same-token': /the store answered page 2 with a continuation token it had given before/,
  'new-token': /the store answered page 2 with keys that do not follow page 1's/,
} as const;
for (const [answer, expected] of Object.entries(IGNORED_TOKEN)) {
  test(`a store that ignores the continuation token (${answer}) ends the listing with an error (exit 1), not an endless listing`, async (t) => {
    const { env, s3, proxy } = await setup(
      t,
      { listPageSize: 2, ignoreContinuationToken: answer as keyof typeof IGNORED_TOKEN },
      { allowMismatchedSignatures: true },
    );
    for (const name of ['b', 'c', 'd', 'e']) await s3.put(BUCKET, `song_data/A/${name}.json`, JSON.stringify(song()));
    const r = await runCli(['load', '--only', 'stage'], env, { timeoutMs: 60_000 });
    t.is(r.code, 1, r.stderr);
    t.regex(r.stderr, /s3:\/\/sparkify-faults\/song_data\/: cannot list objects: /);
    t.regex(r.stderr, expected);
    t.is(
      proxy.counts.list,
      1 + 1 + 2,
      'the log folder and the JSONPaths key in a page each, the song folder stopped at its second',
    );
  });
}

test('listing in pages of 2 keys still lists every object', async (t) => {
  const { env, s3, count } = await setup(t, { listPageSize: 2 }, { allowMismatchedSignatures: true });
  for (const name of ['b', 'c', 'd', 'e']) await s3.put(BUCKET, `song_data/A/${name}.json`, JSON.stringify(song()));
  const r = await runCli(['load', '--only', 'stage'], env);
  t.is(r.code, 0, r.stderr);
  t.is(await count('staging_songs'), 5);
});

test('503 SlowDown on every GET exits 1 (a service fault), naming the object', async (t) => {
  const { env } = await setup(t, { get: (key) => (key === LOG_KEY ? 'slow-down' : undefined) });
  const r = await runCli(['load'], env);
  t.is(r.code, 1, r.stderr);
  t.regex(r.stderr, /s3:\/\/sparkify-faults\/log_data\/2018-11-01-events\.json: cannot read: SlowDown \(HTTP 503\)/);
});

test('a GET that stalls once is given up after S3_IDLE_TIMEOUT_SECONDS and retried', async (t) => {
  const { env, count } = await setup(t, {
    get: (key, attempt) => (key === LOG_KEY && attempt === 1 ? 'stall' : undefined),
  });
  const r = await runCli(['load', '--only', 'stage'], { ...env, S3_IDLE_TIMEOUT_SECONDS: '1' }, { timeoutMs: 60_000 });
  t.is(r.code, 0, r.stderr);
  t.is(await count('staging_events'), EVENTS);
});

test('SIGINT while every GET stalls ends the load at once (exit 130), not after the GETs', async (t) => {
  const { env, proxy, count } = await setup(t, { get: () => 'stall' });
  // The idle timeout is far beyond the test's limit: only the signal can end the GETs.
  const child = spawnCli(['load'], { PATH: process.env['PATH'], HOME: process.env['HOME'], ...env });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  t.teardown(() => child.kill('SIGKILL'));
  while (proxy.counts.get === 0) await new Promise((r) => setTimeout(r, 100));
  child.kill('SIGINT');
  const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 30_000))]);
  t.is(code, 130, stderr);
  t.regex(stderr, /Interrupted by SIGINT/);
  t.is(await count('staging_events'), 0);
});
