/**
 * npm run fuzz [-- --runs N] [--seed S] [--path P]
 * npm run fuzz -- --history [--runs N] [--seed S] [--data DIR]
 *
 * --history: late and replayed deliveries (test/helpers/convergence.ts):
 * N random splits of the log and song files into 2–6 shuffled incremental
 * runs with files delivered again, each compared with one full load, on a
 * throw-away embedded PostgreSQL (or TEST_DATABASE_URL). The files are
 * Sparkify's real sample (../shared/sparkify, or --data) when there is one,
 * else a generated set. A failing case prints its seed and the files of each
 * run; `--seed S --runs 1` replays it.
 *
 * Differential fuzzing of the two staging paths (test/helpers/staging-fuzz.ts)
 * for as long as asked: `npm test` runs 3000 cases with a fixed seed; this runs
 * N with a new seed (or the one given). A counterexample is printed, shrunk,
 * with its seed and path and the command that replays it; the exit code is 1.
 * Progress goes to stderr, the result to stdout.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { createLogger } from '../../lib/log.ts';
import { generate } from '../../lib/sample/generator.ts';
import { convergenceSource, convergenceWorkers, runCases } from '../../test/helpers/convergence.ts';
import { checkCase, fuzzCase } from '../../test/helpers/staging-fuzz.ts';
import { startScratchServer } from '../../test/support/scratch-server.ts';

const args = await yargs(hideBin(process.argv))
  .scriptName('npm run fuzz --')
  .usage(
    '$0 [--runs N] [--seed S] [--path P]\n\nRandom inputs through both staging paths: the same rows and problems, and every accepted value as JSON.parse renders it.',
  )
  .option('runs', { type: 'number', describe: 'how many random cases to try (default 100000; 200 with --history)' })
  .option('history', {
    type: 'boolean',
    default: false,
    describe: 'late and replayed deliveries in shuffled incremental runs, each compared with one full load',
  })
  .option('data', {
    type: 'string',
    describe:
      'with --history: a folder with log_data/, song_data/ and log_json_path.json (default ../shared/sparkify, else a generated set)',
  })
  .option('seed', { type: 'number', describe: 'the seed to start from (default: a new one, printed)' })
  .option('path', { type: 'string', describe: 'with --seed: replay one counterexample (the path a failure printed)' })
  .check((a) => {
    if (a.runs !== undefined && (!Number.isInteger(a.runs) || a.runs < 1 || a.runs > 100_000_000))
      throw new Error('--runs takes a whole number from 1 to 100000000');
    if (a.seed !== undefined && (!Number.isInteger(a.seed) || Math.abs(a.seed) > 2 ** 31))
      throw new Error('--seed takes a whole number (a 32-bit integer)');
    if (a.path !== undefined && a.history)
      throw new Error('--path replays a staging counterexample; --history takes --seed');
    if (a.data !== undefined && !a.history) throw new Error('--data goes with --history');
    if (a.path !== undefined && (a.seed === undefined || !/^\d+(:\d+)*$/.test(a.path)))
      throw new Error('--path takes the digits and colons a failure printed, and goes with --seed');
    return true;
  })
  .strict()
  .help()
  .parseAsync();

const seed = args.seed ?? (Math.random() * 2 ** 31) | 0;
const started = Date.now();
if (args.history) {
  process.exitCode = await history(args.runs ?? 200, seed, args.data);
  process.exit();
}
const runs = args.runs ?? 100000;
process.stderr.write(`Fuzzing the staging paths: ${runs} runs, seed ${seed}\n`);
let tried = 0;
const property = fc.asyncProperty(fuzzCase, async (c) => {
  tried += 1;
  if (tried % 10000 === 0) process.stderr.write(`  ${tried} cases, ${Math.round((Date.now() - started) / 1000)} s\n`);
  await checkCase(c);
});
const details = await fc.check(property, { numRuns: runs, seed, ...(args.path ? { path: args.path } : {}) });
const seconds = Math.round((Date.now() - started) / 1000);
if (!details.failed) {
  process.stdout.write(`OK: ${details.numRuns} runs, no counterexample (seed ${seed}, ${seconds} s)\n`);
} else {
  const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  process.stdout.write(
    [
      `Counterexample after ${details.numRuns} runs (shrunk ${details.numShrinks} times), seed ${details.seed}, path ${details.counterexamplePath ?? ''}:`,
      `  ${JSON.stringify(details.counterexample?.[0])}`,
      `  ${error.replace(/\n/g, '\n  ')}`,
      `Replay: npm run fuzz -- --seed ${details.seed} --path ${details.counterexamplePath ?? ''}`,
      '',
    ].join('\n'),
  );
  process.exitCode = 1;
}

/** --history: N cases from `seed` on; 0 when every one converges, 1 at the first that does not. */
async function history(cases: number, first: number, data: string | undefined): Promise<number> {
  const log = createLogger();
  const shared = path.resolve(import.meta.dirname, '..', '..', '..', 'shared', 'sparkify');
  const root = data ?? ((await stat(shared).catch(() => undefined)) ? shared : undefined);
  const generated = root ? undefined : await mkdtemp(path.join(os.tmpdir(), 'sparkify-fuzz-history-'));
  const server = process.env['TEST_DATABASE_URL'] ? undefined : await startScratchServer('sparkify-fuzz', log);
  if (server) process.env['TEST_DATABASE_URL'] = server.url;
  try {
    if (generated) await generate({ songs: 150, events: 3000, days: 20, seed: 7, out: generated });
    const dir = root ?? (generated as string);
    const source = await convergenceSource(root ? dir : 'a generated set (150 songs, 3000 events, 20 days, seed 7)', {
      logDir: path.join(dir, 'log_data'),
      songDir: path.join(dir, 'song_data'),
      jsonPath: path.join(dir, 'log_json_path.json'),
    });
    process.stderr.write(`Late and replayed deliveries of ${source.name}: ${cases} cases from seed ${first}\n`);
    const workers = convergenceWorkers();
    const { ran, failure } = await runCases(source, {
      first,
      count: cases,
      workers,
      progress: (n) => {
        if (n % 10 === 0) process.stderr.write(`  ${n} cases, ${Math.round((Date.now() - started) / 1000)} s\n`);
      },
    });
    if (failure !== undefined) {
      process.stdout.write(
        `${failure.message}\nReplay: npm run fuzz -- --history --seed ${failure.seed} --runs 1${data ? ` --data ${data}` : ''}\n`,
      );
      return 1;
    }
    process.stdout.write(
      `OK: ${ran} cases converge (seeds ${first} to ${first + cases - 1}, ${workers} databases at once, ${Math.round((Date.now() - started) / 1000)} s)\n`,
    );
    return 0;
  } finally {
    await server?.stop();
    if (generated) await rm(generated, { recursive: true, force: true });
  }
}
