// IAM database authentication: temporary credentials from GetClusterCredentials
// (provisioned) or GetCredentials (Serverless), the user name kept as given.
import test from 'ava';
import { GetClusterCredentialsCommand, RedshiftClient } from '@aws-sdk/client-redshift';
import { GetCredentialsCommand, RedshiftServerlessClient } from '@aws-sdk/client-redshift-serverless';
import { mockClient } from 'aws-sdk-client-mock';
import { temporaryCredentials, withCredentials } from '../lib/aws/iam-auth.ts';
import { loadConfig } from '../lib/config/config.ts';
import { createLogger, silentLogger } from '../lib/log.ts';
import { Secrets } from '../lib/redact.ts';

const URL_NO_PASSWORD = 'postgres://awsuser@sparkify.abc.us-west-2.redshift.amazonaws.com:5439/dev?sslmode=require';

test('provisioned: GetClusterCredentials with the configured cluster, user and database; user name kept exactly', async (t) => {
  const config = loadConfig({
    DATABASE_URL: URL_NO_PASSWORD,
    REDSHIFT_IAM_AUTH: 'true',
    REDSHIFT_CLUSTER_ID: 'sparkify-cluster',
  });
  t.deepEqual(config.iamAuth, { kind: 'cluster', clusterId: 'sparkify-cluster', dbUser: 'awsuser', dbName: 'dev' });
  const redshift = mockClient(RedshiftClient);
  redshift
    .on(GetClusterCredentialsCommand)
    .resolves({ DbUser: 'IAM:awsuser', DbPassword: 'AskjdTemporaryPw123', Expiration: new Date() });
  const secrets = new Secrets();
  const creds = await temporaryCredentials(
    config.iamAuth!,
    'us-west-2',
    createLogger({ secrets, write: () => undefined }),
    { redshift: new RedshiftClient({ region: 'us-west-2' }) },
  );
  t.like(redshift.commandCalls(GetClusterCredentialsCommand)[0]?.args[0].input, {
    ClusterIdentifier: 'sparkify-cluster',
    DbUser: 'awsuser',
    DbName: 'dev',
    AutoCreate: false,
  });
  t.deepEqual(creds, { user: 'IAM:awsuser', password: 'AskjdTemporaryPw123' });
  const url = withCredentials(URL_NO_PASSWORD, creds);
  t.is(decodeURIComponent(new URL(url).username), 'IAM:awsuser');
  t.is(decodeURIComponent(new URL(url).password), 'AskjdTemporaryPw123');
  t.false(
    secrets.redact(`the temporary password is ${creds.password}`).includes('AskjdTemporaryPw123'),
    'the temporary password is registered as a secret and masked',
  );
});

test('Serverless: GetCredentials for the workgroup', async (t) => {
  const config = loadConfig({
    DATABASE_URL: URL_NO_PASSWORD,
    REDSHIFT_IAM_AUTH: 'serverless',
    REDSHIFT_WORKGROUP: 'sparkify-wg',
  });
  t.deepEqual(config.iamAuth, { kind: 'serverless', workgroup: 'sparkify-wg', dbName: 'dev' });
  const serverless = mockClient(RedshiftServerlessClient);
  serverless.on(GetCredentialsCommand).resolves({ dbUser: 'IAMR:admin-role', dbPassword: 'ServerlessTmpPw456' });
  const creds = await temporaryCredentials(config.iamAuth!, 'us-west-2', silentLogger, {
    serverless: new RedshiftServerlessClient({ region: 'us-west-2' }),
  });
  t.like(serverless.commandCalls(GetCredentialsCommand)[0]?.args[0].input, {
    workgroupName: 'sparkify-wg',
    dbName: 'dev',
  });
  t.is(creds.user, 'IAMR:admin-role');
});

test('IAM auth settings are checked: a password in the URL, or no endpoint, is refused', (t) => {
  t.throws(() => loadConfig({ DATABASE_URL: 'postgres://awsuser:pw@host:5439/dev', REDSHIFT_IAM_AUTH: 'true' }), {
    message: /already has a password/,
  });
  t.throws(() => loadConfig({ REDSHIFT_IAM_AUTH: 'true' }), { message: /set DATABASE_URL/ });
  t.throws(() => loadConfig({ DATABASE_URL: URL_NO_PASSWORD, REDSHIFT_IAM_AUTH: 'serverless' }), {
    message: /REDSHIFT_WORKGROUP/,
  });
  t.is(loadConfig({ DATABASE_URL: URL_NO_PASSWORD }).iamAuth, undefined);
});
