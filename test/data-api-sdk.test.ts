// The Data API transport at the SDK level (aws-sdk-client-mock): the request
// sequence against Redshift's names (WorkgroupName vs ClusterIdentifier,
// SecretArn vs DbUser, SessionKeepAliveSeconds then SessionId), polling,
// paging, typed fields, FAILED/ABORTED, busy retries; and the settings.
import {
  DescribeStatementCommand,
  ExecuteStatementCommand,
  GetStatementResultCommand,
  RedshiftDataClient,
  ActiveStatementsExceededException,
  ValidationException,
} from '@aws-sdk/client-redshift-data';
import test from 'ava';
import { mockClient } from 'aws-sdk-client-mock';
import { loadConfig } from '../lib/config/config.ts';
import type { DataApiSetting } from '../lib/config/data-api.ts';
import { connectDataApi } from '../lib/db/data-api-connection.ts';
import { createLogger, silentLogger } from '../lib/log.ts';

const mock = mockClient(RedshiftDataClient);
test.beforeEach(() => mock.reset());

function setting(env: Record<string, string>): DataApiSetting {
  const d = loadConfig(env).database;
  if (d.kind !== 'data-api') throw new Error(`not a Data API setting: ${d.kind}`);
  return d;
}

function connect(env: Record<string, string>, log = silentLogger) {
  return connectDataApi({
    setting: setting(env),
    client: new RedshiftDataClient({ region: 'us-west-2' }),
    log,
    pollMs: [1, 2],
  });
}

let ids = 0;
function answerStatements(): void {
  mock.on(ExecuteStatementCommand).callsFake(() => ({ Id: `stmt-${(ids += 1)}`, SessionId: 'session-1' }));
  mock
    .on(DescribeStatementCommand)
    .resolves({ Id: 'x', Status: 'FINISHED', HasResultSet: false, ResultRows: 0, RedshiftPid: 1073 });
}

const inputs = () => mock.commandCalls(ExecuteStatementCommand).map((c) => c.args[0].input);

test.serial(
  'Serverless with a secret: the first statement opens a session on the workgroup, later ones name only the SessionId',
  async (t) => {
    answerStatements();
    const conn = connect({
      DATABASE_URL: 'redshift-data://sparkify-wg/dev',
      REDSHIFT_SECRET_ARN: 'arn:aws:secretsmanager:us-west-2:123456789012:secret:sparkify-abc123',
    });
    await conn.query('BEGIN');
    await conn.query('LOCK TABLE sparkify_lock');
    const [withToken, secondWithToken] = inputs();
    // Each statement carries its own idempotency token (kept on every re-send: test/data-api-idempotency.test.ts).
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    t.regex(withToken?.ClientToken ?? '', uuid);
    t.regex(secondWithToken?.ClientToken ?? '', uuid);
    t.not(withToken?.ClientToken, secondWithToken?.ClientToken);
    const [first, second] = inputs().map(({ ClientToken: _token, ...rest }) => rest);
    t.deepEqual(first, {
      Sql: 'BEGIN',
      WorkgroupName: 'sparkify-wg',
      Database: 'dev',
      SecretArn: 'arn:aws:secretsmanager:us-west-2:123456789012:secret:sparkify-abc123',
      SessionKeepAliveSeconds: 120,
      Parameters: undefined,
    });
    t.deepEqual(second, { Sql: 'LOCK TABLE sparkify_lock', SessionId: 'session-1', Parameters: undefined });
    t.is(conn.backendPid, 1073);
    t.is(conn.copyFromStdin, undefined);
  },
);

test.serial(
  'a provisioned cluster with REDSHIFT_USER: ClusterIdentifier and DbUser (temporary credentials), no SecretArn',
  async (t) => {
    answerStatements();
    const conn = connect({
      REDSHIFT_DATA_API: 'cluster',
      REDSHIFT_CLUSTER_ID: 'sparkify-cluster',
      REDSHIFT_DB: 'warehouse',
      REDSHIFT_USER: 'loader',
    });
    await conn.query('SELECT 1');
    t.like(inputs()[0], { ClusterIdentifier: 'sparkify-cluster', Database: 'warehouse', DbUser: 'loader' });
    t.false('SecretArn' in (inputs()[0] ?? {}));
    t.false('WorkgroupName' in (inputs()[0] ?? {}));
  },
);

test.serial('the IAM identity: neither SecretArn nor DbUser (Serverless ignores REDSHIFT_USER)', async (t) => {
  answerStatements();
  const conn = connect({ DATABASE_URL: 'redshift-data://sparkify-wg/dev', REDSHIFT_USER: 'awsuser' });
  await conn.query('SELECT 1');
  const input = inputs()[0] ?? {};
  t.false('DbUser' in input || 'SecretArn' in input || 'ClusterIdentifier' in input);
});

test.serial('$N parameters become named parameters; NULL is written inline', async (t) => {
  answerStatements();
  const conn = connect({ DATABASE_URL: 'redshift-data://sparkify-wg/dev' });
  await conn.query('INSERT INTO load_ledger VALUES ($1, $2, $3, $1)', ['s3://b/k', null, 42]);
  t.like(inputs()[0], {
    Sql: 'INSERT INTO load_ledger VALUES (:p1, NULL, :p3, :p1)',
    Parameters: [
      { name: 'p1', value: 's3://b/k' },
      { name: 'p3', value: '42' },
    ],
  });
});

// Issue 28, point 4: SqlParameter.value has a minimum length of 1; the Data API takes 100 KB statements at most.
test.serial(
  'an empty string is inlined, never sent as a parameter; a statement over 100 KB with its values substituted is refused before it is sent',
  async (t) => {
    answerStatements();
    const conn = connect({ DATABASE_URL: 'redshift-data://sparkify-wg/dev' });
    await conn.query('UPDATE load_runs SET error = $2, command = $3 WHERE run_id = $1', ['r1', '', "it's"]);
    t.like(inputs()[0], {
      Sql: "UPDATE load_runs SET error = '', command = :p3 WHERE run_id = :p1",
      Parameters: [
        { name: 'p3', value: "it's" },
        { name: 'p1', value: 'r1' },
      ],
    });
    t.true(inputs().every((i) => (i.Parameters ?? []).every((p) => (p.value ?? '').length > 0)));
    const calls = inputs().length;
    // 60 KB of text and a 50 KB value: each under the limit, together over it.
    await t.throwsAsync(conn.query(`SELECT '${'x'.repeat(60 * 1024)}' AS a, $1 AS b`, ['y'.repeat(50 * 1024)]), {
      message: /over the Data API's limit of 102400 bytes/,
    });
    t.is(inputs().length, calls, 'nothing sent');
  },
);

test.serial(
  "a FAILED statement's error carries its RedshiftQueryId (STL_QUERY's query), by which a failed COPY's STL rows are found",
  async (t) => {
    mock.on(ExecuteStatementCommand).resolves({ Id: 'copy-1', SessionId: 's' });
    mock.on(DescribeStatementCommand).resolves({
      Id: 'copy-1',
      Status: 'FAILED',
      Error: "ERROR: Load into table 'staging_songs' failed. Check 'stl_load_errors' system table for details.",
      RedshiftQueryId: 4711,
    });
    const e = await t.throwsAsync(
      connect({ DATABASE_URL: 'redshift-data://sparkify-wg/dev' }).query('COPY staging_songs …'),
    );
    t.is((e as { queryId?: number } | undefined)?.queryId, 4711);
  },
);

test.serial(
  'polling until FINISHED, then every page of the result (NextToken), typed fields mapped as pg maps them',
  async (t) => {
    mock.on(ExecuteStatementCommand).resolves({ Id: 'q1', SessionId: 's' });
    mock
      .on(DescribeStatementCommand)
      .resolvesOnce({ Id: 'q1', Status: 'SUBMITTED' })
      .resolvesOnce({ Id: 'q1', Status: 'STARTED' })
      .resolves({ Id: 'q1', Status: 'FINISHED', HasResultSet: true, ResultRows: 3 });
    const columns = [
      { name: 'n', typeName: 'int4' },
      { name: 'big', typeName: 'int8' },
      { name: 'd', typeName: 'float8' },
      { name: 'ts', typeName: 'timestamp' },
      { name: 'ok', typeName: 'bool' },
      { name: 'amount', typeName: 'numeric' },
    ];
    mock.on(GetStatementResultCommand, { Id: 'q1', NextToken: undefined }).resolves({
      ColumnMetadata: columns,
      Records: [
        [
          { longValue: 1 },
          { longValue: 9007199254740991 },
          { doubleValue: 1.5 },
          { stringValue: '2018-11-01 21:01:46.796' },
          { booleanValue: true },
          { stringValue: '12.50' },
        ],
      ],
      NextToken: 'page-2',
    });
    mock.on(GetStatementResultCommand, { Id: 'q1', NextToken: 'page-2' }).resolves({
      ColumnMetadata: columns,
      Records: [
        [
          { isNull: true },
          { isNull: true },
          { isNull: true },
          { isNull: true },
          { booleanValue: false },
          { isNull: true },
        ],
      ],
    });
    const conn = connect({ DATABASE_URL: 'redshift-data://sparkify-wg/dev' });
    const { rows } = await conn.query('SELECT …');
    t.deepEqual(rows, [
      { n: 1, big: '9007199254740991', d: 1.5, ts: '2018-11-01 21:01:46.796', ok: true, amount: '12.50' },
      { n: null, big: null, d: null, ts: null, ok: false, amount: null },
    ]);
    t.is(mock.commandCalls(DescribeStatementCommand).length, 3);
    t.is(mock.commandCalls(GetStatementResultCommand).length, 2);
  },
);

test.serial(
  'FAILED and ABORTED statements fail with the server message and the statement id; --verbose shows ids',
  async (t) => {
    mock.on(ExecuteStatementCommand).resolves({ Id: 'bad-1', SessionId: 's' });
    mock
      .on(DescribeStatementCommand)
      .resolvesOnce({ Id: 'bad-1', Status: 'FAILED', Error: 'ERROR: relation "nope" does not exist' })
      .resolves({ Id: 'bad-1', Status: 'ABORTED' });
    const lines: string[] = [];
    const conn = connect(
      { DATABASE_URL: 'redshift-data://sparkify-wg/dev' },
      createLogger({ verbose: true, write: (l) => lines.push(l) }),
    );
    await t.throwsAsync(conn.query('SELECT * FROM nope'), { message: 'ERROR: relation "nope" does not exist' });
    await t.throwsAsync(conn.query('SELECT 1'), {
      message: /statement bad-1 was cancelled before it finished \(ABORTED\)/,
    });
    t.true(
      lines.some((l) => /debug: Data API statement bad-1 \(session s\): SELECT \* FROM nope/.test(l)),
      lines.join('\n'),
    );
  },
);

test.serial(
  'ActiveStatementsExceeded is sent again; a session that ended inside a transaction is reported as lost',
  async (t) => {
    mock
      .on(ExecuteStatementCommand)
      .rejectsOnce(
        new ActiveStatementsExceededException({
          message: 'Active statements exceeded the allowed quota',
          $metadata: {},
        }),
      )
      .resolvesOnce({ Id: 'a', SessionId: 's' })
      .rejects(new ValidationException({ message: 'Session s is not available: it ended', $metadata: {} }));
    mock.on(DescribeStatementCommand).resolves({ Id: 'a', Status: 'FINISHED' });
    const conn = connect({ DATABASE_URL: 'redshift-data://sparkify-wg/dev' });
    const lost: Error[] = [];
    conn.onLost((e) => lost.push(e));
    await conn.query('BEGIN');
    t.is(mock.commandCalls(ExecuteStatementCommand).length, 2);
    await t.throwsAsync(conn.query('INSERT INTO t VALUES (1)'), {
      message: /session s ended inside a transaction, which Redshift rolled back/,
    });
    t.is(lost.length, 1);
  },
);

test.serial(
  'a session that expired while idle outside a transaction is replaced, its SET statements replayed',
  async (t) => {
    mock
      .on(ExecuteStatementCommand)
      .resolvesOnce({ Id: 'a', SessionId: 's1' })
      .rejectsOnce(new ValidationException({ message: 'Session s1 is not available: it ended', $metadata: {} }))
      .resolves({ Id: 'b', SessionId: 's2' });
    mock.on(DescribeStatementCommand).resolves({ Id: 'a', Status: 'FINISHED' });
    const conn = connect({ DATABASE_URL: 'redshift-data://sparkify-wg/dev' });
    await conn.query("SET search_path TO 'dev_alice'");
    await conn.query('SELECT 1');
    t.deepEqual(
      inputs().map((i) => [i.Sql, i.SessionId ?? i.WorkgroupName]),
      [
        ["SET search_path TO 'dev_alice'", 'sparkify-wg'],
        ['SELECT 1', 's1'],
        ["SET search_path TO 'dev_alice'", 'sparkify-wg'],
        ['SELECT 1', 's2'],
      ],
    );
  },
);

for (const end of ['COMMIT', 'END', 'ROLLBACK', 'ABORT']) {
  test.serial(
    `${end} ends the transaction: a session that then expires while idle is replaced, not reported lost`,
    async (t) => {
      mock
        .on(ExecuteStatementCommand)
        .resolvesOnce({ Id: 'a', SessionId: 's1' })
        .resolvesOnce({ Id: 'b', SessionId: 's1' })
        .resolvesOnce({ Id: 'c', SessionId: 's1' })
        .rejectsOnce(new ValidationException({ message: 'Session s1 is not available: it ended', $metadata: {} }))
        .resolves({ Id: 'd', SessionId: 's2' });
      mock.on(DescribeStatementCommand).resolves({ Id: 'a', Status: 'FINISHED' });
      const conn = connect({ DATABASE_URL: 'redshift-data://sparkify-wg/dev' });
      const lost: Error[] = [];
      conn.onLost((e) => lost.push(e));
      await conn.query('BEGIN');
      await conn.query('INSERT INTO t VALUES (1)');
      await conn.query(end);
      await conn.query('SELECT 1');
      t.deepEqual(lost, []);
      t.deepEqual(
        inputs()
          .slice(-2)
          .map((i) => [i.Sql, i.SessionId ?? i.WorkgroupName]),
        [
          ['SELECT 1', 's1'],
          ['SELECT 1', 'sparkify-wg'],
        ],
      );
      await conn.end();
      t.false(
        inputs().some((i) => i.Sql === 'ROLLBACK' && end !== 'ROLLBACK'),
        'end() rolls back nothing: no transaction is open',
      );
    },
  );
}

test('settings: the URL forms, REDSHIFT_DATA_API, and every problem named', (t) => {
  t.like(setting({ DATABASE_URL: 'redshift-data://sparkify-wg/dev' }), {
    target: { kind: 'serverless', workgroup: 'sparkify-wg' },
    database: 'dev',
    auth: { kind: 'iam-identity' },
  });
  t.like(setting({ DATABASE_URL: 'redshift-data://cluster:sparkify-cluster/dev', REDSHIFT_USER: 'awsuser' }), {
    target: { kind: 'cluster', clusterId: 'sparkify-cluster' },
    auth: { kind: 'db-user', dbUser: 'awsuser' },
  });
  t.like(
    setting({
      REDSHIFT_DATA_API: 'serverless',
      REDSHIFT_WORKGROUP: 'wg-1',
      AWS_ENDPOINT_URL_REDSHIFT_DATA: 'http://127.0.0.1:8787',
    }),
    { target: { kind: 'serverless', workgroup: 'wg-1' }, database: 'dev', endpoint: 'http://127.0.0.1:8787' },
  );
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig(env);
      return '';
    } catch (err) {
      return (err as Error).message;
    }
  };
  t.regex(
    problems({ DATABASE_URL: 'redshift-data://sparkify-wg' }),
    /DATABASE_URL: expected redshift-data:\/\/WORKGROUP\/DATABASE/,
  );
  t.regex(problems({ DATABASE_URL: 'redshift-data://Bad_WG/dev' }), /DATABASE_URL: expected a workgroup name/);
  t.regex(problems({ REDSHIFT_DATA_API: 'cluster' }), /REDSHIFT_CLUSTER_ID: expected a cluster identifier/);
  t.regex(problems({ REDSHIFT_DATA_API: 'both' }), /REDSHIFT_DATA_API: expected serverless or cluster/);
  t.regex(
    problems({ DATABASE_URL: 'redshift-data://wg1/dev', REDSHIFT_SECRET_ARN: 'not-an-arn' }),
    /REDSHIFT_SECRET_ARN: expected arn:aws:secretsmanager/,
  );
  t.regex(
    problems({ DATABASE_URL: 'redshift-data://wg1/dev', AWS_ENDPOINT_URL_REDSHIFT_DATA: 'http://user:pw@host' }),
    /AWS_ENDPOINT_URL_REDSHIFT_DATA: expected/,
  );
  t.regex(
    problems({ DATABASE_URL: 'redshift-data://wg1/dev', REDSHIFT_IAM_AUTH: 'true' }),
    /REDSHIFT_IAM_AUTH: is for a connection to port 5439/,
  );
  const several = problems({
    DATABASE_URL: 'redshift-data://wg1/Dev',
    REDSHIFT_SECRET_ARN: 'x',
    AWS_SECRET_ACCESS_KEY: 'TopSecretValue123',
    AWS_REGION: 'TopSecretValue123',
  });
  t.regex(several, /DATABASE_URL[\s\S]*REDSHIFT_SECRET_ARN[\s\S]*AWS_REGION/);
  t.false(several.includes('TopSecretValue123'), 'secrets are masked in problems');
  const withPassword = problems({ DATABASE_URL: 'redshift-data://admin:Pa55w0rd-in-url@wg1/dev' });
  t.regex(withPassword, /DATABASE_URL: a redshift-data:\/\/ URL takes no user or password/);
  t.false(withPassword.includes('Pa55w0rd-in-url'), 'a password in a redshift-data:// URL is never echoed');
});

test.serial(
  'a script is sent statement by statement (ExecuteStatement takes one), split outside quotes, comments and dollar quotes',
  async (t) => {
    answerStatements();
    const conn = connect({ DATABASE_URL: 'redshift-data://sparkify-wg/dev' });
    const results = await conn.script(
      'SELECT \'a;b\' AS x; -- one; two\nSELECT "c;d" FROM t /* ; */;\nCREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\n;  ',
    );
    t.deepEqual(
      inputs().map((i) => i.Sql),
      [
        "SELECT 'a;b' AS x",
        '-- one; two\nSELECT "c;d" FROM t /* ; */',
        'CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql',
      ],
    );
    t.deepEqual(
      results.map((r) => r.command),
      ['SELECT', 'SELECT', 'CREATE'],
    );
  },
);

test.serial(
  'statements asked for at once run one after the other in the session (as pg queues a connection): never two in flight',
  async (t) => {
    let running = 0;
    let most = 0;
    const order: string[] = [];
    mock.on(ExecuteStatementCommand).callsFake((input: { Sql?: string }) => {
      running += 1;
      most = Math.max(most, running);
      order.push(input.Sql ?? '');
      return { Id: `stmt-${(ids += 1)}`, SessionId: 'session-1' };
    });
    mock.on(DescribeStatementCommand).callsFake(async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      running -= 1;
      return { Id: 'x', Status: 'FINISHED', HasResultSet: false, ResultRows: 0 };
    });
    const conn = connect({ DATABASE_URL: 'redshift-data://sparkify-wg/dev' });
    await Promise.all([conn.query('SELECT 1'), conn.query('SELECT 2'), conn.query('SELECT 3')]);
    t.is(most, 1, 'one statement at a time');
    t.deepEqual(order, ['SELECT 1', 'SELECT 2', 'SELECT 3']);
  },
);
