// Issue 26, item 13: the Data API (its stand-in) killed while a load stages. The run must end with
// exit 1 naming the transport failure (not "Lost the warehouse lock (UnknownError)"), and its summary
// must say that staging ran and was rolled back, not that it was "not started".
import test from 'ava';
import { spawnCli } from './support/spawn-cli.ts';
import { runCli } from './helpers/cli.ts';
import { startDataApiStandIn } from './helpers/data-api.ts';
import { createTestDatabase } from './helpers/database.ts';
import { event, song, writeFixture } from './helpers/fixtures.ts';
import { localSources, startS3, type TestS3 } from './helpers/s3.ts';
import { fileScope } from './helpers/temp-dir.ts';

const BUCKET = 'sparkify-data-api-outage';
const scope = fileScope();
let s3: TestS3;

test.before(async () => {
  s3 = await startS3([BUCKET]);
});

test.after.always(async () => {
  await s3?.close();
});

/** Runs `load` until it reaches `point`, calls `meanwhile`, then lets it go on; its exit code and output. */
async function loadThrough(
  env: Record<string, string>,
  point: string,
  meanwhile: () => Promise<void>,
): Promise<{ code: number | null; stderr: string }> {
  const child = spawnCli(['load'], {
    PATH: process.env['PATH'],
    HOME: process.env['HOME'],
    TMPDIR: process.env['TMPDIR'],
    ...env,
    SPARKIFY_FAULT_AT: point,
    SPARKIFY_FAULT: 'wait',
  });
  let stderr = '';
  let reached: () => void = () => undefined;
  const atPoint = new Promise<void>((resolve) => (reached = resolve));
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (stderr.includes(`fault point: ${point}`)) reached();
  });
  child.stdout.resume();
  const done = new Promise<number | null>((resolve) => child.on('close', resolve));
  await Promise.race([atPoint, done]);
  if (child.exitCode === null && child.signalCode === null) {
    await meanwhile();
    child.kill('SIGUSR2');
  }
  return { code: await done, stderr };
}

test('the Data API killed mid-staging: exit 1 naming the transport failure; the summary says staging ran and was rolled back', async (t) => {
  const standIn = await startDataApiStandIn(s3);
  t.teardown(() => standIn.close());
  const db = await createTestDatabase();
  t.teardown(() => db.drop());
  const f = await writeFixture(scope, {
    logs: { '2018-11-01-events.json': [event(), event({ userId: '11' })] },
    songs: { 'A/a.json': song({ song_id: 'SOAAAA', title: 'Alpha' }) },
  });
  const env = {
    ...standIn.env(db.name),
    ...(await s3.uploadSources(BUCKET, localSources(f.env))),
    // The SDK's retries of a refused connection are quick; the stop is bounded anyway.
    DATA_API_REQUEST_TIMEOUT_SECONDS: '5',
  };
  const up = await runCli(['migrate', 'up'], env);
  t.is(up.code, 0, up.stderr);

  const r = await loadThrough(env, 'stage:staging_events:copied', () => standIn.kill());
  t.is(r.code, 1, r.stderr);
  t.notRegex(r.stderr, /UnknownError/, 'the transport failure is named, not UnknownError');
  t.regex(
    r.stderr,
    /error: The warehouse stopped answering \(Redshift Data API, workgroup sparkify-wg[^)]*: [^)]*ECONNREFUSED/,
  );
  t.regex(r.stderr, /committed: none; interrupted and rolled back: stage; not started: transform users/);
  t.notRegex(r.stderr, /not started: [^.]*\bstage\b/, 'staging is not reported as not started');
  t.is((await db.query<{ n: number }>('select count(*)::int as n from songplays'))[0]?.n, 0);
  t.is((await db.query<{ n: number }>('select count(*)::int as n from load_ledger'))[0]?.n, 0);
});
