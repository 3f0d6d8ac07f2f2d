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

run(
  title('Data API: cluster status, migrate up, load twice, verify, analyze, a paged query, migrate down'),
  async (t) => {
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
      const counts = (
        await cli([
          'query',
          '--format',
          'json',
          'SELECT (SELECT COUNT(*) FROM songplays) AS songplays, (SELECT COUNT(*) FROM users) AS users, (SELECT COUNT(*) FROM time) AS time',
        ])
      ).stdout;
      await cli(['load']);
      t.is(
        (
          await cli([
            'query',
            '--format',
            'json',
            'SELECT (SELECT COUNT(*) FROM songplays) AS songplays, (SELECT COUNT(*) FROM users) AS users, (SELECT COUNT(*) FROM time) AS time',
          ])
        ).stdout,
        counts,
      );
      await cli(['verify']);
      await cli(['analyze', '--format', 'json']);
      const rows = JSON.parse(
        (await cli(['query', '--format', 'json', 'SELECT * FROM staging_events'])).stdout,
      ) as unknown[];
      t.true(rows.length > 0);
    } finally {
      await runCli(['migrate', 'down', '--all', '--yes'], env, { timeoutMs: 10 * 60_000 });
      await runCli(['query', `DROP SCHEMA IF EXISTS ${schema}`], { ...env, WAREHOUSE_SCHEMA: '' });
    }
  },
);

// Issue 28, point 9: the Data API limits the stand-in enforces (test/support/data-api-stand-in/server.ts,
// DATA_API_LIMITS and the SqlParameter check), asked of the real service directly.
run(
  title('Data API limits: an empty parameter value and a statement over 100 KB are refused, a 64 KB result row fails'),
  async (t) => {
    const { ExecuteStatementCommand, DescribeStatementCommand, GetStatementResultCommand, RedshiftDataClient } =
      await import('@aws-sdk/client-redshift-data');
    const { loadConfig } = await import('../lib/config/config.ts');
    const { sessionTarget } = await import('../lib/db/data-api-connection.ts');
    const config = loadConfig({ ...process.env, DATABASE_URL: url ?? '' });
    if (config.database.kind !== 'data-api') throw new Error('TEST_REDSHIFT_DATA_URL is not a redshift-data:// URL');
    const client = new RedshiftDataClient({ region: config.region });
    const target = sessionTarget(config.database);
    try {
      await t.throwsAsync(
        client.send(
          new ExecuteStatementCommand({ ...target, Sql: 'SELECT :v AS v', Parameters: [{ name: 'v', value: '' }] }),
        ),
        { name: 'ValidationException' },
      );
      await t.throwsAsync(
        client.send(new ExecuteStatementCommand({ ...target, Sql: `SELECT '${'x'.repeat(100 * 1024)}' AS a` })),
        { name: 'ValidationException' },
      );
      const wide = await client.send(
        new ExecuteStatementCommand({ ...target, Sql: "SELECT REPEAT('x', 65000) || REPEAT('y', 2000) AS wide" }),
      );
      let d;
      do {
        await new Promise((resolve) => setTimeout(resolve, 500));
        d = await client.send(new DescribeStatementCommand({ Id: wide.Id }));
      } while (d.Status !== 'FINISHED' && d.Status !== 'FAILED' && d.Status !== 'ABORTED');
      t.log(`a 67,000-byte result row: ${d.Status}${d.Error ? ` (${d.Error})` : ''}`);
      // The stand-in fails the statement; the service may instead refuse the result: either way it is not returned.
      if (d.Status === 'FINISHED') await t.throwsAsync(client.send(new GetStatementResultCommand({ Id: wide.Id })));
      else t.is(d.Status, 'FAILED');
    } finally {
      client.destroy();
    }
  },
);
