// A load's OpenLineage run events (issue 31), through the command line: START
// then COMPLETE (or FAIL with the error) in --lineage-file and POSTed to
// OPENLINEAGE_URL (a server on 127.0.0.1), valid against the spec's JSON
// Schema, with the sources' statistics and ETag digest, and column lineage in
// which every star column reaches a JSON key; on the PostgreSQL path and on
// the Redshift path (the Data API stand-in, S3 on s3rver). An endpoint that
// refuses or never answers is a warning; the load's outcome is its own.
import { readFile, stat } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import test from 'ava';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { pipeline } from '../loaders/index.ts';
import { objectsDigest, type RunEvent } from '../lib/lineage/events.ts';
import { lineageRunId } from '../lib/lineage/load-lineage.ts';
import { runCli } from './helpers/cli.ts';
import { spawnCli } from './support/spawn-cli.ts';
import { startDataApiStandIn } from './helpers/data-api.ts';
import { event, song, writeFixture } from './helpers/fixtures.ts';
import { migratedDatabase } from './helpers/load.ts';
import { reachedInputs, runEventProblems } from './helpers/openlineage.ts';
import { localSources, startS3 } from './helpers/s3.ts';
import { fileScope, tempDir } from './helpers/temp-dir.ts';

const scope = fileScope();
const STAR_TABLES = ['users', 'songs', 'artists', 'songplays', 'time'];
const API_KEY = 'ol-key-5f3a9c0e7b';

interface Received {
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly headers: IncomingHttpHeaders;
  readonly body: RunEvent;
}

/** An OpenLineage endpoint on 127.0.0.1: answers `status`, or never (`hang`). */
async function endpoint(
  answer: { status: number } | 'hang',
): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      received.push({ method: req.method, url: req.url, headers: req.headers, body: JSON.parse(body) as RunEvent });
      if (answer === 'hang') return;
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const readEvents = async (file: string) =>
  (await readFile(file, 'utf8'))
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as RunEvent);

/** Two log files, three events; two song files. */
function fixtureFiles() {
  return {
    logs: {
      '2018/11/a.json': [event({ userId: '7', page: 'NextSong', song: 'S1', artist: 'A1', length: 200 })],
      '2018/11/b.json': [event({ userId: '8', page: 'NextSong' }), event({ userId: '8', page: 'Home' })],
    },
    songs: {
      'A/1.json': song({ song_id: 'S1', title: 'S1', artist_id: 'AR1', artist_name: 'A1', duration: 200 }),
      'A/2.json': song({ song_id: 'S2', artist_id: 'AR2' }),
    },
  };
}

/** What every valid COMPLETE of a full load holds: each star column reaches a JSON key of an input. */
function assertEveryStarColumnReachesAKey(t: { true(v: boolean, m?: string): void }, e: RunEvent) {
  const keysOf = new Map(
    e.inputs.map((i) => [
      `${i.namespace}\0${i.name}`,
      ((i.facets['schema'] as { fields: { name: string }[] } | undefined)?.fields ?? []).map((f) => f.name),
    ]),
  );
  for (const table of STAR_TABLES) {
    const out = e.outputs.find((o) => o.name.endsWith(`.${table}`));
    const columns = (out?.facets['schema'] as { fields: { name: string }[] } | undefined)?.fields ?? [];
    t.true(columns.length > 0, `${table} has a schema facet`);
    for (const { name } of columns) {
      const reached = reachedInputs(e, out?.namespace ?? '', out?.name ?? '', name);
      t.true(
        reached.length > 0 && reached.every((r) => keysOf.get(`${r.namespace}\0${r.name}`)?.includes(r.field)),
        `${table}.${name} reaches JSON keys of the inputs: ${JSON.stringify(reached)}`,
      );
    }
  }
}

test('PostgreSQL: START then COMPLETE, to the file and to OPENLINEAGE_URL, valid, with the sources read', async (t) => {
  const tdb = await migratedDatabase();
  t.teardown(() => tdb.drop());
  const fx = await writeFixture(t, fixtureFiles());
  const server = await endpoint({ status: 201 });
  t.teardown(() => server.close());
  const file = path.join(await tempDir(t, 'lineage-'), 'events.jsonl');
  const env = { DATABASE_URL: tdb.url, ...fx.env, OPENLINEAGE_URL: server.url, OPENLINEAGE_API_KEY: API_KEY };
  const run = await runCli(['load', '--lineage-file', file, '--format', 'json'], env);
  t.is(run.code, 0, run.stderr);
  t.false(`${run.stdout}${run.stderr}`.includes(API_KEY), 'the API key is never printed');
  t.notRegex(run.stderr, /lineage:/);
  const events = await readEvents(file);
  t.deepEqual(
    events.map((e) => e.eventType),
    ['START', 'COMPLETE'],
  );
  for (const e of events) t.deepEqual(runEventProblems(e), [], e.eventType);
  // The same events over HTTP, with the key as a Bearer token.
  t.deepEqual(
    server.received.map((r) => [r.method, r.url, r.headers['authorization'], r.headers['content-type']]),
    [
      ['POST', '/api/v1/lineage', `Bearer ${API_KEY}`, 'application/json'],
      ['POST', '/api/v1/lineage', `Bearer ${API_KEY}`, 'application/json'],
    ],
  );
  t.deepEqual(
    server.received.map((r) => r.body),
    events,
  );
  const { runId } = JSON.parse(run.stdout) as { runId: string };
  t.true(events.every((e) => e.run.runId === lineageRunId(runId)));
  const [start, complete] = events as [RunEvent, RunEvent];
  // Inputs: the folders (namespace file), what was read from them once it was.
  t.deepEqual(
    complete.inputs.map((i) => [i.namespace, i.name]),
    [
      ['file', fx.env['LOG_DATA']],
      ['file', fx.env['SONG_DATA']],
    ],
  );
  t.is(start.inputs[0]?.inputFacets, undefined);
  const logFiles = ['2018/11/a.json', '2018/11/b.json'].map((f) => path.join(fx.env['LOG_DATA'] as string, f));
  const sizes = await Promise.all(logFiles.map(async (f) => (await stat(f)).size));
  t.like(complete.inputs[0]?.inputFacets?.['inputStatistics'], {
    fileCount: 2,
    size: sizes[0]! + sizes[1]!,
    rowCount: 3,
  });
  const versions = await Promise.all(logFiles.map(async (f) => (await stat(f)).mtime.toISOString()));
  t.is(
    complete.inputs[0]?.facets['version']?.['datasetVersion'],
    objectsDigest(logFiles.map((uri, i) => ({ uri, size: sizes[i]!, version: versions[i]! }))),
  );
  t.deepEqual(
    complete.outputs.map((o) => o.name.split('.').pop()),
    pipeline.tables,
  );
  assertEveryStarColumnReachesAKey(t, complete);
  const songplays = complete.outputs.find((o) => o.name.endsWith('.songplays'))!;
  t.deepEqual(reachedInputs(complete, songplays.namespace, songplays.name, 'user_id'), [
    { namespace: 'file', name: fx.env['LOG_DATA'], field: 'userId' },
  ]);
  // Appended: a second load adds its two events after the first two.
  const again = await runCli(['load', '--lineage-file', file], { DATABASE_URL: tdb.url, ...fx.env });
  t.is(again.code, 0, again.stderr);
  t.deepEqual(
    (await readEvents(file)).map((e) => e.eventType),
    ['START', 'COMPLETE', 'START', 'COMPLETE'],
  );
});

test('a failing load ends with FAIL and its error; an endpoint answering 500 is a warning only', async (t) => {
  const tdb = await migratedDatabase();
  t.teardown(() => tdb.drop());
  const fx = await writeFixture(t, { ...fixtureFiles(), logs: { 'a.json': `${JSON.stringify(event())}\n{"ts": ` } });
  const server = await endpoint({ status: 500 });
  t.teardown(() => server.close());
  const file = path.join(await tempDir(t, 'lineage-fail-'), 'events.jsonl');
  const run = await runCli(['load', '--lineage-file', file], {
    DATABASE_URL: tdb.url,
    ...fx.env,
    OPENLINEAGE_URL: server.url,
  });
  t.is(run.code, 3, run.stderr);
  const events = await readEvents(file);
  t.deepEqual(
    events.map((e) => e.eventType),
    ['START', 'FAIL'],
  );
  for (const e of events) t.deepEqual(runEventProblems(e), [], e.eventType);
  const error = events[1]?.run.facets?.['errorMessage'] as unknown as { message: string; programmingLanguage: string };
  t.regex(error.message, /a\.json:2/);
  t.is(server.received.length, 2);
  t.regex(
    run.stderr,
    new RegExp(`lineage: the START event was not written to ${server.url}/api/v1/lineage: HTTP 500 .*the load goes on`),
  );
  t.regex(run.stderr, /lineage: the FAIL event was not written to .*HTTP 500/);
});

test('a load stopped by SIGINT ends with ABORT', async (t) => {
  const tdb = await migratedDatabase();
  t.teardown(() => tdb.drop());
  const fx = await writeFixture(t, fixtureFiles());
  const file = path.join(await tempDir(t, 'lineage-abort-'), 'events.jsonl');
  // Paused once staged (lib/fault-points.ts: until SIGUSR2), interrupted there, then let go on to notice it.
  const child = spawnCli(['load', '--lineage-file', file], {
    PATH: process.env['PATH'],
    HOME: process.env['HOME'],
    TMPDIR: process.env['TMPDIR'],
    DATABASE_URL: tdb.url,
    ...fx.env,
    SPARKIFY_FAULT_AT: 'load:staged',
    SPARKIFY_FAULT: 'wait',
  });
  let stderr = '';
  const said = (text: string) =>
    new Promise<void>((resolve) => {
      const look = () => stderr.includes(text) && resolve();
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        look();
      });
      look();
    });
  const code = new Promise<number | null>((resolve) => child.on('close', resolve));
  await said('fault point: load:staged');
  child.kill('SIGINT');
  await said('SIGINT received');
  child.kill('SIGUSR2');
  t.is(await code, 130, stderr);
  const events = await readEvents(file);
  t.deepEqual(
    events.map((e) => e.eventType),
    ['START', 'ABORT'],
  );
  for (const e of events) t.deepEqual(runEventProblems(e), [], e.eventType);
  t.regex((events[1]?.run.facets?.['errorMessage'] as unknown as { message: string }).message, /Interrupted by SIGINT/);
});

test('an endpoint that never answers: the load completes after OPENLINEAGE_TIMEOUT_SECONDS, with a warning', async (t) => {
  const tdb = await migratedDatabase();
  t.teardown(() => tdb.drop());
  const fx = await writeFixture(t, fixtureFiles());
  const server = await endpoint('hang');
  t.teardown(() => server.close());
  const run = await runCli(['load'], {
    DATABASE_URL: tdb.url,
    ...fx.env,
    OPENLINEAGE_URL: server.url,
    OPENLINEAGE_TIMEOUT_SECONDS: '1',
  });
  t.is(run.code, 0, run.stderr);
  t.is(server.received.length, 2);
  t.regex(run.stderr, /lineage: the START event was not written to .*: no answer within 1 s; the load goes on/);
  t.regex(run.stderr, /lineage: the COMPLETE event was not written to .*: no answer within 1 s/);
});

test.serial('Redshift path (Data API stand-in): S3 prefixes with their ETag digest, Redshift tables', async (t) => {
  const BUCKET = 'lineage-data-api';
  const s3 = await startS3([BUCKET]);
  t.teardown(() => s3.close());
  const fx = await writeFixture(scope, fixtureFiles());
  const sources = await s3.uploadSources(BUCKET, localSources(fx.env));
  const standIn = await startDataApiStandIn(s3);
  t.teardown(() => standIn.close());
  const tdb = await migratedDatabase();
  t.teardown(() => tdb.drop());
  const file = path.join(await tempDir(t, 'lineage-redshift-'), 'events.jsonl');
  const run = await runCli(['load', '--lineage-file', file], {
    ...standIn.env(tdb.name),
    ...sources,
  });
  t.is(run.code, 0, run.stderr);
  const events = await readEvents(file);
  t.deepEqual(
    events.map((e) => e.eventType),
    ['START', 'COMPLETE'],
  );
  for (const e of events) t.deepEqual(runEventProblems(e), [], e.eventType);
  const complete = events[1] as RunEvent;
  t.deepEqual(
    complete.inputs.map((i) => [i.namespace, i.name]),
    [
      [`s3://${BUCKET}`, 'log_data'],
      [`s3://${BUCKET}`, 'song_data'],
    ],
  );
  const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'log_data/' }));
  const objects = (listed.Contents ?? []).map((o) => ({
    uri: `s3://${BUCKET}/${o.Key ?? ''}`,
    size: o.Size ?? 0,
    version: (o.ETag ?? '').replace(/"/g, ''),
  }));
  t.is(objects.length, 2);
  t.like(complete.inputs[0]?.inputFacets?.['inputStatistics'], {
    fileCount: 2,
    size: objects.reduce((a, o) => a + o.size, 0),
    rowCount: 3,
  });
  t.is(complete.inputs[0]?.facets['version']?.['datasetVersion'], objectsDigest(objects));
  t.true(complete.outputs.every((o) => o.namespace.startsWith('redshift://')));
  assertEveryStarColumnReachesAKey(t, complete);
});

test('--lineage-file describes a load that runs: refused with --dry-run and --plan (exit 2)', async (t) => {
  for (const args of [
    ['--dry-run', '--dialect', 'postgres'],
    ['--plan', '--dialect', 'postgres'],
  ]) {
    const r = await runCli(['load', ...args, '--lineage-file', 'events.jsonl']);
    t.is(r.code, 2, r.stderr);
    t.regex(r.stderr, /--lineage-file describes a load that runs: it does not go with --dry-run or --plan/);
  }
});
