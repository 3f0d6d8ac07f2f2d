// Settings files: a .env (dotenv's syntax) reaches every client the tool
// drives (pg, the AWS SDK), not only loadConfig; the seed projects' dwh.cfg is
// read by --config / SPARKIFY_CONFIG; `cluster create --write-config` writes
// one. The command-line tests spawn the CLI with a clean environment (PATH and
// HOME only), so a setting reaches the child through the file or not at all.
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { CreateClusterCommand, DescribeClustersCommand, RedshiftClient, type Cluster } from '@aws-sdk/client-redshift';
import { EC2Client } from '@aws-sdk/client-ec2';
import { CreateRoleCommand, GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { loadClusterConfig, loadConfig } from '../lib/config/config.ts';
import { parseDwhCfg } from '../lib/config/dwh-cfg.ts';
import { parseEnvFile } from '../lib/config/env-file.ts';
import { setIniValues } from '../lib/config/ini-file-writer.ts';
import { layerSettings } from '../lib/config/settings-files.ts';
import { ConfigError } from '../lib/errors.ts';
import { generate } from '../lib/sample/generator.ts';
import { runClusterCommand } from '../scripts/commands/cluster.ts';
import { runCli } from './helpers/cli.ts';
import { createTestDatabase } from './helpers/database.ts';
import { startS3 } from './helpers/s3.ts';
import { tempDir } from './helpers/temp-dir.ts';
import { comparableCounts, counts } from './helpers/warehouse.ts';

/** A file of its own folder, removed when the test ends. */
async function fileWith(t: ExecutionContext, name: string, text: string): Promise<string> {
  const file = path.join(await tempDir(t, 'settings-files-'), name);
  await writeFile(file, text);
  return file;
}

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  return [];
}

/** The counts a load of `expected`'s data gives, table by table. */

/** The seed projects' dwh.cfg, filled in as a user would, with the quoting the template has. */
const SEED_CFG = `# dwh.cfg of the seed project
[CLUSTER]
HOST='dwhcluster.abc123.us-west-2.redshift.amazonaws.com'
DB_NAME='dwh'
DB_USER='dwhuser'
DB_PASSWORD='Pa#ss;w0rd%%1'
DB_PORT=5439

[IAM_ROLE]
ARN='arn:aws:iam::123456789012:role/dwhRole'

[S3]
LOG_DATA='s3://udacity-dend/log_data'
LOG_JSONPATH='s3://udacity-dend/log_json_path.json'
SONG_DATA='s3://udacity-dend/song_data'
LOG_REGION=us-west-2

[AWS]
KEY=AKIAEXAMPLEKEY
SECRET=seed-secret/value+1

[DWH]
DWH_CLUSTER_TYPE=multi-node
DWH_NUM_NODES=4
DWH_NODE_TYPE=dc2.large
DWH_IAM_ROLE_NAME=dwhRole
DWH_CLUSTER_IDENTIFIER=dwhCluster
DWH_DB=dwh
DWH_DB_USER=dwhuser
DWH_DB_PASSWORD=Passw0rd
DWH_PORT=5439

[NOTEBOOK]
OWNER=me
`;

test('.env is read with dotenv semantics: export, quotes, # after a quoted value, escaped newlines', (t) => {
  const env = parseEnvFile(
    [
      'export A=1',
      'B="x # y" # a comment',
      "C='single quoted'",
      'D="two\\nlines"',
      'E=plain # a comment',
      'F=',
      '# G=commented',
    ].join('\n'),
  );
  t.deepEqual(env, { A: '1', B: 'x # y', C: 'single quoted', D: 'two\nlines', E: 'plain', F: '' });
});

test('a dwh.cfg given as --env-file is an error naming the file, the line and --config', (t) => {
  const problems = problemsOf(() => parseEnvFile(SEED_CFG, 'dwh.cfg'));
  t.is(problems.length, 1);
  t.regex(problems[0] ?? '', /^dwh\.cfg:2: \[CLUSTER\] is an INI section header.*--config dwh\.cfg/);
});

test("the seed's dwh.cfg maps to the settings: connection with TLS, role, sources, keys, cluster settings; unknown keys named", (t) => {
  const cfg = parseDwhCfg(SEED_CFG, 'dwh.cfg');
  t.deepEqual(cfg.settings, {
    // The password keeps its # and ; (no inline comments in configparser), %% is one %, and it is URL-encoded.
    DATABASE_URL: `postgres://dwhuser:${encodeURIComponent('Pa#ss;w0rd%1')}@dwhcluster.abc123.us-west-2.redshift.amazonaws.com:5439/dwh?sslmode=require`,
    IAM_ROLE_ARN: 'arn:aws:iam::123456789012:role/dwhRole',
    LOG_DATA: 's3://udacity-dend/log_data',
    LOG_JSONPATH: 's3://udacity-dend/log_json_path.json',
    SONG_DATA: 's3://udacity-dend/song_data',
    AWS_ACCESS_KEY_ID: 'AKIAEXAMPLEKEY',
    AWS_SECRET_ACCESS_KEY: 'seed-secret/value+1',
    REDSHIFT_NODES: '4',
    REDSHIFT_NODE_TYPE: 'dc2.large',
    REDSHIFT_ROLE_NAME: 'dwhRole',
    REDSHIFT_CLUSTER_ID: 'dwhcluster',
    REDSHIFT_DB: 'dwh',
    REDSHIFT_USER: 'dwhuser',
    REDSHIFT_PASSWORD: 'Passw0rd',
    REDSHIFT_PORT: '5439',
  });
  t.false(cfg.hostMissing);
  t.deepEqual(cfg.warnings, [
    'dwh.cfg:16: [S3] LOG_REGION is not a setting this tool reads; ignored',
    'dwh.cfg:33: section [NOTEBOOK] is not one this tool reads (it reads [CLUSTER], [IAM_ROLE], [S3], [AWS], [DWH]); ignored',
  ]);
  // The same validation and secret masking as the environment's.
  const config = loadConfig(cfg.settings);
  t.is(config.iamRoleArn, 'arn:aws:iam::123456789012:role/dwhRole');
  t.true(config.secrets.includes('Pa#ss;w0rd%1'));
  t.true(config.secrets.includes('seed-secret/value+1'));
  t.like(loadClusterConfig(cfg.settings), {
    clusterId: 'dwhcluster',
    nodes: 4,
    nodeType: 'dc2.large',
    database: 'dwh',
    user: 'dwhuser',
    port: 5439,
    password: 'Passw0rd',
    roleName: 'dwhRole',
  });
});

test('dwh.cfg: a loopback host needs no TLS, DB_SSLMODE decides, key: value lines and continuation lines read as configparser does', (t) => {
  const local = parseDwhCfg('[CLUSTER]\nHOST = 127.0.0.1\nDB_NAME: dev\nDB_USER = me\nDB_PORT = 5432\n', 'a.cfg');
  t.is(local.settings['DATABASE_URL'], 'postgres://me@127.0.0.1:5432/dev');
  const disabled = parseDwhCfg(
    '[cluster]\nhost=db.example.com\ndb_name=dev\ndb_user=me\ndb_sslmode=disable\n',
    'b.cfg',
  );
  t.is(disabled.settings['DATABASE_URL'], 'postgres://me@db.example.com:5439/dev?sslmode=disable');
  const template = parseDwhCfg("[CLUSTER]\nHOST=''\nDB_NAME=''\n[IAM_ROLE]\nARN=\n", 'c.cfg');
  t.true(template.hostMissing);
  t.deepEqual(template.settings, {});
  const continued = parseDwhCfg('[S3]\nLOG_DATA = s3://b/log_data\n  continued\n', 'd.cfg');
  t.is(continued.settings['LOG_DATA'], 's3://b/log_data\ncontinued');
});

test('dwh.cfg problems are reported at once, naming file, line, section and key', (t) => {
  const problems = problemsOf(() =>
    parseDwhCfg(
      '[CLUSTER]\nHOST=h.example.com\nDB_NAME=dev\nDB_PORT=port\n[DWH]\nDWH_CLUSTER_TYPE=single-node\nDWH_NUM_NODES=4\n[S3]\nLOG_DATA=%(root)s/log\n',
      'x.cfg',
    ),
  );
  t.deepEqual(problems, ['x.cfg:9: [S3] LOG_DATA: %(name)s references are not supported; write the value out']);
  const more = problemsOf(() =>
    parseDwhCfg(
      '[CLUSTER]\nHOST=h.example.com\nDB_NAME=dev\nDB_PORT=port\n[DWH]\nDWH_CLUSTER_TYPE=single-node\nDWH_NUM_NODES=4\n',
      'x.cfg',
    ),
  );
  t.deepEqual(more, [
    'x.cfg:1: [CLUSTER] needs DB_USER beside HOST',
    "x.cfg:4: [CLUSTER] DB_PORT: expected a port number, got 'port'",
    'x.cfg:7: [DWH] DWH_NUM_NODES: a single-node cluster (DWH_CLUSTER_TYPE) has 1 node, got 4',
  ]);
  t.regex(
    problemsOf(() => parseDwhCfg('LOG_DATA=s3://b/x\n', 'y.cfg'))[0] ?? '',
    /^y\.cfg:1: a setting before any \[SECTION\] header.*goes to --env-file/,
  );
  t.regex(
    problemsOf(() => parseDwhCfg('[S3]\nLOG_DATA=a\nlog_data=b\n', 'z.cfg'))[0] ?? '',
    /^z\.cfg:3: \[S3\] log_data is set twice \(first at line 2\)/,
  );
});

test('the environment wins over the files, the named dwh.cfg over .env (said when they differ), empty values mean the default', (t) => {
  const { add, notes } = layerSettings({ AWS_REGION: 'eu-west-1', LOG_DATA: '' }, [
    { file: 'dwh.cfg', settings: { AWS_REGION: 'us-west-2', LOG_DATA: 's3://cfg/log', SONG_DATA: '' } },
    { file: '.env', settings: { LOG_DATA: 's3://env/log', SONG_DATA: 's3://env/song', PGSSLMODE: 'disable' } },
  ]);
  t.deepEqual(add, { LOG_DATA: 's3://cfg/log', SONG_DATA: 's3://env/song', PGSSLMODE: 'disable' });
  t.deepEqual(notes, ["LOG_DATA is set in both dwh.cfg and .env: dwh.cfg's value is used"]);
});

test("setIniValues keeps comments, other keys and each value's quoting; adds what is missing; owner-only", async (t) => {
  const file = await fileWith(
    t,
    'dwh.cfg',
    "# mine\n[CLUSTER]\nHOST=''\nDB_PORT=5439\n\n[S3]\nLOG_DATA='s3://udacity-dend/log_data'\n",
  );
  await chmod(file, 0o644);
  await setIniValues(file, {
    CLUSTER: { HOST: 'h.example.com', DB_PASSWORD: 'a%b' },
    IAM_ROLE: { ARN: 'arn:aws:iam::123456789012:role/r' },
  });
  t.is(
    await readFile(file, 'utf8'),
    "# mine\n[CLUSTER]\nHOST='h.example.com'\nDB_PORT=5439\nDB_PASSWORD=a%%b\n\n[S3]\nLOG_DATA='s3://udacity-dend/log_data'\n\n[IAM_ROLE]\nARN=arn:aws:iam::123456789012:role/r\n",
  );
  t.is((await stat(file)).mode & 0o777, 0o600);
});

test('settings only in .env reach pg: PGSSLMODE=require fails against a server without TLS, disable connects', async (t) => {
  const tdb = await createTestDatabase();
  t.teardown(() => tdb.drop());
  const required = await runCli(
    ['migrate', 'status'],
    {},
    { envFile: await fileWith(t, '.env', `DATABASE_URL=${tdb.url}\nPGSSLMODE=require\n`) },
  );
  t.is(required.code, 1, required.stderr);
  t.regex(required.stderr, /does not support SSL/);
  const disabled = await runCli(
    ['migrate', 'status'],
    {},
    { envFile: await fileWith(t, '.env', `DATABASE_URL="${tdb.url}" # the test database\nexport PGSSLMODE=disable\n`) },
  );
  t.is(disabled.code, 0, disabled.stderr);
  t.regex(disabled.stdout, /0 applied, \d+ pending \(postgres at /);
});

test('a .env holding only the S3 endpoint and keys: a load from s3:// (s3rver) gives the expected counts', async (t) => {
  const out = await tempDir(t, 'settings-sample-');
  const expected = await generate({ songs: 40, events: 300, seed: 13, out });
  const s3 = await startS3(['seed-bucket']);
  t.teardown(() => s3.close());
  await s3.upload('seed-bucket', 'song_data/', path.join(out, 'song_data'));
  await s3.upload('seed-bucket', 'log_data/', path.join(out, 'log_data'));
  await s3.put('seed-bucket', 'log_json_path.json', await readFile(path.join(out, 'log_json_path.json')));
  const tdb = await createTestDatabase();
  t.teardown(() => tdb.drop());
  const env = {
    DATABASE_URL: tdb.url,
    LOG_DATA: 's3://seed-bucket/log_data/',
    SONG_DATA: 's3://seed-bucket/song_data/',
    LOG_JSONPATH: 's3://seed-bucket/log_json_path.json',
  };
  const envFile = await fileWith(
    t,
    '.env',
    `AWS_ENDPOINT_URL_S3=${s3.endpoint}\nAWS_ACCESS_KEY_ID='S3RVER'\nAWS_SECRET_ACCESS_KEY="S3RVER"\n`,
  );
  t.is((await runCli(['migrate', 'up'], env)).code, 0);
  const r = await runCli(['load'], env, { envFile });
  t.is(r.code, 0, r.stderr);
  {
    const c = comparableCounts(await counts(tdb), expected);
    t.deepEqual(c.actual, c.expected);
  }
});

test('--config dwh.cfg: [CLUSTER] is the warehouse, [S3] the sources, [AWS] the S3 keys; unknown keys warned; load gives the expected counts', async (t) => {
  const out = await tempDir(t, 'settings-sample-');
  const expected = await generate({ songs: 30, events: 250, seed: 21, out });
  const s3 = await startS3(['cfg-bucket']);
  t.teardown(() => s3.close());
  await s3.upload('cfg-bucket', 'song_data/', path.join(out, 'song_data'));
  await s3.upload('cfg-bucket', 'log_data/', path.join(out, 'log_data'));
  await s3.put('cfg-bucket', 'log_json_path.json', await readFile(path.join(out, 'log_json_path.json')));
  const tdb = await createTestDatabase();
  t.teardown(() => tdb.drop());
  const u = new URL(tdb.url);
  const cfg = await fileWith(
    t,
    'dwh.cfg',
    `[CLUSTER]
HOST='${u.hostname}'
DB_NAME='${tdb.name}'
DB_USER='${decodeURIComponent(u.username)}'
DB_PASSWORD='${decodeURIComponent(u.password)}'
DB_PORT=${u.port}

[S3]
LOG_DATA='s3://cfg-bucket/log_data/'
LOG_JSONPATH='s3://cfg-bucket/log_json_path.json'
SONG_DATA='s3://cfg-bucket/song_data/'
LOG_BUCKET=cfg-bucket

[AWS]
KEY=S3RVER
SECRET=S3RVER
`,
  );
  // The endpoint has no key in a dwh.cfg: it comes from the environment; everything else from the file.
  const env = { AWS_ENDPOINT_URL_S3: s3.endpoint };
  const migrated = await runCli(['migrate', 'up', '--config', cfg], env);
  t.is(migrated.code, 0, migrated.stderr);
  t.regex(migrated.stderr, /dwh\.cfg:12: \[S3\] LOG_BUCKET is not a setting this tool reads; ignored/);
  const r = await runCli(['load'], { ...env, SPARKIFY_CONFIG: cfg });
  t.is(r.code, 0, r.stderr);
  {
    const c = comparableCounts(await counts(tdb), expected);
    t.deepEqual(c.actual, c.expected);
  }
  t.false(
    (r.stdout + r.stderr).includes(decodeURIComponent(u.password)),
    'the password from the file is never printed',
  );
});

test('--config with the template’s empty HOST refuses to fall back to the embedded PostgreSQL; a dwh.cfg as --env-file is an error', async (t) => {
  const cfg = await fileWith(
    t,
    'dwh.cfg',
    "[CLUSTER]\nHOST=''\nDB_NAME=''\n\n[S3]\nLOG_DATA='s3://udacity-dend/log_data'\n",
  );
  const dir = await tempDir(t, 'settings-warehouse-');
  const r = await runCli(['verify', '--config', cfg], { WAREHOUSE_DIR: dir });
  t.is(r.code, 2, r.stderr);
  t.regex(r.stderr, /dwh\.cfg names no warehouse \(\[CLUSTER\] HOST is empty or missing\)/);
  const asEnv = await runCli(['load', '--dry-run', '--dialect', 'redshift'], {}, { envFile: cfg });
  t.is(asEnv.code, 2, asEnv.stderr);
  t.regex(asEnv.stderr, /dwh\.cfg:1: \[CLUSTER\] is an INI section header.*give it with --config/);
  const missing = await runCli(['load', '--dry-run', '--dialect', 'redshift', '--config', path.join(dir, 'nope.cfg')]);
  t.is(missing.code, 2);
  t.regex(missing.stderr, /--config .*nope\.cfg: no such file/);
});

test.serial(
  'cluster create --write-config fills in the dwh.cfg (its other lines kept) and reads its [DWH] settings',
  async (t) => {
    const saved = { ...process.env };
    t.teardown(() => {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    });
    const iam = mockClient(IAMClient);
    const redshift = mockClient(RedshiftClient);
    mockClient(EC2Client);
    const arn = 'arn:aws:iam::123456789012:role/dwhRole';
    const available: Cluster = {
      ClusterIdentifier: 'dwhcluster',
      ClusterStatus: 'available',
      Endpoint: { Address: 'dwhcluster.abc123.us-west-2.redshift.amazonaws.com', Port: 5439 },
      IamRoles: [{ IamRoleArn: arn }],
    };
    iam.on(GetRoleCommand).rejects(Object.assign(new Error('none'), { name: 'NoSuchEntityException' }));
    iam
      .on(CreateRoleCommand)
      .resolves({ Role: { Arn: arn, RoleName: 'dwhRole', Path: '/', RoleId: 'x', CreateDate: new Date() } });
    // The lease check lists the account's clusters (none of the tool's); the create looks this one up by name.
    redshift.on(DescribeClustersCommand).resolves({ Clusters: [] });
    redshift
      .on(DescribeClustersCommand, { ClusterIdentifier: 'dwhcluster' })
      .rejectsOnce(Object.assign(new Error('none'), { name: 'ClusterNotFoundFault' }))
      .resolves({ Clusters: [available] });
    const template =
      "# from the seed project\n[CLUSTER]\nHOST=''\nDB_NAME=''\nDB_USER=''\nDB_PASSWORD=''\nDB_PORT=''\n\n[IAM_ROLE]\nARN=''\n\n[DWH]\nDWH_CLUSTER_TYPE=single-node\nDWH_NODE_TYPE=dc2.large\nDWH_CLUSTER_IDENTIFIER=dwhCluster\nDWH_DB=dwh\nDWH_DB_USER=dwhuser\nDWH_IAM_ROLE_NAME=dwhRole\n";
    const file = await fileWith(t, 'dwh.cfg', template);
    const clients = {
      iam: new IAMClient({ region: 'us-west-2' }),
      redshift: new RedshiftClient({ region: 'us-west-2' }),
      ec2: new EC2Client({ region: 'us-west-2' }),
    };
    const write = process.stdout.write.bind(process.stdout);
    const printed: string[] = [];
    process.stdout.write = ((chunk: string | Uint8Array) => (
      printed.push(String(chunk)),
      true
    )) as typeof process.stdout.write;
    try {
      await runClusterCommand(
        {
          action: 'create',
          dryRun: false,
          writeEnv: false,
          writeConfig: file,
          config: file,
          yes: false,
          skipFinalSnapshot: false,
          envFile: '/dev/null',
          verbose: false,
          quiet: true,
        },
        { clients, sleep: async () => undefined },
      );
    } finally {
      process.stdout.write = write;
    }
    const create = redshift.commandCalls(CreateClusterCommand)[0]?.args[0].input;
    t.like(create, {
      ClusterIdentifier: 'dwhcluster',
      NodeType: 'dc2.large',
      ClusterType: 'single-node',
      DBName: 'dwh',
      MasterUsername: 'dwhuser',
    });
    const password = create?.MasterUserPassword ?? '';
    const text = await readFile(file, 'utf8');
    t.true(text.startsWith('# from the seed project\n[CLUSTER]\n'));
    t.regex(text, /^HOST='dwhcluster\.abc123\.us-west-2\.redshift\.amazonaws\.com'$/m);
    t.regex(text, /^DB_PORT='5439'$/m);
    t.true(text.includes(`DB_PASSWORD='${password}'`));
    t.true(text.includes(`DWH_DB_PASSWORD=${password}`));
    t.regex(text, /^ARN='arn:aws:iam::123456789012:role\/dwhRole'$/m);
    t.false(printed.join('').includes(password), 'the generated password is never printed');
    // What was written reads back as the connection to the new cluster.
    const back = parseDwhCfg(text, 'dwh.cfg');
    t.is(
      back.settings['DATABASE_URL'],
      `postgres://dwhuser:${encodeURIComponent(password)}@dwhcluster.abc123.us-west-2.redshift.amazonaws.com:5439/dwh?sslmode=require`,
    );
    t.is(back.settings['IAM_ROLE_ARN'], arn);
    t.is((await stat(file)).mode & 0o777, 0o600);
  },
);
