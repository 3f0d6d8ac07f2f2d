/**
 * The Redshift cluster and its IAM role, as commands (npm run cluster):
 * create (reusing what exists), status, delete (deleting what does not exist
 * is a no-op). Every AWS call goes through `call`, so a dry run prints the plan
 * (each call and its key parameters) without calling AWS. Secrets (the master
 * password) are never part of a printed parameter. What create makes carries
 * the lease's tags from its create call on (./lease.ts; ./sweep.ts deletes it
 * once expired).
 */
import { randomBytes } from 'node:crypto';
import { AuthorizeSecurityGroupIngressCommand, type EC2Client } from '@aws-sdk/client-ec2';
import {
  AttachRolePolicyCommand,
  CreateRoleCommand,
  DeleteRoleCommand,
  DetachRolePolicyCommand,
  GetRoleCommand,
  ListAttachedRolePoliciesCommand,
  TagRoleCommand,
  type IAMClient,
  type Role,
} from '@aws-sdk/client-iam';
import {
  CreateClusterCommand,
  DeleteClusterCommand,
  DescribeClustersCommand,
  ModifyClusterIamRolesCommand,
  type Cluster,
  type RedshiftClient,
} from '@aws-sdk/client-redshift';
import type { RedshiftServerlessClient } from '@aws-sdk/client-redshift-serverless';
import type { ClusterConfig } from '../config/config.ts';
import type { Logger } from '../log.ts';
import { DEFAULT_TTL, leaseOf, leaseTags, parseTtl, ROLE_PATH } from './lease.ts';

export const S3_READ_POLICY = 'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess';
const ASSUME_ROLE_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'redshift.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

export interface AwsClients {
  readonly iam: IAMClient;
  readonly redshift: RedshiftClient;
  readonly ec2: EC2Client;
  /** Redshift Serverless (create/delete --serverless: lib/aws/serverless.ts). */
  readonly serverless?: RedshiftServerlessClient | undefined;
}

export interface PlannedCall {
  readonly service: 'IAM' | 'Redshift' | 'EC2' | 'Redshift Serverless';
  readonly command: string;
  readonly params: Record<string, unknown>;
}

export interface ClusterContext {
  readonly config: ClusterConfig;
  readonly clients: AwsClients;
  readonly log: Logger;
  readonly dryRun: boolean;
  /** Every call made (or, in a dry run, planned), in order. */
  readonly calls: PlannedCall[];
  readonly pollMs?: number;
  readonly timeoutMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** The clock (ms since the epoch) leases are read and written against; default Date.now (tests pass a fake one). */
  readonly now?: () => number;
}

/** The context's clock. */
export const nowOf = (ctx: ClusterContext): number => (ctx.now ?? Date.now)();

/** What `create` leases: how long until the resources it creates expire (--ttl). */
export interface LeaseOptions {
  readonly ttlMs: number;
}

export const DEFAULT_LEASE: LeaseOptions = { ttlMs: parseTtl(DEFAULT_TTL) ?? 4 * 3_600_000 };

interface Sendable<Output> {
  send(command: unknown): Promise<Output>;
}

/** An AWS SDK v3 command class: constructed from its input. */
type CommandClass = new (input: never) => unknown;

/**
 * One AWS call: recorded with its parameters (those in `hidden` shown as a
 * placeholder, never their value), then sent unless this is a dry run.
 */
export async function call<C extends CommandClass>(
  ctx: ClusterContext,
  service: PlannedCall['service'],
  client: unknown,
  Command: C,
  input: ConstructorParameters<C>[0],
  hidden: Partial<Record<keyof ConstructorParameters<C>[0], string>> = {},
): Promise<unknown> {
  ctx.calls.push({
    service,
    command: Command.name.replace(/Command$/, ''),
    params: { ...(input as object), ...hidden },
  });
  if (ctx.dryRun) return undefined;
  return (client as Sendable<unknown>).send(new Command(input));
}

export const errorName = (err: unknown) =>
  (err as { name?: string; Code?: string }).name ?? (err as { Code?: string }).Code ?? '';

/** The role (GetRole returns its tags too), or undefined when it does not exist. */
export async function findRole(ctx: ClusterContext, roleName: string = ctx.config.roleName): Promise<Role | undefined> {
  try {
    const r = (await call(ctx, 'IAM', ctx.clients.iam, GetRoleCommand, { RoleName: roleName })) as
      | { Role?: Role }
      | undefined;
    return r?.Role?.Arn ? r.Role : undefined;
  } catch (err) {
    if (errorName(err) === 'NoSuchEntityException' || errorName(err) === 'NoSuchEntity') return undefined;
    throw err;
  }
}

export async function findCluster(ctx: ClusterContext): Promise<Cluster | undefined> {
  try {
    const r = (await call(ctx, 'Redshift', ctx.clients.redshift, DescribeClustersCommand, {
      ClusterIdentifier: ctx.config.clusterId,
    })) as { Clusters?: Cluster[] } | undefined;
    return r?.Clusters?.[0];
  } catch (err) {
    if (errorName(err) === 'ClusterNotFoundFault' || errorName(err) === 'ClusterNotFound') return undefined;
    throw err;
  }
}

/** A password Redshift accepts: 8–64 characters with upper, lower and a digit, none of ' " \ / @ or space. */
export function generatePassword(): string {
  const body = randomBytes(18).toString('base64url').replace(/[-_]/g, 'x');
  return `Sp${body}7a`;
}

export interface CreateResult {
  readonly roleArn: string;
  readonly endpoint: { host: string; port: number } | undefined;
  /** Set when this run generated the master password (it must go to .env, nowhere else). */
  readonly generatedPassword: string | undefined;
  readonly reused: { role: boolean; cluster: boolean };
}

/**
 * The IAM role, created with the lease's tags (under ROLE_PATH, where `cluster
 * sweep` finds it), or reused. A reused role of the tool's keeps the later of
 * its expiry and the new one, so that sweeping it never breaks a cluster
 * created later with the same role; a role the tool did not create is never
 * tagged.
 */
export async function ensureRole(
  ctx: ClusterContext,
  lease: LeaseOptions = DEFAULT_LEASE,
): Promise<{ arn: string; reused: boolean }> {
  const { roleName } = ctx.config;
  const role = await findRole(ctx);
  const existing = role?.Arn;
  if (existing) {
    ctx.log.info(`IAM role ${roleName} exists: reusing it.`);
    const held = leaseOf(role.Tags);
    const wanted = nowOf(ctx) + lease.ttlMs;
    if (held && held.expiresAt.getTime() < wanted)
      await call(ctx, 'IAM', ctx.clients.iam, TagRoleCommand, {
        RoleName: roleName,
        Tags: leaseTags(nowOf(ctx), lease.ttlMs),
      });
    const attached = (await call(ctx, 'IAM', ctx.clients.iam, ListAttachedRolePoliciesCommand, {
      RoleName: roleName,
    })) as { AttachedPolicies?: { PolicyArn?: string }[] } | undefined;
    if (!attached?.AttachedPolicies?.some((p) => p.PolicyArn === S3_READ_POLICY)) {
      await call(ctx, 'IAM', ctx.clients.iam, AttachRolePolicyCommand, {
        RoleName: roleName,
        PolicyArn: S3_READ_POLICY,
      });
    }
    return { arn: existing, reused: true };
  }
  ctx.log.info(`Creating IAM role ${roleName} (Redshift may assume it; S3 read-only)…`);
  const created = (await call(
    ctx,
    'IAM',
    ctx.clients.iam,
    CreateRoleCommand,
    {
      RoleName: roleName,
      Path: ROLE_PATH,
      AssumeRolePolicyDocument: ASSUME_ROLE_POLICY,
      Description: 'sparkify-warehouse: lets Redshift COPY read S3',
      Tags: leaseTags(nowOf(ctx), lease.ttlMs),
    },
    { AssumeRolePolicyDocument: 'redshift.amazonaws.com may sts:AssumeRole' },
  )) as { Role?: { Arn?: string } } | undefined;
  await call(ctx, 'IAM', ctx.clients.iam, AttachRolePolicyCommand, { RoleName: roleName, PolicyArn: S3_READ_POLICY });
  return { arn: created?.Role?.Arn ?? `arn:aws:iam::<account>:role/${roleName}`, reused: false };
}

async function waitFor(
  ctx: ClusterContext,
  what: string,
  done: (c: Cluster | undefined) => boolean,
): Promise<Cluster | undefined> {
  if (ctx.dryRun) {
    ctx.calls.push({
      service: 'Redshift',
      command: 'DescribeClusters',
      params: { ClusterIdentifier: ctx.config.clusterId, repeated: `every 30s until ${what}` },
    });
    return undefined;
  }
  return pollUntil(
    ctx,
    () => findCluster(ctx),
    done,
    (cluster, waited) =>
      `Waiting for cluster ${ctx.config.clusterId} to be ${what}: ${cluster?.ClusterStatus ?? 'gone'} (${waited}s)…`,
    (waited) => `cluster ${ctx.config.clusterId} was not ${what} after ${waited}s`,
  );
}

/** Asks `find` every 30 s (ctx.pollMs) until `done`, saying each wait; fails after 45 minutes (ctx.timeoutMs). */
export async function pollUntil<T>(
  ctx: ClusterContext,
  find: () => Promise<T | undefined>,
  done: (x: T | undefined) => boolean,
  waiting: (x: T | undefined, waited: number) => string,
  timedOut: (waited: number) => string,
): Promise<T | undefined> {
  const sleep = ctx.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  const started = Date.now();
  for (;;) {
    const x = await find();
    if (done(x)) return x;
    const waited = Math.round((Date.now() - started) / 1000);
    ctx.log.info(waiting(x, waited));
    if (Date.now() - started > (ctx.timeoutMs ?? 45 * 60_000)) throw new Error(timedOut(waited));
    await sleep(ctx.pollMs ?? 30_000);
  }
}

export async function createCluster(ctx: ClusterContext, lease: LeaseOptions = DEFAULT_LEASE): Promise<CreateResult> {
  const c = ctx.config;
  const role = await ensureRole(ctx, lease);
  let cluster = await findCluster(ctx);
  let generatedPassword: string | undefined;
  const reusedCluster = Boolean(cluster);
  if (cluster) {
    ctx.log.info(`Cluster ${c.clusterId} exists (${cluster.ClusterStatus}): reusing it.`);
    if (!cluster.IamRoles?.some((r) => r.IamRoleArn === role.arn)) {
      await call(ctx, 'Redshift', ctx.clients.redshift, ModifyClusterIamRolesCommand, {
        ClusterIdentifier: c.clusterId,
        AddIamRoles: [role.arn],
      });
    }
  } else {
    const password = c.password ?? (generatedPassword = generatePassword());
    ctx.log.secret(password);
    ctx.log.info(`Creating cluster ${c.clusterId} (${c.nodes} × ${c.nodeType})…`);
    await call(
      ctx,
      'Redshift',
      ctx.clients.redshift,
      CreateClusterCommand,
      {
        ClusterIdentifier: c.clusterId,
        NodeType: c.nodeType,
        ClusterType: c.nodes > 1 ? 'multi-node' : 'single-node',
        ...(c.nodes > 1 ? { NumberOfNodes: c.nodes } : {}),
        DBName: c.database,
        MasterUsername: c.user,
        MasterUserPassword: password,
        Port: c.port,
        IamRoles: [role.arn],
        // The lease, in the create call itself: the cluster never exists untagged.
        Tags: leaseTags(nowOf(ctx), lease.ttlMs),
      },
      { MasterUserPassword: '(from .env; not shown)' },
    );
  }
  cluster = await waitFor(ctx, 'available', (x) => x?.ClusterStatus === 'available');
  if (c.ingressCidr) {
    const groupId = cluster?.VpcSecurityGroups?.[0]?.VpcSecurityGroupId ?? '<the cluster security group>';
    try {
      await call(ctx, 'EC2', ctx.clients.ec2, AuthorizeSecurityGroupIngressCommand, {
        GroupId: groupId,
        IpPermissions: [
          {
            IpProtocol: 'tcp',
            FromPort: c.port,
            ToPort: c.port,
            IpRanges: [{ CidrIp: c.ingressCidr, Description: 'sparkify-warehouse' }],
          },
        ],
      });
    } catch (err) {
      if (errorName(err) !== 'InvalidPermission.Duplicate') throw err;
      ctx.log.info(`The inbound rule from ${c.ingressCidr} exists: reusing it.`);
    }
  } else {
    ctx.log.warn(
      'REDSHIFT_INGRESS_CIDR is not set: no inbound rule was added (the cluster is reachable only as its security group already allows).',
    );
  }
  const address = cluster?.Endpoint?.Address;
  return {
    roleArn: role.arn,
    endpoint: address ? { host: address, port: cluster?.Endpoint?.Port ?? c.port } : undefined,
    generatedPassword,
    reused: { role: role.reused, cluster: reusedCluster },
  };
}

export async function clusterStatus(ctx: ClusterContext): Promise<Cluster | undefined> {
  return findCluster(ctx);
}

export async function deleteCluster(
  ctx: ClusterContext,
  options: { skipFinalSnapshot: boolean; now?: Date },
): Promise<{ cluster: boolean; role: boolean }> {
  const cluster = await deleteClusterOnly(ctx, options);
  const role = await deleteRole(ctx);
  return { cluster, role };
}

/** Deletes the cluster (ctx.config.clusterId) and waits until it is gone; false when it did not exist. */
export async function deleteClusterOnly(
  ctx: ClusterContext,
  options: { skipFinalSnapshot: boolean; now?: Date },
): Promise<boolean> {
  const c = ctx.config;
  const cluster = await findCluster(ctx);
  if (cluster || ctx.dryRun) {
    const snapshot = `${c.clusterId}-final-${(options.now ?? new Date(nowOf(ctx))).toISOString().replace(/\D/g, '').slice(0, 14)}`;
    const params = options.skipFinalSnapshot
      ? { ClusterIdentifier: c.clusterId, SkipFinalClusterSnapshot: true }
      : { ClusterIdentifier: c.clusterId, SkipFinalClusterSnapshot: false, FinalClusterSnapshotIdentifier: snapshot };
    ctx.log.info(
      `Deleting cluster ${c.clusterId}${options.skipFinalSnapshot ? ' (no final snapshot)' : ` (final snapshot ${snapshot})`}…`,
    );
    await call(ctx, 'Redshift', ctx.clients.redshift, DeleteClusterCommand, params);
    await waitFor(ctx, 'deleted', (x) => x === undefined);
  } else {
    ctx.log.info(`Cluster ${c.clusterId} does not exist: nothing to delete.`);
  }
  return Boolean(cluster);
}

/** Deletes the IAM role (its policies detached first); false when it did not exist. */
export async function deleteRole(ctx: ClusterContext, roleName: string = ctx.config.roleName): Promise<boolean> {
  const role = await findRole(ctx, roleName);
  if (role || ctx.dryRun) {
    const attached = (await call(ctx, 'IAM', ctx.clients.iam, ListAttachedRolePoliciesCommand, {
      RoleName: roleName,
    })) as { AttachedPolicies?: { PolicyArn?: string }[] } | undefined;
    for (const p of ctx.dryRun ? [{ PolicyArn: S3_READ_POLICY }] : (attached?.AttachedPolicies ?? [])) {
      await call(ctx, 'IAM', ctx.clients.iam, DetachRolePolicyCommand, { RoleName: roleName, PolicyArn: p.PolicyArn });
    }
    await call(ctx, 'IAM', ctx.clients.iam, DeleteRoleCommand, { RoleName: roleName });
  } else {
    ctx.log.info(`IAM role ${roleName} does not exist: nothing to delete.`);
  }
  return Boolean(role);
}
