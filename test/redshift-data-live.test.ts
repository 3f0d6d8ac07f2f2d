// Opt-in: the Data API path against a real workgroup or cluster when
// TEST_REDSHIFT_DATA_URL is set (redshift-data://WORKGROUP/DB or
// redshift-data://cluster:ID/DB; with AWS credentials and AWS_REGION, and
// REDSHIFT_SECRET_ARN or REDSHIFT_USER as needed; IAM_ROLE_ARN or AWS
// credentials for COPY and the sources in LOG_DATA / SONG_DATA / LOG_JSONPATH,
// default Sparkify's bucket). Everything runs in a schema of its own, removed
// at the end. It cannot run here; it must still type-check.
import { randomBytes } from 'node:crypto';
import test from 'ava';
import { runCli } from './helpers/cli.ts';

const url = process.env['TEST_REDSHIFT_DATA_URL'];
const run = url ? test.serial : test.serial.skip;
const title = (t: string) => (url ? t : `${t} (skipped: TEST_REDSHIFT_DATA_URL not set)`);

run(title('Data API: cluster status, migrate up, load twice, verify, analyze, a paged query, migrate down'), async (t) => {
  const schema = `live_${randomBytes(4).toString('hex')}`;
  const env = { ...process.env, DATABASE_URL: url ?? '', WAREHOUSE_SCHEMA: schema };
  const cli = async (args: string[]) => {
    const r = await runCli(args, env, { timeoutMs: 60 * 60_000 });
    t.is(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    return r;
  };
  try {
    t.regex((await cli(['cluster', 'status'])).stdout, /reachable/);
    await cli(['migrate', 'up']);
    await cli(['load']);
    const counts = (await cli(['query', '--format', 'json', 'SELECT (SELECT COUNT(*) FROM songplays) AS songplays, (SELECT COUNT(*) FROM users) AS users, (SELECT COUNT(*) FROM time) AS time'])).stdout;
    await cli(['load']);
    t.is((await cli(['query', '--format', 'json', 'SELECT (SELECT COUNT(*) FROM songplays) AS songplays, (SELECT COUNT(*) FROM users) AS users, (SELECT COUNT(*) FROM time) AS time'])).stdout, counts);
    await cli(['verify']);
    await cli(['analyze', '--format', 'json']);
    const rows = JSON.parse((await cli(['query', '--format', 'json', 'SELECT * FROM staging_events'])).stdout) as unknown[];
    t.true(rows.length > 0);
  } finally {
    await runCli(['migrate', 'down', '--all', '--yes'], env, { timeoutMs: 10 * 60_000 });
    await runCli(['query', `DROP SCHEMA IF EXISTS ${schema}`], { ...env, WAREHOUSE_SCHEMA: '' });
  }
});
