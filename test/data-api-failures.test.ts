// Failures through the Redshift Data API (the stand-in, scripts/dev/data-api-stand-in.ts):
// a failed COPY named from the load-error tables, --max-errors, a session lost mid-load,
// two loads at once, an incremental load from a manifest, and no secret in any output.
import type { ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import test, { type ExecutionContext } from 'ava';
import { spawnCli } from './support/spawn-cli.ts';
import { runCli } from './helpers/cli.ts';
import { startDataApiStandIn, type DataApiStandIn } from './helpers/data-api.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { event, song, writeFixture, type Event, type Song } from './helpers/fixtures.ts';
import { startS3, type TestS3 } from './helpers/s3.ts';
import { fileScope } from './helpers/temp-dir.ts';

const BUCKET = 'sparkify-data-api-failures';
const scope = fileScope();
let s3: TestS3;
let standIn: DataApiStandIn;
/** A second stand-in under the other reading of PG_LAST_COPY_ID (the tool must not depend on either). */
let otherReading: DataApiStandIn;
let prefixes = 0;
const children = new Set<ChildProcess>();

test.before(async () => {
  s3 = await startS3([BUCKET]);
  standIn = await startDataApiStandIn(s3, { lastCopyIdReading: 'not-updated' });
  otherReading = await startDataApiStandIn(s3, { lastCopyIdReading: 'updated' });
});

test.after.always(async () => {
  for (const child of children) child.kill('SIGKILL');
  await standIn?.close();
  await otherReading?.close();
  await s3?.close();
});

/** Uploads log and song files under a prefix of their own; returns the source settings. */
async function sources(files: {
  logs?: Record<string, Event[] | string>;
  songs?: Record<string, Song | string>;
}): Promise<Record<string, string>> {
  const f = await writeFixture(scope, files);
  const prefix = `set${(prefixes += 1)}/`;
  await s3.upload(BUCKET, `${prefix}log_data/`, f.env['LOG_DATA'] as string);
  await s3.upload(BUCKET, `${prefix}song_data/`, f.env['SONG_DATA'] as string);
  await s3.put(BUCKET, `${prefix}meta/log_json_path.json`, await readFile(path.join(f.root, 'log_json_path.json')));
  return {
    LOG_DATA: `s3://${BUCKET}/${prefix}log_data/`,
    SONG_DATA: `s3://${BUCKET}/${prefix}song_data/`,
    LOG_JSONPATH: `s3://${BUCKET}/${prefix}meta/log_json_path.json`,
  };
}

async function migrated(
  extra: Record<string, string>,
  options: { cluster?: boolean; via?: DataApiStandIn } = {},
): Promise<{ db: TestDatabase; env: Record<string, string> }> {
  const db = await createTestDatabase();
  const env = { ...(options.via ?? standIn).env(db.name, options), ...extra };
  const up = await runCli(['migrate', 'up'], env);
  if (up.code !== 0) throw new Error(up.stderr);
  return { db, env };
}

const count = async (db: TestDatabase, table: string) =>
  (await db.query<{ n: number }>(`select count(*)::int as n from ${table}`))[0]?.n;

const GOOD_SONGS = {
  'A/a.json': song({ song_id: 'SOAAAA', title: 'Alpha' }),
  'B/b.json': song({ song_id: 'SOBBBB', title: 'Beta' }),
};
const BAD_SONG = `${JSON.stringify(song({ song_id: 'SOCCCC', title: 'Gamma', year: 'nineteen' }))}\n`;

// Issue 28, points 1 and 2: a failed COPY and the records a COPY skipped are found without PG_LAST_COPY_ID
// (under either reading of its page) and without STL's id in SYS: on a provisioned cluster (STL_LOAD_ERRORS by the
// statement's RedshiftQueryId) and on Serverless (SYS_LOAD_ERROR_DETAIL by session, table and start time).
for (const reading of ['not-updated', 'updated'] as const) {
  for (const cluster of [true, false]) {
    const target = `${cluster ? 'cluster' : 'Serverless'}, PG_LAST_COPY_ID ${reading} after a failed COPY`;
    const via = () => (reading === 'not-updated' ? standIn : otherReading);

    test.serial(
      `${target}: a failed COPY names file, line, column${cluster ? ', value' : ''} and reason, exits 3 and changes nothing`,
      async (t) => {
        const src = await sources({
          logs: { '2018-11-01-events.json': [event(), event({ userId: '11' })] },
          songs: { ...GOOD_SONGS, 'C/bad.json': BAD_SONG },
        });
        const { db, env } = await migrated(src, { cluster, via: via() });
        t.teardown(() => db.drop());
        const r = await runCli(['load'], env);
        t.is(r.code, 3, r.stderr);
        t.regex(
          r.stderr,
          cluster
            ? /COPY failed: s3:\/\/sparkify-data-api-failures\/set\d+\/song_data\/C\/bad\.json:1, field year: .+\(value: nineteen\)/
            : /COPY failed: s3:\/\/\S+\/C\/bad\.json:1, field year: /,
        );
        for (const table of ['staging_events', 'staging_songs', 'users', 'songs'])
          t.is(await count(db, table), 0, table);
      },
    );

    test.serial(
      `${target}: --max-errors loads the good records and lists the skipped one as the PostgreSQL path does`,
      async (t) => {
        const src = await sources({
          logs: { '2018-11-01-events.json': [event()] },
          songs: { ...GOOD_SONGS, 'C/bad.json': BAD_SONG },
        });
        const { db, env } = await migrated(src, { cluster, via: via() });
        t.teardown(() => db.drop());
        const r = await runCli(['load', '--max-errors', '5'], env);
        t.is(r.code, 0, r.stderr);
        t.is(await count(db, 'songs'), 2);
        t.regex(r.stdout, /Skipped 1 bad record\(s\)[\s\S]*bad\.json:1, field year/);
        const stl = await db.query<{ file: string; line: number; value: string }>(
          'select trim(filename) as file, line_number::int as line, trim(raw_field_value) as value from public.stl_load_errors',
        );
        t.deepEqual(
          stl.map((e) => [e.file.replace(/^.*\/song_data\//, ''), e.line, e.value]),
          cluster ? [['C/bad.json', 1, 'nineteen']] : [],
          'STL rows on a provisioned cluster only',
        );
      },
    );
  }
}

// Issue 28, point 7: a multi-line (pretty-printed) record is named by its last line on both engines, as
// Redshift's STL_LOAD_ERRORS.line_number does ("the last line of the JSON object that caused the error").
test.serial(
  'a bad value in a pretty-printed record: the same file and line (its last) on PostgreSQL and through the Data API',
  async (t) => {
    const pretty = `${JSON.stringify(song({ song_id: 'SOPPPP', title: 'Pretty', year: 'nineteen' }), null, 2)}\n`;
    const lastLine = pretty.trimEnd().split('\n').length;
    t.true(lastLine > 5);
    const src = await sources({
      logs: { '2018-11-01-events.json': [event()] },
      songs: { ...GOOD_SONGS, 'P/pretty.json': pretty },
    });
    const { db, env } = await migrated(src, { cluster: true });
    t.teardown(() => db.drop());
    const redshift = await runCli(['load'], env);
    const pgDb = await createTestDatabase();
    t.teardown(() => pgDb.drop());
    const pgEnv = { ...s3.env, ...src, DATABASE_URL: pgDb.url };
    t.is((await runCli(['migrate', 'up'], pgEnv)).code, 0);
    const postgres = await runCli(['load'], pgEnv);
    for (const r of [redshift, postgres]) {
      t.is(r.code, 3, r.stderr);
      t.regex(r.stderr, new RegExp(`P/pretty\\.json:${lastLine}, field year`));
    }
  },
);

/** Starts a load that stops at a fault point until SIGUSR2. */
function startAt(
  env: Record<string, string>,
  point: string,
): {
  child: ChildProcess;
  reached: Promise<void>;
  said: (text: string) => Promise<void>;
  done: Promise<{ code: number | null; stderr: string; stdout: string }>;
} {
  const child = spawnCli(['load', '--verbose'], {
    PATH: process.env['PATH'],
    HOME: process.env['HOME'],
    TMPDIR: process.env['TMPDIR'],
    ...env,
    SPARKIFY_FAULT_AT: point,
    SPARKIFY_FAULT: 'wait',
  });
  children.add(child);
  let stderr = '';
  let stdout = '';
  const waiters: (() => void)[] = [];
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
    for (const w of waiters) w();
  });
  const said = (text: string) =>
    new Promise<void>((resolve, reject) => {
      const look = () => stderr.includes(text) && resolve();
      waiters.push(look);
      child.on('close', () => reject(new Error(`exited before saying ${text}:\n${stderr}`)));
      look();
    });
  const done = new Promise<{ code: number | null; stderr: string; stdout: string }>((resolve) =>
    child.on('close', (code) => {
      children.delete(child);
      resolve({ code, stderr, stdout });
    }),
  );
  const reached = said(`fault point: ${point}`);
  reached.catch(() => undefined);
  return { child, reached, said, done };
}

/** The PostgreSQL backend of the Data API session that holds the warehouse lock, and those of the songplays step's session. */
async function sessionBackends(db: TestDatabase): Promise<{ lock: number | undefined; working: number[] }> {
  const rows = await db.query<{ pid: number; holds_lock: boolean; songplays: boolean }>(
    `select a.pid, a.query ilike '%songplays%' as songplays, exists (select 1 from pg_locks l where l.pid = a.pid and l.relation = 'sparkify_lock'::regclass and l.granted and l.mode = 'AccessExclusiveLock') as holds_lock
     from pg_stat_activity a
     where a.datname = current_database() and a.application_name like 'data-api-session:%' and a.state like 'idle in transaction%'`,
  );
  return {
    lock: rows.find((r) => r.holds_lock)?.pid,
    working: rows.filter((r) => !r.holds_lock && r.songplays).map((r) => r.pid),
  };
}

const SMALL = {
  logs: { '2018-11-01-events.json': [event(), event({ userId: '11' }), event({ userId: '12', song: 'Alpha' })] },
  songs: GOOD_SONGS,
};

/** A load paused before songplays commits; then the backend of the lock's session, or of songplays' own session, is terminated and the load released. */
async function loseSessionMidSongplays(
  t: ExecutionContext,
  which: 'lock' | 'work',
): Promise<{ db: TestDatabase; result: { code: number | null; stderr: string } }> {
  const { db, env } = await migrated(await sources(SMALL));
  t.teardown(() => db.drop());
  const run = startAt(env, 'transform:songplays:before-commit');
  await run.reached;
  const { lock, working } = await sessionBackends(db);
  if (which === 'work') t.is(working.length, 1, 'one work session in a transaction (songplays)');
  const pid = which === 'lock' ? lock : working[0];
  t.truthy(pid);
  await db.query('select pg_terminate_backend($1)', [pid]);
  run.child.kill('SIGUSR2');
  return { db, result: await run.done };
}

test.serial(
  'a Data API session lost mid-transaction (its backend terminated) leaves that step unapplied and says so',
  async (t) => {
    const { db, result } = await loseSessionMidSongplays(t, 'work');
    t.not(result.code, 0, result.stderr);
    t.regex(result.stderr, /Data API session \S+ ended inside a transaction, which Redshift rolled back/);
    t.is(await count(db, 'songplays'), 0, 'songplays not half-applied');
    t.is(await count(db, 'load_ledger'), 0);
  },
);

test.serial('the lock session lost mid-load stops the run with exit 5 before anything more commits', async (t) => {
  const { db, result } = await loseSessionMidSongplays(t, 'lock');
  t.is(result.code, 5, result.stderr);
  t.regex(result.stderr, /Lost the warehouse lock/);
  t.is(await count(db, 'songplays'), 0);
  t.is(await count(db, 'load_ledger'), 0);
});

test.serial('two loads at once through the Data API: the second waits for the lock, then both succeed', async (t) => {
  const { db, env } = await migrated(await sources(SMALL));
  t.teardown(() => db.drop());
  const first = startAt(env, 'load:locked');
  await first.reached;
  const second = startAt(env, 'no-such-point');
  await second.said('Waiting for the warehouse lock');
  first.child.kill('SIGUSR2');
  const [a, b] = await Promise.all([first.done, second.done]);
  t.is(a.code, 0, a.stderr);
  t.is(b.code, 0, b.stderr);
  t.is(await count(db, 'songplays'), 3);
});

test.serial(
  'an incremental load writes a manifest and COPYs only the new objects; an unchanged re-run stages nothing',
  async (t) => {
    const src = await sources({
      logs: { '2018-11-01-events.json': [event(), event({ userId: '11' })] },
      songs: GOOD_SONGS,
    });
    // s3rver's buckets are in us-east-1 (its GetBucketLocation answer), and the manifest must be in COPY's REGION (issue 12, point 7).
    const { db, env } = await migrated({
      ...src,
      LOAD_MANIFEST_PREFIX: `s3://${BUCKET}/manifests/`,
      AWS_REGION: 'us-east-1',
    });
    t.teardown(() => db.drop());
    const first = await runCli(['load', '--incremental'], env);
    t.is(first.code, 0, first.stderr);
    t.is(await count(db, 'songplays'), 2);
    await s3.put(
      BUCKET,
      `${src['LOG_DATA']?.replace(`s3://${BUCKET}/`, '')}2018-11-02-events.json`,
      JSON.stringify(event({ userId: '12', song: 'Beta', title: 'Beta' })),
    );
    const second = await runCli(['load', '--incremental'], env);
    t.is(second.code, 0, second.stderr);
    t.regex(second.stderr, /Staging staging_events: 1 new or changed of 2 objects/);
    t.is(await count(db, 'songplays'), 3);
    t.is(await count(db, 'staging_events'), 1);
    const manifests = await s3.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'manifests/' }));
    t.true((manifests.Contents ?? []).length >= 2);
    const third = await runCli(['load', '--incremental'], env);
    t.is(third.code, 0, third.stderr);
    t.is(await count(db, 'songplays'), 3);
  },
);

test.serial('no secret reaches the output: COPY keys, session token, with --verbose and on failure', async (t) => {
  const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYDATAAPIKEY';
  const token = 'FwoGZXIvYXdzEDataApiSessionToken0123456789';
  const src = await sources({
    logs: { '2018-11-01-events.json': [event()] },
    songs: { ...GOOD_SONGS, 'C/bad.json': BAD_SONG },
  });
  const { db, env } = await migrated(src, { cluster: true });
  t.teardown(() => db.drop());
  const withKeys = {
    ...env,
    IAM_ROLE_ARN: '',
    AWS_ACCESS_KEY_ID: 'AKIADATAAPITEST00001',
    AWS_SECRET_ACCESS_KEY: secret,
    AWS_SESSION_TOKEN: token,
    REDSHIFT_USER: 'loader',
  };
  for (const args of [
    ['load', '--verbose'],
    ['load', '--verbose', '--max-errors', '5'],
    ['query', '--verbose', 'SELECT 1 AS one'],
  ]) {
    const r = await runCli(args, withKeys);
    t.true(r.stderr.includes('Data API statement'), r.stderr);
    for (const value of [secret, token])
      t.false((r.stdout + r.stderr).includes(value), `${args.join(' ')} printed a secret`);
  }
});
