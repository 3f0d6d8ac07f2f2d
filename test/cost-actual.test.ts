// Estimate against actual through the real command line: `load --plan` prints
// the expected work and the estimate; a load on a Serverless workgroup (the
// Data API stand-in, which bills its statements into SYS_SERVERLESS_USAGE)
// records the estimate and, once it ends, the measured seconds and the charged
// RPU-seconds of its window; `history` shows both, in text and JSON.
import path from 'node:path';
import test from 'ava';
import { generate } from '../lib/sample/generator.ts';
import { runCli } from './helpers/cli.ts';
import { startDataApiStandIn, type DataApiStandIn } from './helpers/data-api.ts';
import { createTestDatabase } from './helpers/database.ts';
import { generatedSources, startS3, type TestS3 } from './helpers/s3.ts';
import { fileScope, tempDir } from './helpers/temp-dir.ts';

const BUCKET = 'sparkify-cost';
const SOURCES = {
  SONG_DATA: `s3://${BUCKET}/song_data/`,
  LOG_DATA: `s3://${BUCKET}/log_data/`,
  LOG_JSONPATH: `s3://${BUCKET}/meta/log_json_path.json`,
};

const scope = fileScope();
let s3: TestS3;
let standIn: DataApiStandIn;

test.before(async () => {
  const out = await tempDir(scope, 'cost-gen-');
  await generate({ songs: 40, events: 200, seed: 32, out });
  s3 = await startS3([BUCKET]);
  await s3.uploadSources(BUCKET, generatedSources(out));
  standIn = await startDataApiStandIn(s3);
});

test.after.always(async () => {
  await standIn?.close();
  await s3?.close();
});

interface Charge {
  seconds: number;
  rpuSeconds: number | null;
  nodeHours: number | null;
  usd: number | null;
}

test.serial(
  'load --plan, then a load on Serverless records its estimate and the charged RPU-seconds of SYS_SERVERLESS_USAGE; history shows both',
  async (t) => {
    const db = await createTestDatabase();
    t.teardown(() => db.drop());
    const env = { ...standIn.env(db.name), ...SOURCES, REDSHIFT_BASE_CAPACITY: '8' };
    const up = await runCli(['migrate', 'up'], env);
    t.is(up.code, 0, up.stderr);

    const plan = await runCli(['load', '--plan', '--format', 'json'], env);
    t.is(plan.code, 0, plan.stderr);
    const planned = JSON.parse(plan.stdout) as {
      plan: {
        objects: number;
        bytes: number;
        statements: number;
        chunks: null;
        sources: { setting: string; objects: number }[];
      };
      estimate: Charge & { target: unknown; prices: { asOf: string } };
    };
    t.deepEqual(planned.estimate.target, { kind: 'serverless', rpus: 8 });
    t.true(planned.plan.objects > 1 && planned.plan.bytes > 0 && planned.plan.statements > 10, plan.stdout);
    t.is(planned.plan.chunks, null);
    t.deepEqual(
      planned.plan.sources.map((s) => s.setting),
      ['LOG_DATA', 'SONG_DATA'],
    );
    t.is(
      planned.plan.sources.reduce((n, s) => n + s.objects, 0),
      planned.plan.objects,
    );
    t.is(planned.estimate.rpuSeconds, 8 * Math.max(60, Math.ceil(planned.estimate.seconds)), 'the 60-second minimum');
    const text = await runCli(['load', '--plan'], env);
    t.is(text.code, 0, text.stderr);
    t.regex(
      text.stdout,
      /^Target: Redshift Serverless, 8 RPUs base capacity\nObjects: \d+ \(LOG_DATA \d+, SONG_DATA \d+\)\nBytes: \d+ .*\nChunks: none .*\nStatements: \d+\nEstimate: ~\d+s, \$0\.\d{4} \(480 RPU-seconds\)/,
    );
    t.regex(
      text.stdout,
      /Prices: \$0\.3750 an RPU-hour \(price table of \d{4}-\d\d-\d\d, https:\/\/aws\.amazon\.com\/redshift\/pricing\/\)/,
    );

    const load = await runCli(['load'], env);
    t.is(load.code, 0, load.stderr);
    t.regex(load.stderr, /Estimate for Redshift Serverless, 8 RPUs base capacity: ~\d+s/);
    const history = await runCli(['history', '--format', 'json'], env);
    t.is(history.code, 0, history.stderr);
    const run = (
      JSON.parse(history.stdout) as {
        runs: {
          seconds: number;
          cost: { work: { objects: number }; estimate: Charge; actual: Charge & { basis: string } } | null;
        }[];
      }
    ).runs[0];
    t.truthy(run?.cost, history.stdout);
    t.is(run?.cost?.work.objects, planned.plan.objects);
    t.is(run?.cost?.estimate.rpuSeconds, planned.estimate.rpuSeconds);
    t.is(run?.cost?.actual.basis, 'sys_serverless_usage');
    // The stand-in's rows for the run's window, as the tool summed them.
    const usage = await db.query<{ charged: number }>(
      'select coalesce(sum(charged_seconds), 0)::int as charged from public.sys_serverless_usage',
    );
    t.true((run?.cost?.actual.rpuSeconds ?? 0) >= 480, JSON.stringify(run?.cost?.actual));
    t.true((run?.cost?.actual.rpuSeconds ?? 0) <= (usage[0]?.charged ?? 0));
    t.is(run?.cost?.actual.seconds, run?.seconds);
    const table = await runCli(['history'], env);
    t.regex(table.stdout, /estimate\s*\|\s*actual/);
    t.regex(
      table.stdout,
      /~\d+s, \$0\.\d{4} \(480 RPU-seconds\)\s*\|\s*\d+s, \$0\.\d{4} \(\d+ RPU-seconds charged, SYS_SERVERLESS_USAGE\)/,
    );
  },
);

test('load --plan on the embedded PostgreSQL: the local engine, no AWS charge; --plan refuses --dry-run', async (t) => {
  const dir = await tempDir(t, 'cost-plan-');
  await generate({ songs: 10, events: 20, seed: 3, out: dir });
  const env = {
    LOG_DATA: path.join(dir, 'log_data'),
    SONG_DATA: path.join(dir, 'song_data'),
    LOG_JSONPATH: path.join(dir, 'log_json_path.json'),
    WAREHOUSE_DIR: path.join(dir, '.warehouse'),
  };
  const plan = await runCli(['load', '--plan', '--format', 'json'], env);
  t.is(plan.code, 0, plan.stderr);
  const planned = JSON.parse(plan.stdout) as { estimate: { target: unknown; usd: number } };
  t.deepEqual(planned.estimate.target, { kind: 'postgres' });
  t.is(planned.estimate.usd, 0);
  // Redshift's COPY reads S3 only: the S3 sources of the first test, planned for a 4 × dc2.large cluster.
  const redshift = await runCli(['load', '--plan', '--dialect', 'redshift', '--format', 'json'], {
    ...s3.env,
    ...SOURCES,
    REDSHIFT_NODE_TYPE: 'dc2.large',
    REDSHIFT_NODES: '4',
  });
  t.is(redshift.code, 0, redshift.stderr);
  t.like(JSON.parse(redshift.stdout), {
    estimate: { target: { kind: 'provisioned', nodeType: 'dc2.large', nodes: 4 }, hourlyUsd: 1 },
  });
  const both = await runCli(['load', '--plan', '--dry-run'], env);
  t.not(both.code, 0);
  t.regex(both.stderr, /--plan and --dry-run/);
});
