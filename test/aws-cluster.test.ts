// npm run cluster: the AWS control plane cannot run here, so its request
// sequence and parameters are checked against aws-sdk-client-mock.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { AuthorizeSecurityGroupIngressCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  AttachRolePolicyCommand,
  CreateRoleCommand,
  DeleteRoleCommand,
  DetachRolePolicyCommand,
  GetRoleCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
} from '@aws-sdk/client-iam';
import {
  CreateClusterCommand,
  DeleteClusterCommand,
  DescribeClustersCommand,
  ModifyClusterIamRolesCommand,
  RedshiftClient,
  type Cluster,
} from '@aws-sdk/client-redshift';
import { mockClient } from 'aws-sdk-client-mock';
import { createCluster, deleteCluster, S3_READ_POLICY, type ClusterContext } from '../lib/aws/cluster.ts';
import { loadClusterConfig } from '../lib/config/config.ts';
import { silentLogger } from '../lib/log.ts';
import { runClusterCommand } from '../scripts/commands/cluster.ts';
import { runCli } from './helpers/cli.ts';
import { tempDir } from './helpers/temp-dir.ts';

const ROLE_ARN = 'arn:aws:iam::123456789012:role/sparkify-redshift-s3-read';
const notFound = (name: string) => Object.assign(new Error(name), { name });
const available: Cluster = {
  ClusterIdentifier: 'sparkify-cluster',
  ClusterStatus: 'available',
  NodeType: 'ra3.large',
  NumberOfNodes: 2,
  Endpoint: { Address: 'sparkify-cluster.abc123.us-west-2.redshift.amazonaws.com', Port: 5439 },
  IamRoles: [{ IamRoleArn: ROLE_ARN }],
  VpcSecurityGroups: [{ VpcSecurityGroupId: 'sg-0123' }],
};

function mocks() {
  const iam = mockClient(IAMClient);
  const redshift = mockClient(RedshiftClient);
  const ec2 = mockClient(EC2Client);
  iam.reset();
  redshift.reset();
  ec2.reset();
  return {
    iam,
    redshift,
    ec2,
    clients: {
      iam: new IAMClient({ region: 'us-west-2' }),
      redshift: new RedshiftClient({ region: 'us-west-2' }),
      ec2: new EC2Client({ region: 'us-west-2' }),
    },
  };
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

test.serial(
  'create on an empty account: role, policy, cluster, wait, inbound rule from the configured CIDR only',
  async (t) => {
    const m = mocks();
    m.iam.on(GetRoleCommand).rejects(notFound('NoSuchEntityException'));
    m.iam
      .on(CreateRoleCommand)
      .resolves({ Role: { Arn: ROLE_ARN, RoleName: 'r', Path: '/', RoleId: 'x', CreateDate: new Date() } });
    m.redshift
      .on(DescribeClustersCommand)
      .rejectsOnce(notFound('ClusterNotFoundFault'))
      .resolvesOnce({ Clusters: [{ ...available, ClusterStatus: 'creating' }] })
      .resolves({ Clusters: [available] });
    m.redshift.on(CreateClusterCommand).resolves({ Cluster: { ...available, ClusterStatus: 'creating' } });
    const ctx = context({ REDSHIFT_PASSWORD: 'Sup3rSecretPw', REDSHIFT_INGRESS_CIDR: '203.0.113.7/32' }, m.clients);
    const r = await createCluster(ctx);
    t.deepEqual(
      ctx.calls.map((c) => `${c.service} ${c.command}`),
      [
        'IAM GetRole',
        'IAM CreateRole',
        'IAM AttachRolePolicy',
        'Redshift DescribeClusters',
        'Redshift CreateCluster',
        'Redshift DescribeClusters',
        'Redshift DescribeClusters',
        'EC2 AuthorizeSecurityGroupIngress',
      ],
    );
    t.is(
      JSON.parse(m.iam.commandCalls(CreateRoleCommand)[0]?.args[0].input.AssumeRolePolicyDocument ?? '{}').Statement[0]
        .Principal.Service,
      'redshift.amazonaws.com',
    );
    t.is(m.iam.commandCalls(AttachRolePolicyCommand)[0]?.args[0].input.PolicyArn, S3_READ_POLICY);
    const create = m.redshift.commandCalls(CreateClusterCommand)[0]?.args[0].input;
    t.like(create, {
      ClusterIdentifier: 'sparkify-cluster',
      NodeType: 'ra3.large',
      ClusterType: 'multi-node',
      NumberOfNodes: 2,
      DBName: 'dev',
      MasterUsername: 'awsuser',
      Port: 5439,
      IamRoles: [ROLE_ARN],
      MasterUserPassword: 'Sup3rSecretPw',
    });
    const ingress = m.ec2.commandCalls(AuthorizeSecurityGroupIngressCommand)[0]?.args[0].input;
    t.deepEqual(ingress?.IpPermissions?.[0]?.IpRanges, [
      { CidrIp: '203.0.113.7/32', Description: 'sparkify-warehouse' },
    ]);
    t.is(ingress?.GroupId, 'sg-0123');
    t.false(JSON.stringify(ctx.calls).includes('Sup3rSecretPw'), 'the password is never part of a shown parameter');
    t.deepEqual(r.reused, { role: false, cluster: false });
    t.is(r.endpoint?.host, 'sparkify-cluster.abc123.us-west-2.redshift.amazonaws.com');
  },
);

test.serial(
  'a second create reuses the role, the cluster and the inbound rule: nothing is created twice',
  async (t) => {
    const m = mocks();
    m.iam
      .on(GetRoleCommand)
      .resolves({ Role: { Arn: ROLE_ARN, RoleName: 'r', Path: '/', RoleId: 'x', CreateDate: new Date() } });
    m.iam.on(ListAttachedRolePoliciesCommand).resolves({ AttachedPolicies: [{ PolicyArn: S3_READ_POLICY }] });
    m.redshift.on(DescribeClustersCommand).resolves({ Clusters: [available] });
    m.ec2.on(AuthorizeSecurityGroupIngressCommand).rejects(notFound('InvalidPermission.Duplicate'));
    const ctx = context({ REDSHIFT_PASSWORD: 'Sup3rSecretPw', REDSHIFT_INGRESS_CIDR: '203.0.113.7/32' }, m.clients);
    const r = await createCluster(ctx);
    t.deepEqual(r.reused, { role: true, cluster: true });
    t.is(m.iam.commandCalls(CreateRoleCommand).length, 0);
    t.is(m.iam.commandCalls(AttachRolePolicyCommand).length, 0);
    t.is(m.redshift.commandCalls(CreateClusterCommand).length, 0);
    t.is(m.redshift.commandCalls(ModifyClusterIamRolesCommand).length, 0);
  },
);

test.serial('no CIDR configured: no inbound rule at all (never 0.0.0.0/0)', async (t) => {
  const m = mocks();
  m.iam
    .on(GetRoleCommand)
    .resolves({ Role: { Arn: ROLE_ARN, RoleName: 'r', Path: '/', RoleId: 'x', CreateDate: new Date() } });
  m.iam.on(ListAttachedRolePoliciesCommand).resolves({ AttachedPolicies: [{ PolicyArn: S3_READ_POLICY }] });
  m.redshift.on(DescribeClustersCommand).resolves({ Clusters: [available] });
  const ctx = context({ REDSHIFT_PASSWORD: 'Sup3rSecretPw' }, m.clients);
  await createCluster(ctx);
  t.is(m.ec2.commandCalls(AuthorizeSecurityGroupIngressCommand).length, 0);
  t.false(JSON.stringify(ctx.calls).includes('0.0.0.0/0'));
  t.throws(() => loadClusterConfig({ REDSHIFT_INGRESS_CIDR: 'everyone' }), { message: /REDSHIFT_INGRESS_CIDR/ });
});

test.serial(
  'delete removes the cluster (final snapshot by default) and the role; deleting what does not exist is a no-op',
  async (t) => {
    const m = mocks();
    m.redshift
      .on(DescribeClustersCommand)
      .resolvesOnce({ Clusters: [available] })
      .resolvesOnce({ Clusters: [{ ...available, ClusterStatus: 'deleting' }] })
      .rejects(notFound('ClusterNotFoundFault'));
    m.iam
      .on(GetRoleCommand)
      .resolves({ Role: { Arn: ROLE_ARN, RoleName: 'r', Path: '/', RoleId: 'x', CreateDate: new Date() } });
    m.iam.on(ListAttachedRolePoliciesCommand).resolves({ AttachedPolicies: [{ PolicyArn: S3_READ_POLICY }] });
    const ctx = context({}, m.clients);
    const r = await deleteCluster(ctx, { skipFinalSnapshot: false, now: new Date('2026-11-22T01:02:03Z') });
    t.deepEqual(r, { cluster: true, role: true });
    t.deepEqual(m.redshift.commandCalls(DeleteClusterCommand)[0]?.args[0].input, {
      ClusterIdentifier: 'sparkify-cluster',
      SkipFinalClusterSnapshot: false,
      FinalClusterSnapshotIdentifier: 'sparkify-cluster-final-20261122010203',
    });
    t.is(m.iam.commandCalls(DetachRolePolicyCommand).length, 1);
    t.is(m.iam.commandCalls(DeleteRoleCommand).length, 1);

    const none = mocks();
    none.redshift.on(DescribeClustersCommand).rejects(notFound('ClusterNotFoundFault'));
    none.iam.on(GetRoleCommand).rejects(notFound('NoSuchEntityException'));
    const ctx2 = context({}, none.clients);
    t.deepEqual(await deleteCluster(ctx2, { skipFinalSnapshot: true }), { cluster: false, role: false });
    t.is(none.redshift.commandCalls(DeleteClusterCommand).length, 0);
    t.is(none.iam.commandCalls(DeleteRoleCommand).length, 0);
  },
);

test.serial('create --write-env keeps the generated password in .env only; it is never printed', async (t) => {
  const m = mocks();
  m.iam.on(GetRoleCommand).rejects(notFound('NoSuchEntityException'));
  m.iam
    .on(CreateRoleCommand)
    .resolves({ Role: { Arn: ROLE_ARN, RoleName: 'r', Path: '/', RoleId: 'x', CreateDate: new Date() } });
  // The cluster by name (the region-wide listing of the lease check finds nothing).
  m.redshift
    .on(DescribeClustersCommand, { ClusterIdentifier: 'sparkify-cluster' })
    .rejectsOnce(notFound('ClusterNotFoundFault'))
    .resolves({ Clusters: [available] });
  const dir = await tempDir(t, 'envfile-');
  const envFile = path.join(dir, '.env');
  const out: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => (
    out.push(String(chunk)),
    true
  )) as typeof process.stdout.write;
  try {
    await runClusterCommand(
      {
        action: 'create',
        dryRun: false,
        writeEnv: true,
        yes: false,
        skipFinalSnapshot: false,
        envFile,
        verbose: false,
        quiet: true,
      },
      { clients: m.clients, sleep: async () => undefined },
    );
  } finally {
    process.stdout.write = write;
  }
  const password = m.redshift.commandCalls(CreateClusterCommand)[0]?.args[0].input.MasterUserPassword ?? '';
  t.regex(password, /^(?=.*[a-z])(?=.*[A-Z])(?=.*\d).{8,64}$/);
  const env = await readFile(envFile, 'utf8');
  t.true(env.includes(`REDSHIFT_PASSWORD=${password}`));
  t.regex(
    env,
    /^DATABASE_URL=postgres:\/\/awsuser:.+@sparkify-cluster\.abc123\.us-west-2\.redshift\.amazonaws\.com:5439\/dev\?sslmode=require$/m,
  );
  t.true(env.includes(`IAM_ROLE_ARN=${ROLE_ARN}`));
  t.is((await stat(envFile)).mode & 0o777, 0o600);
  t.false(out.join('').includes(password), 'the password is not printed');
  t.regex(out.join(''), /IAM_ROLE_ARN=arn:aws:iam::123456789012:role\/sparkify-redshift-s3-read/);
});

test('cluster create --dry-run prints the plan naming the role and the cluster, calling nothing', async (t) => {
  const r = await runCli(['cluster', 'create', '--dry-run'], {
    REDSHIFT_INGRESS_CIDR: '198.51.100.0/24',
    REDSHIFT_PASSWORD: 'Sup3rSecretPw',
    AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'not-a-real-secret-value',
  });
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /IAM CreateRole \{"RoleName":"sparkify-redshift-s3-read"/);
  t.regex(r.stdout, /Redshift CreateCluster \{"ClusterIdentifier":"sparkify-cluster"/);
  t.regex(r.stdout, /EC2 AuthorizeSecurityGroupIngress .*"CidrIp":"198\.51\.100\.0\/24"/);
  t.false((r.stdout + r.stderr).includes('Sup3rSecretPw'));
  const del = await runCli(['cluster', 'delete', '--dry-run', '--skip-final-snapshot']);
  t.regex(
    del.stdout,
    /Redshift DeleteCluster \{"ClusterIdentifier":"sparkify-cluster","SkipFinalClusterSnapshot":true\}/,
  );
  t.regex(del.stdout, /IAM DeleteRole/);
  const noYes = await runCli(['cluster', 'delete']);
  t.is(noYes.code, 2);
  t.regex(noYes.stderr, /add --yes to confirm/);
});

test.serial('status shows state, endpoint, node type and count, and attached roles', async (t) => {
  const m = mocks();
  m.redshift.on(DescribeClustersCommand).resolves({ Clusters: [available] });
  const out: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => (
    out.push(String(chunk)),
    true
  )) as typeof process.stdout.write;
  try {
    await runClusterCommand(
      {
        action: 'status',
        dryRun: false,
        writeEnv: false,
        yes: false,
        skipFinalSnapshot: false,
        envFile: '/dev/null',
        verbose: false,
        quiet: true,
      },
      { clients: m.clients },
    );
  } finally {
    process.stdout.write = write;
  }
  const text = out.join('');
  t.regex(
    text,
    /sparkify-cluster \| available \| sparkify-cluster\.abc123\.us-west-2\.redshift\.amazonaws\.com:5439 \| ra3\.large\s+\|\s+2 \| arn:aws:iam::123456789012:role\/sparkify-redshift-s3-read/,
  );
});

test.serial(
  'status --format json: one JSON document with the state, endpoint, nodes and roles; a missing cluster exits 1 with exists: false',
  async (t) => {
    const m = mocks();
    m.redshift.on(DescribeClustersCommand).resolves({ Clusters: [available] });
    const statusJson = async (): Promise<{ code: number | void; text: string }> => {
      const out: string[] = [];
      const write = process.stdout.write.bind(process.stdout);
      process.stdout.write = ((chunk: string | Uint8Array) => (
        out.push(String(chunk)),
        true
      )) as typeof process.stdout.write;
      try {
        const code = await runClusterCommand(
          {
            action: 'status',
            format: 'json',
            dryRun: false,
            writeEnv: false,
            yes: false,
            skipFinalSnapshot: false,
            envFile: '/dev/null',
            verbose: false,
            quiet: true,
          },
          { clients: m.clients },
        );
        return { code, text: out.join('') };
      } finally {
        process.stdout.write = write;
      }
    };
    const found = await statusJson();
    t.deepEqual(JSON.parse(found.text), {
      exists: true,
      clusterId: 'sparkify-cluster',
      region: 'us-west-2',
      cluster: 'sparkify-cluster',
      state: 'available',
      endpoint: { address: 'sparkify-cluster.abc123.us-west-2.redshift.amazonaws.com', port: 5439 },
      nodeType: 'ra3.large',
      nodes: 2,
      iamRoles: ['arn:aws:iam::123456789012:role/sparkify-redshift-s3-read'],
      lease: null,
      roleLease: null,
    });
    m.redshift.on(DescribeClustersCommand).rejects(notFound('ClusterNotFoundFault'));
    const missing = await statusJson();
    t.is(missing.code, 1);
    t.deepEqual(JSON.parse(missing.text), { exists: false, clusterId: 'sparkify-cluster', region: 'us-west-2' });
  },
);
