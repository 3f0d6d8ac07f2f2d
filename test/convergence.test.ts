// Late and replayed data converge (issue 30): random deliveries of the real
// log and song files, and of a generated set, in 2–6 shuffled incremental
// runs with files delivered again, each end where one full load of the same
// files ends, table by table. A failing case prints its seed and the files of
// each run; `npm run fuzz -- --history --runs N` tries more seeds.
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { generate } from '../lib/sample/generator.ts';
import { sharedSparkify } from './helpers/cli.ts';
import {
  convergenceCase,
  dataApiConvergence,
  convergenceRunner,
  convergenceSource,
  convergenceWorkers,
  describeCase,
  runCases,
  type ConvergenceSource,
} from './helpers/convergence.ts';
import { startDataApiStandIn } from './helpers/data-api.ts';
import { migratedDatabase } from './helpers/load.ts';
import { startS3 } from './helpers/s3.ts';

/** Cases a run of `npm test` tries (seeded: the same cases every run); CONVERGENCE_CASES for a quick look. */
const REAL_CASES = Number(process.env['CONVERGENCE_CASES'] ?? 200);
const GENERATED_CASES = Number(process.env['CONVERGENCE_CASES'] ?? 40);
const STAND_IN_CASES = Math.min(3, Number(process.env['CONVERGENCE_CASES'] ?? 3));
const SEED = 20261207;
const WORKERS = convergenceWorkers();

const data = sharedSparkify();
if (!data && process.env['REQUIRE_SHARED_DATA'] === '1')
  throw new Error('REQUIRE_SHARED_DATA=1 but ../shared/sparkify is missing');

/** Runs `cases` seeds over WORKERS databases; fails with the first case that does not converge. */
async function check(t: ExecutionContext, source: ConvergenceSource, cases: number): Promise<void> {
  if (!Number.isInteger(cases) || cases < 1)
    return t.fail(`CONVERGENCE_CASES: a whole number of 1 or more, not ${cases}`);
  const { ran, failure } = await runCases(source, { first: SEED, count: cases, workers: WORKERS });
  if (failure !== undefined) t.fail(failure.message);
  else t.is(ran, cases, `only ${ran} of ${cases} cases ran`);
  t.log(`${ran} cases of ${source.name}`);
}

async function generatedSource(t: ExecutionContext): Promise<ConvergenceSource> {
  const out = await mkdtemp(path.join(os.tmpdir(), 'sparkify-converge-gen-'));
  t.teardown(() => rm(out, { recursive: true, force: true }));
  await generate({ songs: 150, events: 3000, days: 20, seed: 7, out });
  return convergenceSource('a generated set (150 songs, 3000 events, 20 days, seed 7)', {
    logDir: path.join(out, 'log_data'),
    songDir: path.join(out, 'song_data'),
    jsonPath: path.join(out, 'log_json_path.json'),
  });
}

(data ? test : test.skip)(
  data
    ? "Sparkify's real files delivered in 2–6 shuffled incremental runs, some twice, end as one full load"
    : "Sparkify's real files in shuffled incremental runs (skipped: ../shared/sparkify not found)",
  async (t) => {
    t.timeout(20 * 60_000);
    const root = data ?? '';
    const source = await convergenceSource('the real sample', {
      logDir: path.join(root, 'log_data'),
      songDir: path.join(root, 'song_data'),
      jsonPath: path.join(root, 'log_json_path.json'),
    });
    t.is(source.logFiles.length, 30);
    await check(t, source, REAL_CASES);
  },
);

test('a generated set delivered in 2–6 shuffled incremental runs, some twice, ends as one full load', async (t) => {
  t.timeout(20 * 60_000);
  await check(t, await generatedSource(t), GENERATED_CASES);
});

test('the comparison sees a row lost, a row loaded twice and a value changed', async (t) => {
  const source = await generatedSource(t);
  const tdb = await migratedDatabase();
  t.teardown(() => tdb.drop());
  const runner = await convergenceRunner(source, tdb.url);
  t.teardown(() => runner.close());
  const c = convergenceCase(source, SEED);
  t.deepEqual(await runner.run(c), [], describeCase(source, c));
  const seen = async (tamper: string) => (await runner.run(c, tamper)).join('\n');
  t.regex(
    await seen('DELETE FROM songplays WHERE songplay_id = (SELECT MIN(songplay_id) FROM songplays)'),
    /^songplays: 1 rows of the full load missing, 0 rows it does not have/,
  );
  t.regex(
    await seen('INSERT INTO user_levels SELECT * FROM user_levels ORDER BY user_id, valid_from LIMIT 1'),
    /^user_levels: 0 rows of the full load missing, 1 rows it does not have/,
  );
  t.regex(
    await seen(
      `UPDATE artists SET name = COALESCE(name, '') || ' (changed)' WHERE artist_id = (SELECT MIN(artist_id) FROM artists)`,
    ),
    /^artists: 1 rows of the full load missing, 1 rows it does not have\n.*\n.*\(changed\)/,
  );
});

test('a case that throws fails with its seed and its runs, and the cases stop', async (t) => {
  const source = await generatedSource(t);
  const gone = source.logFiles[0] ?? '';
  // After the first case, a log file every case delivers disappears: the next case cannot deliver it.
  const { ran, failure } = await runCases(source, {
    first: SEED,
    count: 4,
    workers: 1,
    progress: () => rmSync(path.join(source.logDir, gone)),
  });
  t.is(ran, 1);
  t.is(failure?.seed, SEED + 1);
  t.regex(
    failure?.message ?? '',
    new RegExp(`seed ${SEED + 1}, \\d incremental runs:\\n  run 1: [^]*\\nfailed: Error: ENOENT`),
  );
});

test('through the Data API stand-in (the Redshift plan, sources in S3), shuffled incremental runs end as one full load', async (t) => {
  t.timeout(15 * 60_000);
  const buckets = { data: 'sparkify-converge', manifests: 'sparkify-converge-manifests' };
  const s3 = await startS3([buckets.data, buckets.manifests]);
  t.teardown(() => s3.close());
  const standIn = await startDataApiStandIn(s3);
  t.teardown(() => standIn.close());
  const source = await generatedSource(t);
  const cases = Array.from({ length: STAND_IN_CASES }, (_, i) => convergenceCase(source, SEED + i));
  const { failure, expected } = await dataApiConvergence(source, s3, standIn, buckets, cases);
  if (failure !== undefined) return t.fail(failure);
  // The same rows as the PostgreSQL path's full load of the same files.
  const tdb = await migratedDatabase();
  t.teardown(() => tdb.drop());
  const runner = await convergenceRunner(source, tdb.url);
  await runner.close();
  t.deepEqual(expected, runner.expected);
});
