// npm run cluster -- create|status|delete --serverless: the namespace and
// workgroup (with the IAM role) through @aws-sdk/client-redshift-serverless,
// checked against aws-sdk-client-mock; the plan of a dry run through the CLI.
import test from 'ava';
import { EC2Client } from '@aws-sdk/client-ec2';
import {
  AttachRolePolicyCommand,
  CreateRoleCommand,
  DeleteRoleCommand,
  DetachRolePolicyCommand,
  GetRoleCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
} from '@aws-sdk/client-iam';
import { RedshiftClient } from '@aws-sdk/client-redshift';
import {
  CreateNamespaceCommand,
  CreateUsageLimitCommand,
  CreateWorkgroupCommand,
  DeleteNamespaceCommand,
  DeleteWorkgroupCommand,
  GetNamespaceCommand,
  GetWorkgroupCommand,
  RedshiftServerlessClient,
  UpdateNamespaceCommand,
  type Namespace,
  type Workgroup,
} from '@aws-sdk/client-redshift-serverless';
import { mockClient } from 'aws-sdk-client-mock';
import type { ClusterContext } from '../lib/aws/cluster.ts';
import { createServerless, deleteServerless } from '../lib/aws/serverless.ts';
import { loadClusterConfig } from '../lib/config/config.ts';
import { silentLogger } from '../lib/log.ts';
import { runCli } from './helpers/cli.ts';

const ROLE_ARN = 'arn:aws:iam::123456789012:role/sparkify-redshift-s3-read';
const SECRET_ARN = 'arn:aws:secretsmanager:us-west-2:123456789012:secret:redshift!sparkify-ns-admin-AbCdEf';
const notFound = (name: string) => Object.assign(new Error(name), { name });
const namespace: Namespace = {
  namespaceName: 'sparkify-ns',
  status: 'AVAILABLE',
  dbName: 'dev',
  adminPasswordSecretArn: SECRET_ARN,
  iamRoles: [`IamRole(applyStatus=in-sync, iamRoleArn=${ROLE_ARN})`],
};
const WORKGROUP_ARN = 'arn:aws:redshift-serverless:us-west-2:123456789012:workgroup/0b1c2d3e';
const workgroup: Workgroup = {
  workgroupName: 'sparkify-wg',
  workgroupArn: WORKGROUP_ARN,
  namespaceName: 'sparkify-ns',
  status: 'AVAILABLE',
  baseCapacity: 8,
};

function mocks() {
  const iam = mockClient(IAMClient);
  const serverless = mockClient(RedshiftServerlessClient);
  iam.reset();
  serverless.reset();
  const clients = {
    iam: new IAMClient({ region: 'us-west-2' }),
    redshift: new RedshiftClient({ region: 'us-west-2' }),
    ec2: new EC2Client({ region: 'us-west-2' }),
    serverless: new RedshiftServerlessClient({ region: 'us-west-2' }),
  };
  return { iam, serverless, clients };
}

function context(env: Record<string, string>, clients: ClusterContext['clients'], dryRun = false): ClusterContext {
  return {
    config: loadClusterConfig(env),
    clients,
    log: silentLogger,
    dryRun,
    calls: [],
    sleep: async () => undefined,
    pollMs: 1,
  };
}

const sequence = (ctx: ClusterContext) => ctx.calls.map((c) => `${c.service} ${c.command}`);

test.serial(
  'create --serverless on an empty account: role, namespace with the role and a managed admin password, workgroup, wait until AVAILABLE',
  async (t) => {
    const m = mocks();
    m.iam.on(GetRoleCommand).rejects(notFound('NoSuchEntityException'));
    m.iam
      .on(CreateRoleCommand)
      .resolves({ Role: { Arn: ROLE_ARN, RoleName: 'r', Path: '/', RoleId: 'x', CreateDate: new Date() } });
    m.serverless.on(GetNamespaceCommand).rejects(notFound('ResourceNotFoundException'));
    m.serverless.on(CreateNamespaceCommand).resolves({ namespace });
    m.serverless
      .on(GetWorkgroupCommand)
      .rejectsOnce(notFound('ResourceNotFoundException'))
      .resolvesOnce({ workgroup: { ...workgroup, status: 'CREATING' } })
      .resolves({ workgroup });
    m.serverless.on(CreateWorkgroupCommand).resolves({ workgroup: { ...workgroup, status: 'CREATING' } });
    const ctx = context({ REDSHIFT_BASE_CAPACITY: '16' }, m.clients);
    const r = await createServerless({ ...ctx, now: () => Date.parse('2026-12-07T01:00:00Z') });
    t.deepEqual(sequence(ctx), [
      'IAM GetRole',
      'IAM CreateRole',
      'IAM AttachRolePolicy',
      'Redshift Serverless GetNamespace',
      'Redshift Serverless CreateNamespace',
      'Redshift Serverless GetWorkgroup',
      'Redshift Serverless CreateWorkgroup',
      'Redshift Serverless GetWorkgroup',
      'Redshift Serverless GetWorkgroup',
      'Redshift Serverless ListUsageLimits',
      'Redshift Serverless CreateUsageLimit',
    ]);
    // The lease (lib/aws/lease.ts): the default 4 hours from the clock, in the create calls.
    const tags = [
      { key: 'sparkify-warehouse:created-by', value: 'sparkify-warehouse' },
      { key: 'sparkify-warehouse:expires-at', value: '2026-12-07T05:00:00Z' },
    ];
    t.deepEqual(m.serverless.commandCalls(CreateNamespaceCommand)[0]?.args[0].input, {
      namespaceName: 'sparkify-ns',
      dbName: 'dev',
      adminUsername: 'awsuser',
      manageAdminPassword: true,
      iamRoles: [ROLE_ARN],
      defaultIamRoleArn: ROLE_ARN,
      tags,
    });
    t.deepEqual(m.serverless.commandCalls(CreateWorkgroupCommand)[0]?.args[0].input, {
      workgroupName: 'sparkify-wg',
      namespaceName: 'sparkify-ns',
      baseCapacity: 16,
      publiclyAccessible: false,
      tags,
    });
    t.deepEqual(m.serverless.commandCalls(CreateUsageLimitCommand)[0]?.args[0].input, {
      resourceArn: WORKGROUP_ARN,
      usageType: 'serverless-compute',
      amount: 32,
      period: 'daily',
      breachAction: 'deactivate',
    });
    t.deepEqual(r, {
      roleArn: ROLE_ARN,
      secretArn: SECRET_ARN,
      reused: { role: false, namespace: false, workgroup: false },
    });
  },
);

test.serial('create --serverless reuses what exists, adding the role to a namespace that lacks it', async (t) => {
  const m = mocks();
  m.iam
    .on(GetRoleCommand)
    .resolves({ Role: { Arn: ROLE_ARN, RoleName: 'r', Path: '/', RoleId: 'x', CreateDate: new Date() } });
  m.iam
    .on(ListAttachedRolePoliciesCommand)
    .resolves({ AttachedPolicies: [{ PolicyArn: 'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess' }] });
  const other = 'arn:aws:iam::123456789012:role/other';
  m.serverless
    .on(GetNamespaceCommand)
    .resolves({ namespace: { ...namespace, iamRoles: [`IamRole(applyStatus=in-sync, iamRoleArn=${other})`] } });
  m.serverless.on(GetWorkgroupCommand).resolves({ workgroup });
  const ctx = context({}, m.clients);
  const r = await createServerless(ctx);
  t.false(
    sequence(ctx).some((c) => /Create/.test(c)),
    sequence(ctx).join(', '),
  );
  t.is(m.iam.commandCalls(AttachRolePolicyCommand).length, 0);
  t.deepEqual(m.serverless.commandCalls(UpdateNamespaceCommand)[0]?.args[0].input, {
    namespaceName: 'sparkify-ns',
    iamRoles: [other, ROLE_ARN],
    defaultIamRoleArn: ROLE_ARN,
  });
  t.deepEqual(r.reused, { role: true, namespace: true, workgroup: true });
});

test.serial(
  'delete --serverless: workgroup (waiting until gone), namespace, role; what does not exist is skipped',
  async (t) => {
    const m = mocks();
    m.serverless
      .on(GetWorkgroupCommand)
      .resolvesOnce({ workgroup })
      .resolvesOnce({ workgroup: { ...workgroup, status: 'DELETING' } })
      .rejects(notFound('ResourceNotFoundException'));
    m.serverless.on(GetNamespaceCommand).rejects(notFound('ResourceNotFoundException'));
    m.iam
      .on(GetRoleCommand)
      .resolves({ Role: { Arn: ROLE_ARN, RoleName: 'r', Path: '/', RoleId: 'x', CreateDate: new Date() } });
    m.iam
      .on(ListAttachedRolePoliciesCommand)
      .resolves({ AttachedPolicies: [{ PolicyArn: 'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess' }] });
    const ctx = context({}, m.clients);
    t.deepEqual(await deleteServerless(ctx), { workgroup: true, namespace: false, role: true });
    t.is(m.serverless.commandCalls(DeleteWorkgroupCommand)[0]?.args[0].input.workgroupName, 'sparkify-wg');
    t.is(m.serverless.commandCalls(DeleteNamespaceCommand).length, 0);
    t.is(m.iam.commandCalls(DetachRolePolicyCommand).length, 1);
    t.is(m.iam.commandCalls(DeleteRoleCommand).length, 1);
    t.is(m.serverless.commandCalls(GetWorkgroupCommand).length, 3);
  },
);

test('cluster create|delete --serverless --dry-run print the plan and call nothing', async (t) => {
  const env = {
    AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'not-a-real-secret-value',
    REDSHIFT_WORKGROUP: 'team-wg',
    REDSHIFT_NAMESPACE: 'team-ns',
  };
  const create = await runCli(['cluster', 'create', '--serverless', '--dry-run'], env);
  t.is(create.code, 0, create.stderr);
  t.regex(
    create.stdout,
    /Redshift Serverless CreateNamespace \{"namespaceName":"team-ns","dbName":"dev","adminUsername":"awsuser","manageAdminPassword":true/,
  );
  t.regex(
    create.stdout,
    /Redshift Serverless CreateWorkgroup \{"workgroupName":"team-wg","namespaceName":"team-ns","baseCapacity":8,"publiclyAccessible":false,"tags":\[\{"key":"sparkify-warehouse:created-by","value":"sparkify-warehouse"\},\{"key":"sparkify-warehouse:expires-at","value":"[\dT:-]+Z"\}\]\}/,
  );
  t.regex(
    create.stdout,
    /Redshift Serverless CreateUsageLimit \{"resourceArn":"arn:aws:redshift-serverless:us-west-2:<account>:workgroup\/<id of team-wg>","usageType":"serverless-compute","amount":32,"period":"daily","breachAction":"deactivate"\}/,
  );
  const del = await runCli(['cluster', 'delete', '--serverless', '--dry-run'], env);
  t.is(del.code, 0, del.stderr);
  t.regex(
    del.stdout,
    /Redshift Serverless DeleteWorkgroup \{"workgroupName":"team-wg"\}[\s\S]*Redshift Serverless DeleteNamespace \{"namespaceName":"team-ns"\}[\s\S]*IAM DeleteRole/,
  );
});
