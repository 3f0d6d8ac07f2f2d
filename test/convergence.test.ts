// Late and replayed data converge (issue 30): random deliveries of the real
// log and song files, and of a generated set, in 2–6 shuffled incremental
// runs with files delivered again, each end where one full load of the same
// files ends, table by table. A failing case prints its seed and the files of
// each run; `npm run fuzz -- --history --runs N` tries more seeds.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { generate } from '../lib/sample/generator.ts';
import { sharedSparkify } from './helpers/cli.ts';
import {
  convergenceCase,
  convergenceRunner,
  convergenceSource,
  describeCase,
  type ConvergenceSource,
} from './helpers/convergence.ts';
import { migratedDatabase } from './helpers/load.ts';

/** Cases a run of `npm test` tries on each source (seeded: the same cases every run). */
const REAL_CASES = Number(process.env['CONVERGENCE_CASES'] ?? 160);
const GENERATED_CASES = Number(process.env['CONVERGENCE_CASES'] ?? 60);
const SEED = 20261207;

const data = sharedSparkify();

async function check(t: import('ava').ExecutionContext, source: ConvergenceSource, cases: number): Promise<void> {
  const tdb = await migratedDatabase();
  const runner = await convergenceRunner(source, tdb.url);
  try {
    for (let i = 0; i < cases; i += 1) {
      const c = convergenceCase(source, SEED + i);
      const diff = await runner.run(c);
      if (diff.length > 0) {
        t.fail(`${describeCase(source, c)}\ndiffers from one full load:\n  ${diff.join('\n  ')}`);
        return;
      }
    }
    t.pass(`${cases} cases converge`);
  } finally {
    await runner.close();
    await tdb.drop();
  }
}

(data ? test : test.skip)(
  data
    ? "Sparkify's real files delivered in 2–6 shuffled incremental runs, some twice, end as one full load"
    : "Sparkify's real files in shuffled incremental runs (skipped: ../shared/sparkify not found)",
  async (t) => {
    t.timeout(10 * 60_000);
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
  t.timeout(10 * 60_000);
  const out = await mkdtemp(path.join(os.tmpdir(), 'sparkify-converge-gen-'));
  t.teardown(() => rm(out, { recursive: true, force: true }));
  await generate({ songs: 150, events: 3000, days: 20, seed: 7, out });
  const source = await convergenceSource('a generated set (150 songs, 3000 events, 20 days, seed 7)', {
    logDir: path.join(out, 'log_data'),
    songDir: path.join(out, 'song_data'),
    jsonPath: path.join(out, 'log_json_path.json'),
  });
  await check(t, source, GENERATED_CASES);
});
