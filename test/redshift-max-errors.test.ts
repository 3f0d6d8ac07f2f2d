// `--max-errors N` on Redshift: the COPY statements the load actually sends
// (to the recording stand-in) carry the MAXERROR that N asks for, for a full
// load and for an incremental (manifest) one, and equal the dry run's. The dry
// run renders its COPY on a path of its own, so it alone proves nothing about
// what is executed.
import test from 'ava';
import { loadConfig } from '../lib/config/config.ts';
import { dialectByName } from '../lib/dialect/index.ts';
import { loadScript } from '../lib/load/plan.ts';
import { runLoad } from '../lib/load/runner.ts';
import { silentLogger } from '../lib/log.ts';
import { pipeline } from '../loaders/index.ts';
import { runCli } from './helpers/cli.ts';
import { fakeRedshift } from './helpers/fake-redshift.ts';
import { sourcesAndManifestsS3 } from './helpers/s3.ts';

const ROLE = 'arn:aws:iam::123456789012:role/sparkify-s3-read';

/**
 * The MAXERROR value `--max-errors n` must render: N bad records tolerated,
 * the (N+1)th fails the load, as on PostgreSQL; Redshift's COPY fails when the
 * error count reaches MAXERROR, so N+1, at most 100000
 * (https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-data-load.html).
 * The one place to change if the mapping from N changes.
 */
const expectedMaxError = (n: number): number => Math.min(n + 1, 100000);

/** The MAXERROR value of each COPY among the statements, in order. */
/** MAXERROR of the staging COPYs (the ledger's COPYs of its object lists load whole: MAXERROR 1). */
function maxErrorsOfCopies(statements: readonly string[]): (string | undefined)[] {
  return statements.filter((s) => /^COPY staging_/.test(s)).map((s) => /^MAXERROR (\d+)$/m.exec(s)?.[1]);
}

for (const n of [0, 7, 99999, 100000]) {
  test(`a load with --max-errors ${n} sends both COPY statements with MAXERROR ${expectedMaxError(n)}, as its dry run shows`, async (t) => {
    const fake = fakeRedshift();
    const options = {
      config: loadConfig({ IAM_ROLE_ARN: ROLE }),
      log: silentLogger,
      pipeline,
      maxErrors: n,
      reader: fake.reader,
    };
    await runLoad(fake.db, options);
    t.deepEqual(maxErrorsOfCopies(fake.statements), [String(expectedMaxError(n)), String(expectedMaxError(n))]);
    const script = await loadScript(dialectByName('redshift'), options);
    for (const copy of fake.statements.filter((s) => s.startsWith('COPY ')))
      t.true(script.includes(`${copy};`), `the dry run shows the executed statement:\n${copy}`);
  });
}

test.serial(
  'an incremental load with --max-errors 7 sends its manifest COPY statements with MAXERROR from the option',
  async (t) => {
    const { env } = await sourcesAndManifestsS3(t);
    const fake = fakeRedshift();
    // s3rver's buckets are in us-east-1, where the manifest must be.
    const config = loadConfig({ ...env, AWS_REGION: 'us-east-1', IAM_ROLE_ARN: ROLE });
    await runLoad(fake.db, { config, log: silentLogger, pipeline, incremental: true, maxErrors: 7 });
    const copies = fake.statements.filter((s) => s.startsWith('COPY staging_'));
    t.is(copies.length, 2);
    t.true(
      copies.every((c) => / MANIFEST$/m.test(c)),
      'both load a manifest',
    );
    t.deepEqual(maxErrorsOfCopies(fake.statements), [String(expectedMaxError(7)), String(expectedMaxError(7))]);
    t.true(
      fake.statements.filter((s) => /^COPY ledger_/.test(s)).every((s) => /^MAXERROR 1$/m.test(s)),
      "the ledger's object lists load whole",
    );
  },
);

test('load --dry-run --dialect redshift --max-errors 7 through the CLI: the flag reaches both COPY statements', async (t) => {
  const r = await runCli(['load', '--dry-run', '--dialect', 'redshift', '--max-errors', '7'], { IAM_ROLE_ARN: ROLE });
  t.is(r.code, 0, r.stderr);
  t.deepEqual(
    [...r.stdout.matchAll(/^MAXERROR (\d+)$/gm)].map((m) => m[1]),
    [String(expectedMaxError(7)), String(expectedMaxError(7))],
  );
});
