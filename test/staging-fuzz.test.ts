// Differential fuzzing of the two staging paths (see test/helpers/staging-fuzz.ts):
// a fixed seed, so a failure here is reproducible; `npm run fuzz -- --runs N`
// runs the same property with new seeds.
import test from 'ava';
import fc from 'fast-check';
import { stagingProperty } from './helpers/staging-fuzz.ts';

const RUNS = 2000;
const SEED = 15;

test(`the fast path and the JSON.parse path agree on ${RUNS} random inputs, and every accepted value reads back as JSON.parse renders it (seed ${SEED})`, async (t) => {
  await fc.assert(stagingProperty, { numRuns: RUNS, seed: SEED, endOnFailure: false });
  t.pass();
});
