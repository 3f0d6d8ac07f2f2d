// The load on Redshift, which cannot run here: the rendered SQL (snapshots,
// lint, sqlfluff), secrets redacted, input validated before SQL is built, and
// the statement sequence and COPY error report against a recording stand-in.
import test from 'ava';
import { loadConfig } from '../lib/config/config.ts';
import { dialectByName } from '../lib/dialect/index.ts';
import { InputError } from '../lib/errors.ts';
import { pipeline } from '../loaders/index.ts';
import { loadScript } from '../lib/load/plan.ts';
import { runLoad } from '../lib/load/runner.ts';
import { silentLogger } from '../lib/log.ts';
import { redactPatterns } from '../lib/redact.ts';
import { formatFindings, lintRedshift, splitStatements } from './helpers/redshift-lint.ts';
import { runCli } from './helpers/cli.ts';
import { fakeRedshift } from './helpers/fake-redshift.ts';
import { sqlfluffAvailable, sqlfluffTitle, sqlfluffViolations } from './helpers/sqlfluff.ts';

const redshift = dialectByName('redshift');
const ROLE = 'arn:aws:iam::123456789012:role/sparkify-s3-read';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const TOKEN = 'FwoGZXIvYXdzEXAMPLETOKENvalue1234567890+/=';
const KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
const creds = async () => ({ accessKeyId: KEY_ID, secretAccessKey: SECRET, sessionToken: TOKEN });

const roleScript = () =>
  loadScript(redshift, { config: loadConfig({ IAM_ROLE_ARN: ROLE }), log: silentLogger, pipeline });
const keysScript = async () =>
  redactPatterns(
    await loadScript(redshift, { config: loadConfig({}), log: silentLogger, pipeline, credentials: creds }),
  );

/** The plan with compaction forced (issue 27, item 4): the COPY of each table reads its chunks' manifest, GZIP. */
const compactScript = () =>
  loadScript(redshift, {
    config: loadConfig({ IAM_ROLE_ARN: ROLE, LOAD_STAGE_PREFIX: 's3://sparkify-stage/runs/' }),
    log: silentLogger,
    pipeline,
    compact: true,
  });

test('Redshift load plan with --compact: one COPY … MANIFEST GZIP per table, from the chunks under LOAD_STAGE_PREFIX', async (t) => {
  const script = await compactScript();
  const copies = splitStatements(script).filter((s) => /^(--[^\n]*\n)*COPY staging_/m.test(s));
  t.is(copies.length, 2, 'one COPY per table');
  for (const table of ['staging_events', 'staging_songs'])
    t.regex(
      script,
      new RegExp(
        `COPY ${table} \\([^)]*\\)\nFROM 's3://sparkify-stage/runs/RUN-ID/${table}/chunks.manifest' MANIFEST\nIAM_ROLE '[^']+'\nREGION 'us-west-2'\nFORMAT AS JSON '[^']+'\nGZIP\nMAXERROR 1\n`,
      ),
    );
  t.regex(script, /-- compaction: the objects of s3:\/\/udacity-dend\/song_data are read by the loader/);
  t.regex(script, /named by its own object and line/);
  t.snapshot(script, 'redshift load, --compact');
  t.deepEqual(lintRedshift(script), []);
  if (sqlfluffAvailable) t.deepEqual(sqlfluffViolations(script), []);
});

/** An incremental plan with LOAD_STAGE_PREFIX (issue 27, item 5): the ledger compared and written in SQL. */
const incrementalScript = () =>
  loadScript(redshift, {
    config: loadConfig({
      IAM_ROLE_ARN: ROLE,
      LOAD_STAGE_PREFIX: 's3://sparkify-stage/runs/',
      LOAD_MANIFEST_PREFIX: 's3://sparkify-stage/manifests/',
    }),
    log: silentLogger,
    pipeline,
    incremental: true,
  });

test("Redshift incremental load plan: the ledger compared and recorded in SQL from object lists COPY'd from LOAD_STAGE_PREFIX", async (t) => {
  const script = await incrementalScript();
  for (const table of ['staging_events', 'staging_songs'])
    t.regex(
      script,
      new RegExp(
        `COPY ledger_listed \\(ordinal, object_uri, object_size, object_version\\)\nFROM 's3://sparkify-stage/runs/RUN-ID/ledger/listed-${table}.jsonl.gz'\nIAM_ROLE '[^']+'\nREGION 'us-west-2'\nFORMAT AS JSON 'auto'\nGZIP\n`,
      ),
    );
  t.regex(script, /DELETE FROM ledger_listed USING load_ledger AS rec/);
  t.regex(script, /SELECT ordinal FROM ledger_listed WHERE ordinal > -1 ORDER BY ordinal LIMIT 100000;/);
  t.regex(
    script,
    /COPY ledger_loaded \(table_name, object_uri, object_size, object_version, mapping_fingerprint\)\nFROM 's3:\/\/sparkify-stage\/runs\/RUN-ID\/ledger\/loaded.jsonl.gz'/,
  );
  t.regex(
    script,
    /INSERT INTO load_ledger \([^)]*\)\nSELECT table_name, object_uri, object_size, object_version, mapping_fingerprint, 'RUN-ID', 'loaded', GETDATE\(\)\nFROM ledger_loaded;/,
  );
  t.notRegex(script, /INSERT INTO load_ledger [^;]*VALUES/, 'no multi-row INSERT into the ledger');
  t.snapshot(script, 'redshift load, --incremental with LOAD_STAGE_PREFIX');
  t.deepEqual(lintRedshift(script), []);
  if (sqlfluffAvailable) t.deepEqual(sqlfluffViolations(script), []);
});

test('Redshift load plan with an IAM role: one COPY per source, then set-based transforms', async (t) => {
  const script = await roleScript();
  const copies = splitStatements(script).filter((s) => /^(--[^\n]*\n)*COPY /m.test(s));
  t.is(copies.length, 2, 'one COPY per source, never one per file');
  t.regex(
    script,
    /COPY staging_events \(artist, [^)]*user_id\)\nFROM 's3:\/\/udacity-dend\/log_data'\nIAM_ROLE 'arn:aws:iam::123456789012:role\/sparkify-s3-read'\nREGION 'us-west-2'\nFORMAT AS JSON 's3:\/\/udacity-dend\/log_json_path.json'/,
  );
  t.regex(script, /FORMAT AS JSON 'auto'/);
  // Issue 28, point 5: staging emptied by TRUNCATE, each on its own before the staging transaction (no ghost rows).
  t.regex(
    script,
    /TRUNCATE staging_events;\n\nTRUNCATE staging_songs;\n\n-- step: stage staging_events, staging_songs \(one transaction: all replaced or none\)\nBEGIN;/,
  );
  t.notRegex(script, /DELETE FROM staging_/);
  t.notRegex(script, /INSERT INTO \w+ .*VALUES \(\$|VALUES \(\d/, 'no per-row statements');
  t.snapshot(script, 'redshift load, IAM role');
});

test('Redshift load plan with temporary credentials: secrets redacted', async (t) => {
  const script = await keysScript();
  for (const secret of [SECRET, TOKEN, KEY_ID]) t.false(script.includes(secret));
  t.regex(script, /ACCESS_KEY_ID '\*\*\*'\nSECRET_ACCESS_KEY '\*\*\*'\nSESSION_TOKEN '\*\*\*'/);
  t.snapshot(script, 'redshift load, temporary credentials (redacted)');
});

test('the Redshift load SQL passes the Redshift lint', async (t) => {
  for (const script of [await roleScript(), await keysScript()]) {
    const findings = lintRedshift(script);
    t.deepEqual(findings, [], formatFindings(findings));
  }
});

(sqlfluffAvailable ? test : test.skip)(sqlfluffTitle('sqlfluff parses every Redshift load statement'), async (t) => {
  t.deepEqual(sqlfluffViolations(await roleScript()), []);
  t.deepEqual(sqlfluffViolations(await keysScript()), []);
});

test('the PostgreSQL plan streams staging and runs the same transforms', async (t) => {
  const script = await loadScript(dialectByName('postgres'), { config: loadConfig({}), log: silentLogger, pipeline });
  t.regex(
    script,
    /TRUNCATE staging_events;\n\n-- COPY staging_events FROM STDIN: rows streamed by the loader from s3:\/\/udacity-dend\/log_data/,
  );
  t.snapshot(script, 'postgres load plan');
});

test('load --dry-run --dialect redshift through the CLI never prints a secret from the environment', async (t) => {
  const env = {
    AWS_ACCESS_KEY_ID: KEY_ID,
    AWS_SECRET_ACCESS_KEY: SECRET,
    AWS_SESSION_TOKEN: TOKEN,
    DATABASE_URL: 'postgres://admin:Sup3rS3cretPw@example.invalid:5439/dev',
  };
  const r = await runCli(['load', '--dry-run', '--dialect', 'redshift', '--verbose'], env);
  t.is(r.code, 0, r.stderr);
  for (const secret of [SECRET, TOKEN, KEY_ID, 'Sup3rS3cretPw']) {
    t.false(r.stdout.includes(secret), `stdout has no ${secret.slice(0, 4)}…`);
    t.false(r.stderr.includes(secret), `stderr has no ${secret.slice(0, 4)}…`);
  }
  t.regex(r.stdout, /SECRET_ACCESS_KEY '\*\*\*'/);
});

test('values written into COPY are validated first: a quote or semicolon in the role ARN or S3 URI is refused', async (t) => {
  const arn = await runCli(['load', '--dry-run', '--dialect', 'redshift'], {
    IAM_ROLE_ARN: "arn:aws:iam::123456789012:role/x' ; DROP TABLE users; --",
  });
  t.is(arn.code, 2);
  t.regex(arn.stderr, /IAM_ROLE_ARN: expected arn:aws:iam::/);
  const uri = await runCli(['load', '--dry-run', '--dialect', 'redshift'], {
    LOG_DATA: "s3://udacity-dend/log_data'; DROP TABLE users; --",
  });
  t.is(uri.code, 2);
  t.regex(uri.stderr, /LOG_DATA: the S3 prefix/);
  const region = await runCli(['load', '--dry-run', '--dialect', 'redshift'], { AWS_REGION: "us-west-2'" });
  t.is(region.code, 2);
  const local = await runCli(['load', '--dry-run', '--dialect', 'redshift'], {
    LOG_DATA: '/tmp/log_data',
    IAM_ROLE_ARN: ROLE,
  });
  t.is(local.code, 2);
  t.regex(local.stderr, /Redshift's COPY reads from S3 only/);
});

test('on Redshift the load sends: lock, TRUNCATE of each staging table on its own, one transaction of COPY per staging table, then a transaction per star table', async (t) => {
  const fake = fakeRedshift();
  const config = loadConfig({ IAM_ROLE_ARN: ROLE });
  const report = await runLoad(fake.db, { config, log: silentLogger, pipeline, reader: fake.reader });
  const firstWords = fake.statements.map((s) => s.split(/\s+/).slice(0, 2).join(' '));
  t.deepEqual(firstWords.slice(0, 30), [
    'CREATE TABLE',
    'BEGIN',
    'LOCK TABLE', // the warehouse lock
    'SELECT column_name', // load_runs' columns (a warehouse migrated before one was added lacks it)
    'SELECT context,', // the last load's sources (load_runs.context), to compare
    'SELECT column_name',
    'INSERT INTO', // the run record (load_runs): its start
    'SELECT COUNT(*)',
    'SELECT PG_BACKEND_PID()',
    'SELECT CAST(c.oid',
    'SELECT CAST(c.oid', // where a COPY's load errors are: STL here?, session, table ids
    'TRUNCATE staging_events',
    'TRUNCATE staging_songs', // each committed on its own: no ghost rows
    'BEGIN',
    'SELECT CAST(SYSDATE',
    'COPY staging_events',
    'SELECT PG_LAST_COPY_COUNT()',
    'UPDATE staging_events',
    'SELECT COUNT(ts)',
    'SELECT COUNT(*)',
    'ANALYZE staging_events', // COUNT(*): the mapped-columns check
    'SELECT CAST(SYSDATE',
    'COPY staging_songs',
    'SELECT PG_LAST_COPY_COUNT()',
    'UPDATE staging_songs',
    'SELECT COUNT(*)',
    'ANALYZE staging_songs',
    'SELECT 1',
    'COMMIT', // the lock checked, then the commit
    'BEGIN', // the first star table's transaction
  ]);
  t.is(fake.statements.filter((s) => s.startsWith('COPY')).length, 2);
  t.is(fake.statements.filter((s) => s.startsWith('MERGE INTO')).length, 4);
  t.deepEqual(
    report.steps.map((s) => s.step),
    [
      'stage staging_events',
      'stage staging_songs',
      'transform users',
      'transform songs',
      'transform artists',
      'transform songplays',
      'transform time',
      'transform user_levels',
    ],
  );
  t.regex(
    fake.statements[6] ?? '',
    /^INSERT INTO load_runs \(run_id, command, started_at, outcome, skipped_records\)\nSELECT CAST\(\$1 AS VARCHAR\(64\)\), \$2, CAST\(\$3 AS TIMESTAMP\), \$4, 0\nWHERE NOT EXISTS \(SELECT 1 FROM load_runs WHERE run_id = CAST\(\$1 AS VARCHAR\(64\)\)\)$/,
    'no context given (a library call without one): the original columns',
  );
  t.regex(
    fake.statements.at(-1) ?? '',
    /^UPDATE load_runs SET ended_at = \$2, outcome = \$3, /,
    'the run record is completed last',
  );
  t.is(report.steps[0]?.rows, 42);
  for (const s of fake.statements) t.deepEqual(lintRedshift(s), [], s);
});

for (const serverless of [false, true]) {
  test(`a failed COPY is rolled back and reported from ${serverless ? 'sys_load_error_detail (Serverless)' : 'stl_load_errors'} with file, line, column, value and reason`, async (t) => {
    const fake = fakeRedshift({
      failCopyOf: 'staging_events',
      serverless,
      loadErrors: [
        {
          file: 's3://udacity-dend/log_data/2018/11/2018-11-05-events.json',
          line: 17,
          field: 'ts',
          value: 'yesterday',
          reason: "Invalid digit, Value 'y', Pos 0, Type: Long",
        },
      ],
    });
    const e = await t.throwsAsync(
      runLoad(fake.db, {
        config: loadConfig({ IAM_ROLE_ARN: ROLE }),
        log: silentLogger,
        pipeline,
        reader: fake.reader,
      }),
      { instanceOf: InputError },
    );
    // SYS_LOAD_ERROR_DETAIL has no raw value column.
    t.regex(
      e?.message ?? '',
      serverless
        ? /COPY failed: s3:\/\/udacity-dend\/log_data\/2018\/11\/2018-11-05-events\.json:17, field ts: Invalid digit, Value 'y', Pos 0, Type: Long$/
        : /COPY failed: s3:\/\/udacity-dend\/log_data\/2018\/11\/2018-11-05-events\.json:17, field ts: Invalid digit.*\(value: yesterday\)/,
    );
    const rollback = fake.statements.indexOf('ROLLBACK');
    t.true(
      rollback > fake.statements.findIndex((s) => s.startsWith('COPY staging_events')),
      'rolled back after the failed COPY',
    );
    t.false(
      fake.statements.some((s) => s.startsWith('MERGE')),
      'no transform after a failed stage',
    );
    t.false(fake.statements.slice(0, rollback).includes('COMMIT'), 'nothing committed before the rollback');
  });
}

test('on Redshift a staged ts that no TIMESTAMP holds fails the stage with exit 3 before any star table; --max-errors deletes it (issue 15, bug 2)', async (t) => {
  const outOfRange = { out_of_range: '1', lowest: '-1000000000000000', highest: '-1000000000000000' };
  const failing = fakeRedshift({ outOfRange });
  const e = await t.throwsAsync(
    runLoad(failing.db, {
      config: loadConfig({ IAM_ROLE_ARN: ROLE }),
      log: silentLogger,
      pipeline,
      reader: failing.reader,
    }),
    { instanceOf: InputError },
  );
  t.regex(
    e?.message ?? '',
    /staging_events\.ts: 1 staged row\(s\) hold a ts that is not a TIMESTAMP the warehouse can hold \(lowest -1000000000000000/,
  );
  t.is((e as InputError | undefined)?.exitCode, 3);
  t.true(failing.statements.includes('ROLLBACK'));
  t.false(
    failing.statements.some((s) => s.startsWith('MERGE')),
    'no star table changed',
  );
  t.false(
    failing.statements.some((s) => /FROM (stl_load_errors|sys_load_error_detail)\nWHERE session/.test(s)),
    'not reported as a failed COPY',
  );

  const skipping = fakeRedshift({ outOfRange });
  const report = await runLoad(skipping.db, {
    config: loadConfig({ IAM_ROLE_ARN: ROLE }),
    log: silentLogger,
    pipeline,
    maxErrors: 1,
    reader: skipping.reader,
  });
  const check = skipping.statements.findIndex((s) => /AS out_of_range/.test(s));
  t.regex(
    skipping.statements[check + 1] ?? '',
    /^DELETE FROM staging_events\nWHERE ts < -210863520000000 OR ts > 9007199254740991$/,
  );
  t.is(report.steps[0]?.rows, 41);
  t.true(skipping.statements.some((s) => s.startsWith('MERGE')));
});
