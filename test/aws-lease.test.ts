// The lease on what `cluster create` makes (lib/aws/lease.ts, lib/aws/sweep.ts),
// against an in-memory AWS account behind aws-sdk-client-mock with a fake
// clock (test/helpers/fake-aws.ts): tags in the create calls, the Serverless
// usage limit, extend, and the crash test: create → killed at a random call
// between create and delete → one sweep after expiry leaves nothing of the
// tool's, and never touches what the tool did not create.
import test from 'ava';
import { createCluster, deleteCluster, findCluster, type ClusterContext } from '../lib/aws/cluster.ts';
import { leaseTarget, warnIfTargetExpired } from '../lib/aws/lease-check.ts';
import {
  describeLease,
  isExpired,
  leaseOf,
  parseTtl,
  ROLE_PATH,
  TAG_CREATED_BY,
  TAG_EXPIRES_AT,
} from '../lib/aws/lease.ts';
import { createServerless, deleteServerless, findWorkgroup } from '../lib/aws/serverless.ts';
import { extendLease, inventory, sweep, warnExpired } from '../lib/aws/sweep.ts';
import { loadClusterConfig, loadConfig } from '../lib/config/config.ts';
import { silentLogger, type Logger } from '../lib/log.ts';
import { prng } from '../lib/sample/generator.ts';
import { runClusterCommand } from '../scripts/commands/cluster.ts';
import { Crash, FakeAccount } from './helpers/fake-aws.ts';

const HOUR = 3_600_000;

function context(account: FakeAccount, clients: ClusterContext['clients'], log: Logger = silentLogger): ClusterContext {
  return {
    config: loadClusterConfig({ REDSHIFT_PASSWORD: 'Sup3rSecretPw' }),
    clients,
    log,
    dryRun: false,
    calls: [],
    sleep: account.sleep,
    now: account.clock,
    pollMs: 30_000,
  };
}

test('ttl durations, the tags read back, and resources without the created-by tag have no lease', (t) => {
  t.is(parseTtl('4h'), 4 * HOUR);
  t.is(parseTtl('1h30m'), 1.5 * HOUR);
  t.is(parseTtl('2d'), 48 * HOUR);
  t.is(parseTtl('0m'), undefined);
  t.is(parseTtl('31d'), undefined);
  t.is(parseTtl('4 hours'), undefined);
  const now = Date.parse('2026-12-07T03:00:00Z');
  const lease = leaseOf([
    { Key: TAG_CREATED_BY, Value: 'sparkify-warehouse' },
    { Key: TAG_EXPIRES_AT, Value: '2026-12-07T07:00:00Z' },
  ]);
  t.is(lease?.expiresAt.toISOString(), '2026-12-07T07:00:00.000Z');
  t.is(describeLease(lease, now), 'expires 2026-12-07 07:00 UTC (in 4h 0m)');
  t.is(describeLease(lease, now + 6 * HOUR), 'EXPIRED 2026-12-07 07:00 UTC (2h 0m ago)');
  t.is(
    leaseOf([{ key: TAG_EXPIRES_AT, value: '2026-12-07T07:00:00Z' }]),
    undefined,
    'an expiry alone is not the tool’s',
  );
  t.is(leaseOf([{ Key: 'owner', Value: 'data-team' }]), undefined);
  t.true(
    isExpired(
      leaseOf([
        { key: TAG_CREATED_BY, value: 'sparkify-warehouse' },
        { key: TAG_EXPIRES_AT, value: 'garbage' },
      ]) ?? { expiresAt: new Date(8.64e15) },
      now,
    ),
    'an unreadable expiry counts as expired',
  );
});

test.serial(
  'create tags the cluster and its role in the create calls; the role is under the tool’s path; status reads the time left',
  async (t) => {
    const account = new FakeAccount();
    const ctx = context(account, account.install());
    await createCluster(ctx, { ttlMs: 2 * HOUR });
    const cluster = await findCluster(ctx);
    t.is(
      leaseOf(cluster?.Tags)?.expiresAt.getTime(),
      Date.parse('2026-12-07T02:00:00Z'),
      'tagged when created (clock: 00:00, ttl 2h)',
    );
    const role = account.roles.get('sparkify-redshift-s3-read');
    t.is(role?.path, ROLE_PATH);
    t.is(role?.tags.get(TAG_EXPIRES_AT), '2026-12-07T02:00:00Z');
    const inv = await inventory(ctx);
    t.deepEqual(inv.leased.map((r) => `${r.kind} ${r.name}`).sort(), [
      'cluster sparkify-cluster',
      'role sparkify-redshift-s3-read',
    ]); // A later create that reuses the tool's role keeps the later expiry of the two (the role outlives every cluster that uses it).
    account.now += HOUR;
    const later = new Date(account.now + 4 * HOUR).toISOString().replace('.000Z', 'Z');
    await createCluster(aimed(ctx, 'second-cluster'), { ttlMs: 4 * HOUR });
    t.is(role?.tags.get(TAG_EXPIRES_AT), later);
    await createCluster(aimed(ctx, 'third-cluster'), { ttlMs: HOUR });
    t.is(role?.tags.get(TAG_EXPIRES_AT), later, 'never shortened');
  },
);

const aimed = (ctx: ClusterContext, clusterId: string): ClusterContext => ({
  ...ctx,
  config: { ...ctx.config, clusterId },
});

test.serial(
  'create --serverless tags namespace, workgroup and role, and sets the default RPU-hours usage limit (daily, deactivate)',
  async (t) => {
    const account = new FakeAccount();
    const ctx = context(account, account.install());
    await createServerless(ctx, { ttlMs: 4 * HOUR, maxRpuHours: 32 });
    const wg = account.workgroups.get('sparkify-wg');
    t.is(wg?.tags.get(TAG_CREATED_BY), 'sparkify-warehouse');
    t.is(account.namespaces.get('sparkify-ns')?.tags.get(TAG_EXPIRES_AT), '2026-12-07T04:00:00Z');
    t.deepEqual(account.usageLimits.get(wg?.arn ?? ''), { amount: 32, period: 'daily', breachAction: 'deactivate' });
    // A second create keeps the limit (it is not created twice).
    await createServerless(ctx, { ttlMs: 4 * HOUR, maxRpuHours: 32 });
    t.is(account.usageLimits.size, 1);
    // A workgroup the tool did not create gets no limit and no tags.
    const other = new FakeAccount();
    other.addForeignServerless('sparkify-ns', 'sparkify-wg');
    const ctx2 = context(other, other.install());
    await createServerless(ctx2, { ttlMs: 4 * HOUR, maxRpuHours: 32 });
    t.is(other.usageLimits.size, 0);
    t.is(other.workgroups.get('sparkify-wg')?.tags.size, 0);
  },
);

test.serial('extend renews the tool’s leases from now and leaves a resource it did not create untagged', async (t) => {
  const account = new FakeAccount();
  const ctx = context(account, account.install());
  await createCluster(ctx, { ttlMs: HOUR });
  account.now += 3 * HOUR;
  t.true(isExpired(leaseOf((await findCluster(ctx))?.Tags) ?? { expiresAt: new Date(0) }, account.now));
  const extended = await extendLease(ctx, 2 * HOUR, false);
  const until = new Date(account.now + 2 * HOUR).toISOString();
  t.deepEqual(
    extended.map((e) => [e.kind, e.lease?.expiresAt.toISOString()]),
    [
      ['cluster', until],
      ['role', until],
    ],
  );
  t.false(isExpired(leaseOf((await findCluster(ctx))?.Tags) ?? { expiresAt: new Date(0) }, account.now));

  const foreign = new FakeAccount();
  foreign.addForeignCluster('sparkify-cluster');
  const ctx2 = context(foreign, foreign.install());
  const none = await extendLease(ctx2, 2 * HOUR, false);
  t.deepEqual(
    none.map((e) => [e.kind, e.exists, e.lease]),
    [
      ['cluster', true, undefined],
      ['role', false, undefined],
    ],
  );
  t.is(foreign.clusters.get('sparkify-cluster')?.tags.size, 0);
});

test.serial(
  'an expired resource is warned about; sweep --dry-run lists it and deletes nothing; sweep deletes it',
  async (t) => {
    const account = new FakeAccount();
    const warnings: string[] = [];
    const log: Logger = { ...silentLogger, warn: (m) => warnings.push(m) };
    const ctx = context(account, account.install(), log);
    await createCluster(ctx, { ttlMs: HOUR });
    t.deepEqual(await warnExpired(ctx), []);
    account.now += 2 * HOUR;
    const expired = await warnExpired(ctx);
    t.is(expired.length, 2);
    t.regex(
      warnings.join('\n'),
      /Cluster sparkify-cluster: EXPIRED 2026-12-07 01:00 UTC \(1h \d+m ago\).*cluster sweep --yes/,
    );
    const listed = await sweep(ctx, { skipFinalSnapshot: false, listOnly: true });
    t.deepEqual(
      listed.map((r) => `${r.outcome} ${r.resource.kind} ${r.resource.name}`),
      ['would delete cluster sparkify-cluster', 'would delete role sparkify-redshift-s3-read'],
    );
    t.is(account.clusters.size, 1);
    const swept = await sweep(ctx, { skipFinalSnapshot: false, listOnly: false });
    t.deepEqual(
      swept.map((r) => r.outcome),
      ['deleted', 'deleted'],
    );
    t.is(account.clusters.size, 0);
    t.is(account.roles.size, 0);
    t.is(account.snapshots.length, 1);
    t.regex(account.snapshots[0] ?? '', /^sparkify-cluster-final-20261207\d{6}$/);
  },
);

type Kind = 'provisioned' | 'serverless';

/** create → status → extend → delete, as the commands run them. */
async function lifecycle(ctx: ClusterContext, kind: Kind): Promise<void> {
  if (kind === 'provisioned') {
    await createCluster(ctx, { ttlMs: 4 * HOUR });
    await findCluster(ctx);
    await extendLease(ctx, 2 * HOUR, false);
    await deleteCluster(ctx, { skipFinalSnapshot: true });
  } else {
    await createServerless(ctx, { ttlMs: 4 * HOUR, maxRpuHours: 32 });
    await findWorkgroup(ctx);
    await extendLease(ctx, 2 * HOUR, true);
    await deleteServerless(ctx);
  }
}

/** Someone else's resources, and one of the tool's that has not expired: a sweep leaves all of them. */
function populate(account: FakeAccount): void {
  const prodRole = account.addForeignRole('prod-redshift-role');
  account.addForeignRole('hand-made', ROLE_PATH);
  account.addForeignCluster('analytics-prod', prodRole);
  account.addForeignServerless('team-ns', 'team-wg');
  account.addForeignCluster(
    'fresh-cluster',
    undefined,
    new Map([
      [TAG_CREATED_BY, 'sparkify-warehouse'],
      [TAG_EXPIRES_AT, '2027-01-30T00:00:00Z'],
    ]),
  );
}

function survivors(account: FakeAccount): string[] {
  return [
    ...[...account.clusters.keys()].map((k) => `cluster ${k}`),
    ...[...account.workgroups.keys()].map((k) => `workgroup ${k}`),
    ...[...account.namespaces.keys()].map((k) => `namespace ${k}`),
    ...[...account.roles.keys()].map((k) => `role ${k}`),
  ].sort();
}

const FOREIGN = [
  'cluster analytics-prod',
  'cluster fresh-cluster',
  'namespace team-ns',
  'role hand-made',
  'role prod-redshift-role',
  'workgroup team-wg',
];

for (const kind of ['provisioned', 'serverless'] as const) {
  test.serial(
    `crash test (${kind}): killed at 60 seeded random points between create and delete, one sweep after expiry leaves nothing of the tool's and touches nothing else`,
    async (t) => {
      // The whole lifecycle's number of calls, uninterrupted.
      const whole = new FakeAccount();
      populate(whole);
      await lifecycle(context(whole, whole.install()), kind);
      const total = whole.calls;
      t.true(total > 15, `${total} calls`);
      t.deepEqual(survivors(whole), FOREIGN);

      // The sample generator's mulberry32: the same seed, the same crash points.
      const random = prng(kind === 'provisioned' ? 32 : 3232);
      const points = new Set<string>();
      for (let run = 0; run < 60; run += 1) {
        const crashAt = 1 + Math.floor(random() * total);
        const after = random() < 0.5;
        points.add(`${crashAt}${after ? '+' : '-'}`);
        const account = new FakeAccount();
        populate(account);
        const clients = account.install();
        account.crashAt = crashAt;
        account.crashAfterApplying = after;
        const killed = await lifecycle(context(account, clients), kind).then(
          () => undefined,
          (err: unknown) => err,
        );
        t.true(killed instanceof Crash, `run ${run}: killed at call ${crashAt} (${String(killed)})`);
        const tagsBefore = JSON.stringify(
          ['analytics-prod', 'fresh-cluster'].map((id) => [...(account.clusters.get(id)?.tags ?? [])]),
        );
        // A new process, a day later: one sweep.
        account.crashAt = undefined;
        account.now += 24 * HOUR;
        const results = await sweep(context(account, clients), { skipFinalSnapshot: false, listOnly: false });
        t.deepEqual(
          results.filter((r) => r.outcome !== 'deleted'),
          [],
          `run ${run} (call ${crashAt}${after ? ', after applying' : ''}): ${JSON.stringify(results)}`,
        );
        t.deepEqual(survivors(account), FOREIGN, `run ${run}: call ${crashAt}${after ? ' after applying' : ''}`);
        t.is(
          JSON.stringify(['analytics-prod', 'fresh-cluster'].map((id) => [...(account.clusters.get(id)?.tags ?? [])])),
          tagsBefore,
          'untouched',
        );
        t.is(account.usageLimits.size, 0);
      }
      t.true(points.size >= 20, `${points.size} distinct crash points`);
    },
  );
}

/** Runs `cluster …` in-process against the account, capturing stdout and stderr. */
async function clusterCli(
  account: FakeAccount,
  clients: ClusterContext['clients'],
  args: Record<string, unknown>,
): Promise<{ code: number | void; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  const writeErr = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string | Uint8Array) => (
    out.push(String(chunk)),
    true
  )) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => (
    err.push(String(chunk)),
    true
  )) as typeof process.stderr.write;
  try {
    const code = await runClusterCommand(
      {
        action: 'status',
        dryRun: false,
        writeEnv: false,
        yes: false,
        skipFinalSnapshot: false,
        envFile: '/dev/null',
        verbose: false,
        quiet: true,
        ttl: '4h',
        ...args,
      } as Parameters<typeof runClusterCommand>[0],
      // pollMs is 1 with an injected sleep: each wait is half a minute on the fake clock.
      { clients, sleep: () => account.sleep(30_000), now: account.clock },
    );
    return { code, out: out.join(''), err: err.join('') };
  } finally {
    process.stdout.write = write;
    process.stderr.write = writeErr;
  }
}

test.serial(
  'the commands: status shows the time left, a later command warns once it has expired, extend renews, sweep wants --yes and lists with --dry-run --format json',
  async (t) => {
    const account = new FakeAccount();
    const clients = account.install();
    process.env['REDSHIFT_PASSWORD'] = 'Sup3rSecretPw';
    try {
      await clusterCli(account, clients, { action: 'create', ttl: '2h' });
      const status = await clusterCli(account, clients, { action: 'status' });
      t.regex(status.out, /Lease: expires 2026-12-07 02:\d\d UTC \(in 1h \d+m\)\./);
      t.is(status.err, '');
      const json = await clusterCli(account, clients, { action: 'status', format: 'json' });
      t.like(JSON.parse(json.out), { lease: { expired: false }, roleLease: { expired: false } });
      account.now += 3 * HOUR;
      const late = await clusterCli(account, clients, { action: 'status' });
      t.regex(late.err, /warning: Cluster sparkify-cluster: EXPIRED .*cluster sweep --yes/);
      t.regex(late.err, /warning: IAM role sparkify-redshift-s3-read: EXPIRED/);
      await t.throwsAsync(clusterCli(account, clients, { action: 'sweep' }), { message: /add --yes/ });
      const listed = await clusterCli(account, clients, { action: 'sweep', dryRun: true, format: 'json' });
      t.deepEqual(
        JSON.parse(listed.out).resources.map((r: { kind: string; outcome: string }) => `${r.kind} ${r.outcome}`),
        ['cluster would delete', 'role would delete'],
      );
      t.is(account.clusters.size, 1);
      const extended = await clusterCli(account, clients, { action: 'extend', ttl: '1h' });
      t.regex(
        extended.out,
        /cluster sparkify-cluster: expires .* \(in 1h 0m\)\nrole sparkify-redshift-s3-read: expires/,
      );
      const nothing = await clusterCli(account, clients, { action: 'sweep', yes: true });
      t.regex(nothing.out, /Nothing to sweep/);
      account.now += 2 * HOUR;
      const swept = await clusterCli(account, clients, { action: 'sweep', yes: true, skipFinalSnapshot: true });
      t.regex(swept.out, /cluster \| sparkify-cluster .*\| deleted/);
      t.is(account.clusters.size, 0);
      t.is(account.roles.size, 0);
    } finally {
      delete process.env['REDSHIFT_PASSWORD'];
    }
  },
);

test.serial(
  'a sweep that finds an expired cluster still being created waits until it can be deleted, then deletes it',
  async (t) => {
    const account = new FakeAccount();
    const clients = account.install();
    // Killed right after CreateCluster took effect (GetRole, CreateRole, AttachRolePolicy, DescribeClusters, CreateCluster).
    account.crashAt = 5;
    account.crashAfterApplying = true;
    await t.throwsAsync(createCluster(context(account, clients), { ttlMs: 60_000 }), { instanceOf: Crash });
    account.crashAt = undefined;
    account.now += 2 * 60_000;
    t.is(account.clusterStatus(account.clusters.get('sparkify-cluster') ?? (t.fail() as never)), 'creating');
    const results = await sweep(context(account, clients), { skipFinalSnapshot: true, listOnly: false });
    t.deepEqual(
      results.map((r) => `${r.outcome} ${r.resource.kind}`),
      ['deleted cluster', 'deleted role'],
    );
    t.deepEqual(survivors(account), []);
  },
);

test.serial(
  'a load on Redshift warns when its target is the tool’s and past its lease; a target the tool did not create, or behind an overridden endpoint, is not warned about',
  async (t) => {
    const account = new FakeAccount();
    const clients = account.install();
    const ctx = context(account, clients);
    await createCluster(ctx, { ttlMs: HOUR });
    await createServerless(ctx, { ttlMs: HOUR, maxRpuHours: 32 });
    account.addForeignCluster('someone-elses');
    const warned = async (env: Record<string, string>): Promise<string[]> => {
      const lines: string[] = [];
      await warnIfTargetExpired(loadConfig(env), { ...silentLogger, warn: (m) => lines.push(m) }, account.clock);
      return lines;
    };
    const cluster = {
      DATABASE_URL: 'postgres://awsuser@sparkify-cluster.abc123.us-west-2.redshift.amazonaws.com:5439/dev',
    };
    const workgroup = { DATABASE_URL: 'redshift-data://sparkify-wg/dev' };
    t.deepEqual(await warned(cluster), [], 'not expired yet');
    account.now += 2 * HOUR;
    t.regex((await warned(cluster)).join('\n'), /^Cluster sparkify-cluster: EXPIRED .*cluster sweep --yes/);
    t.regex((await warned(workgroup)).join('\n'), /^Serverless workgroup sparkify-wg: EXPIRED/);
    t.deepEqual(
      await warned({
        DATABASE_URL: 'postgres://awsuser@someone-elses.abc123.us-west-2.redshift.amazonaws.com:5439/dev',
      }),
      [],
    );
    t.deepEqual(
      await warned({ ...workgroup, AWS_ENDPOINT_URL_REDSHIFT_DATA: 'http://127.0.0.1:9' }),
      [],
      'a stand-in or VPC endpoint: not looked up',
    );
    t.deepEqual(await warned({ DATABASE_URL: 'postgres://u@127.0.0.1:5439/dev' }), [], 'not on AWS');
    t.is(
      leaseTarget(
        loadConfig({
          DATABASE_URL: 'postgres://u@wg1.123456789012.us-west-2.redshift-serverless.amazonaws.com:5439/dev',
        }),
      )?.kind,
      'workgroup',
    );
  },
);

test.serial(
  'the commands on Serverless: create prints the lease and the usage limit, status --format json gives the workgroup’s and namespace’s leases',
  async (t) => {
    const account = new FakeAccount();
    const clients = account.install();
    const create = await clusterCli(account, clients, {
      action: 'create',
      serverless: true,
      ttl: '90m',
      maxRpuHours: 16,
    });
    t.regex(
      create.out,
      /Lease: expires 2026-12-07 01:30 UTC \(in 1h \d+m\) for what this run created; usage limit: 16 RPU-hours a day, then queries are turned off\./,
    );
    t.deepEqual([...account.usageLimits.values()], [{ amount: 16, period: 'daily', breachAction: 'deactivate' }]);
    const status = await clusterCli(account, clients, { action: 'status', serverless: true, format: 'json' });
    const json = JSON.parse(status.out) as {
      workgroup: { lease: { expired: boolean; secondsLeft: number } };
      namespace: { lease: { expired: boolean } };
    };
    t.false(json.workgroup.lease.expired);
    t.true(json.workgroup.lease.secondsLeft > 0 && json.workgroup.lease.secondsLeft <= 90 * 60);
    t.false(json.namespace.lease.expired);
    const text = await clusterCli(account, clients, { action: 'status', serverless: true });
    t.regex(text.out, /Lease: expires 2026-12-07 01:30 UTC/);
  },
);
