// Issue 26: a compacted load (test/redshift-compaction.test.ts) "exited 1 with no error message" under CPU
// load: runCli had killed it at its 2-minute limit (SIGKILL) and reported the kill as exit 1, and its
// temp folder sparkify-chunks-* stayed behind. Here: a command stopped at runCli's limit says so; a
// compacted load that fails, or is stopped by a signal that it cannot honour in time, removes its temp
// folder (and, when it fails, the chunks it uploaded).
import { readdir } from 'node:fs/promises';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import test from 'ava';
import { spawnCli } from './support/spawn-cli.ts';
import { runCli } from './helpers/cli.ts';
import { startDataApiStandIn, type DataApiStandIn } from './helpers/data-api.ts';
import { createTestDatabase } from './helpers/database.ts';
import { event, song, writeFixture } from './helpers/fixtures.ts';
import { localSources, startS3, type TestS3 } from './helpers/s3.ts';
import { fileScope, tempDir } from './helpers/temp-dir.ts';

const BUCKET = 'sparkify-compaction-cleanup';
const STAGE = 'sparkify-cleanup-stage';
const scope = fileScope();
let s3: TestS3;
let standIn: DataApiStandIn;

test.before(async () => {
  s3 = await startS3([BUCKET, STAGE]);
  standIn = await startDataApiStandIn(s3);
  const f = await writeFixture(scope, {
    logs: { '2018-11-01-events.json': [event()] },
    songs: Object.fromEntries(
      ['A', 'B', 'C', 'D'].map((l) => [`${l}/${l}.json`, song({ song_id: `SO${l}${l}${l}${l}`, title: l })]),
    ),
  });
  await s3.uploadSources(BUCKET, localSources(f.env));
});

test.after.always(async () => {
  await standIn?.close();
  await s3?.close();
});

/** A migrated database through the stand-in, the sources, LOAD_STAGE_PREFIX and a TMPDIR of the test's own. */
async function setup(t: { teardown(fn: () => unknown): void }) {
  const db = await createTestDatabase();
  t.teardown(() => db.drop());
  const tmp = await tempDir(scope, 'cleanup-tmp-');
  const env = {
    ...standIn.env(db.name, { cluster: true }),
    LOG_DATA: `s3://${BUCKET}/log_data/`,
    SONG_DATA: `s3://${BUCKET}/song_data/`,
    LOG_JSONPATH: `s3://${BUCKET}/meta/log_json_path.json`,
    LOAD_STAGE_PREFIX: `s3://${STAGE}/runs/`,
    TMPDIR: tmp,
    STOP_TIMEOUT_SECONDS: '1',
  };
  const up = await runCli(['migrate', 'up'], env);
  if (up.code !== 0) throw new Error(up.stderr);
  const chunkFolders = async () => (await readdir(tmp)).filter((name) => name.startsWith('sparkify-chunks-'));
  const staged = async () =>
    ((await s3.client.send(new ListObjectsV2Command({ Bucket: STAGE }))).Contents ?? []).map((o) => o.Key ?? '');
  return { env, chunkFolders, staged };
}

test.serial(
  'a command still running at runCli\'s limit is stopped with SIGTERM and the result says so, not "exit 1"',
  async (t) => {
    const { env } = await setup(t);
    const r = await runCli(
      ['load'],
      { ...env, SPARKIFY_FAULT_AT: 'load:locked', SPARKIFY_FAULT: 'hang' },
      { timeoutMs: 2000 },
    );
    t.is(r.code, 143, r.stderr);
    t.regex(r.stderr, /runCli: `load` did not end within 2s \(its timeoutMs\): sent SIGTERM/);
  },
);

test.serial(
  'a compacted load that fails after a chunk is uploaded: its error, no temp folder, no chunk left',
  async (t) => {
    const { env, chunkFolders, staged } = await setup(t);
    const r = await runCli(['load', '--compact'], {
      ...env,
      SPARKIFY_FAULT_AT: 'compact:chunk-written',
      SPARKIFY_FAULT: 'fail',
    });
    t.is(r.code, 1, r.stderr);
    t.regex(r.stderr, /error: injected failure at fault point compact:chunk-written/);
    t.deepEqual(await chunkFolders(), [], 'the temp folder is removed');
    t.deepEqual(await staged(), [], 'the chunks uploaded are removed');
  },
);

test.serial(
  'SIGTERM while compaction cannot stop: exit 143 after STOP_TIMEOUT_SECONDS, saying why; the temp folder is removed, the uploaded chunks stay under the run id',
  async (t) => {
    const { env, chunkFolders, staged } = await setup(t);
    const child = spawnCli(['load', '--compact'], {
      PATH: process.env['PATH'],
      HOME: process.env['HOME'],
      ...env,
      SPARKIFY_FAULT_AT: 'compact:chunk-written',
      SPARKIFY_FAULT: 'hang',
    });
    t.teardown(() => child.kill('SIGKILL'));
    let stderr = '';
    const reached = new Promise<void>((resolve) =>
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes('fault point: compact:chunk-written')) resolve();
      }),
    );
    child.stdout.resume();
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    await Promise.race([reached, exited]);
    t.is(await chunkFolders().then((f) => f.length), 1, 'compacting: its temp folder exists');
    child.kill('SIGTERM');
    t.is(await exited, 143, stderr);
    t.regex(stderr, /SIGTERM received, and the run has not stopped within 1s \(STOP_TIMEOUT_SECONDS\)/);
    t.deepEqual(await chunkFolders(), [], 'the temp folder is removed on the way out');
    t.true(
      (await staged()).every((key) => /^runs\/\d{14}-[0-9a-f]{8}\/staging_(events|songs)\/chunk-/.test(key)),
      'what stays is under LOAD_STAGE_PREFIX/<run id>/ (docs/redshift.md: a lifecycle rule removes it)',
    );
  },
);
