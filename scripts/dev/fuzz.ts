/**
 * npm run fuzz [-- --runs N] [--seed S] [--path P]
 *
 * Differential fuzzing of the two staging paths (test/helpers/staging-fuzz.ts)
 * for as long as asked: `npm test` runs 3000 cases with a fixed seed; this runs
 * N with a new seed (or the one given). A counterexample is printed, shrunk,
 * with its seed and path and the command that replays it; the exit code is 1.
 * Progress goes to stderr, the result to stdout.
 */
import fc from 'fast-check';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { checkCase, fuzzCase } from '../../test/helpers/staging-fuzz.ts';

const args = await yargs(hideBin(process.argv))
  .scriptName('npm run fuzz --')
  .usage(
    '$0 [--runs N] [--seed S] [--path P]\n\nRandom inputs through both staging paths: the same rows and problems, and every accepted value as JSON.parse renders it.',
  )
  .option('runs', { type: 'number', default: 100000, describe: 'how many random cases to try' })
  .option('seed', { type: 'number', describe: 'the seed to start from (default: a new one, printed)' })
  .option('path', { type: 'string', describe: 'with --seed: replay one counterexample (the path a failure printed)' })
  .check((a) => {
    if (!Number.isInteger(a.runs) || a.runs < 1 || a.runs > 100_000_000)
      throw new Error('--runs takes a whole number from 1 to 100000000');
    if (a.seed !== undefined && (!Number.isInteger(a.seed) || Math.abs(a.seed) > 2 ** 31))
      throw new Error('--seed takes a whole number (a 32-bit integer)');
    if (a.path !== undefined && (a.seed === undefined || !/^\d+(:\d+)*$/.test(a.path)))
      throw new Error('--path takes the digits and colons a failure printed, and goes with --seed');
    return true;
  })
  .strict()
  .help()
  .parseAsync();

const seed = args.seed ?? (Math.random() * 2 ** 31) | 0;
const started = Date.now();
process.stderr.write(`Fuzzing the staging paths: ${args.runs} runs, seed ${seed}\n`);
let tried = 0;
const property = fc.asyncProperty(fuzzCase, async (c) => {
  tried += 1;
  if (tried % 10000 === 0) process.stderr.write(`  ${tried} cases, ${Math.round((Date.now() - started) / 1000)} s\n`);
  await checkCase(c);
});
const details = await fc.check(property, { numRuns: args.runs, seed, ...(args.path ? { path: args.path } : {}) });
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
