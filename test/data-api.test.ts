// The Redshift plan executed end to end through the Redshift Data API: the
// tool's Data API transport (lib/db/data-api-connection.ts) talking to the
// stand-in (scripts/dev/data-api-stand-in.ts) over HTTP, which runs each
// statement on the test PostgreSQL after its documented rewrites and does
// COPY from s3rver. Every command goes through the real command line.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { generate } from '../lib/sample/generator.ts';
import { runCli } from './helpers/cli.ts';
import { startDataApiStandIn, type DataApiStandIn } from './helpers/data-api.ts';
import { createTestDatabase } from './helpers/database.ts';
import { startS3, type TestS3 } from './helpers/s3.ts';
import { fileScope, tempDir } from './helpers/temp-dir.ts';

const BUCKET = 'sparkify-data-api';
const SOURCES = {
  SONG_DATA: `s3://${BUCKET}/song_data/`,
  LOG_DATA: `s3://${BUCKET}/log_data/`,
  LOG_JSONPATH: `s3://${BUCKET}/meta/log_json_path.json`,
};
const STAR = ['songplays', 'users', 'songs', 'artists', 'time'] as const;

const scope = fileScope();
let s3: TestS3;
let standIn: DataApiStandIn;
let expected: Record<string, number>;

test.before(async () => {
  const out = await tempDir(scope, 'data-api-gen-');
  expected = (await generate({ songs: 300, events: 1500, seed: 16, out })) as unknown as Record<string, number>;
  s3 = await startS3([BUCKET]);
  await s3.upload(BUCKET, 'song_data/', path.join(out, 'song_data'));
  await s3.upload(BUCKET, 'log_data/', path.join(out, 'log_data'));
  await s3.put(BUCKET, 'meta/log_json_path.json', await readFile(path.join(out, 'log_json_path.json')));
  standIn = await startDataApiStandIn(s3, { pageRows: 250 });
});

test.after.always(async () => {
  await standIn?.close();
  await s3?.close();
});

test.serial('migrate up, load, verify through the Data API run the Redshift plan', async (t) => {
  const db = await createTestDatabase();
  t.teardown(() => db.drop());
  const env = { ...standIn.env(db.name), ...SOURCES };
  const up = await runCli(['migrate', 'up', '--verbose'], env);
  t.is(up.code, 0, up.stderr);
  t.regex(up.stderr, /Data API statement [0-9a-f-]{36}/);
  const load = await runCli(['load'], env);
  t.is(load.code, 0, load.stderr);
  const verify = await runCli(['verify'], env);
  t.is(verify.code, 0, verify.stderr);
  for (const table of STAR) {
    const rows = await db.query<{ n: number }>(`select count(*)::int as n from ${table}`);
    t.is(rows[0]?.n, expected[table], table);
  }
});
