/**
 * What the leases (./lease.ts) are for: the tool's resources in the region
 * and their leases (`inventory`), a warning for each one past its expiry
 * (`warnExpired`, which every cluster command runs), renewal (`extendLease`,
 * `cluster extend --ttl`) and deletion of the expired ones (`sweep`,
 * `cluster sweep --yes`). A resource without the created-by tag is listed by
 * nothing here and never touched.
 */
import { DescribeClustersCommand, CreateTagsCommand, type Cluster } from '@aws-sdk/client-redshift';
import { ListRolesCommand, TagRoleCommand, type Role } from '@aws-sdk/client-iam';
import {
  ListNamespacesCommand,
  ListWorkgroupsCommand,
  TagResourceCommand,
  type Namespace,
  type Workgroup,
} from '@aws-sdk/client-redshift-serverless';
import {
  call,
  deleteClusterOnly,
  deleteRole,
  findCluster,
  findRole,
  nowOf,
  pollUntil,
  type ClusterContext,
} from './cluster.ts';
import {
  describeLease,
  expiredWarning,
  isExpired,
  leaseOf,
  leaseTags,
  ROLE_PATH,
  serverlessLeaseTags,
  type Lease,
} from './lease.ts';
import {
  deleteNamespaceOnly,
  deleteWorkgroupOnly,
  findNamespace,
  findWorkgroup,
  serverlessTags,
} from './serverless.ts';

export type LeasedKind = 'cluster' | 'workgroup' | 'namespace' | 'role';

export interface Leased {
  readonly kind: LeasedKind;
  readonly name: string;
  readonly lease: Lease;
  /** The service's state (cluster: available, creating, …; workgroup: AVAILABLE, …). */
  readonly state: string | undefined;
}

export interface Inventory {
  /** The tool's resources (created-by tag), clusters and workgroups first. */
  readonly leased: readonly Leased[];
  /** Every cluster in the region (a role still attached to one that stays is not swept). */
  readonly clusters: readonly Cluster[];
  readonly workgroups: readonly Workgroup[];
  readonly namespaces: readonly Namespace[];
  readonly roles: readonly Role[];
}

/** Follows a paged list call until it has no next token. */
async function allPages<T>(
  page: (token: string | undefined) => Promise<{ items: T[] | undefined; next: string | undefined } | undefined>,
): Promise<T[]> {
  const out: T[] = [];
  let token: string | undefined;
  do {
    const r = await page(token);
    out.push(...(r?.items ?? []));
    token = r?.next;
  } while (token);
  return out;
}

/** The tool's resources in the configured region, with their leases. */
export async function inventory(ctx: ClusterContext): Promise<Inventory> {
  const leased: Leased[] = [];
  const clusters = await allPages(async (Marker) => {
    const r = (await call(ctx, 'Redshift', ctx.clients.redshift, DescribeClustersCommand, Marker ? { Marker } : {})) as
      | { Clusters?: Cluster[]; Marker?: string }
      | undefined;
    return { items: r?.Clusters, next: r?.Marker };
  });
  for (const c of clusters) {
    const lease = leaseOf(c.Tags);
    if (lease && c.ClusterIdentifier)
      leased.push({ kind: 'cluster', name: c.ClusterIdentifier, lease, state: c.ClusterStatus });
  }
  let workgroups: Workgroup[] = [];
  let namespaces: Namespace[] = [];
  if (ctx.clients.serverless) {
    const serverless = ctx.clients.serverless;
    workgroups = await allPages(async (nextToken) => {
      const r = (await call(
        ctx,
        'Redshift Serverless',
        serverless,
        ListWorkgroupsCommand,
        nextToken ? { nextToken } : {},
      )) as { workgroups?: Workgroup[]; nextToken?: string } | undefined;
      return { items: r?.workgroups, next: r?.nextToken };
    });
    for (const w of workgroups) {
      const lease = leaseOf(await serverlessTags(ctx, w.workgroupArn));
      if (lease && w.workgroupName) leased.push({ kind: 'workgroup', name: w.workgroupName, lease, state: w.status });
    }
    namespaces = await allPages(async (nextToken) => {
      const r = (await call(
        ctx,
        'Redshift Serverless',
        serverless,
        ListNamespacesCommand,
        nextToken ? { nextToken } : {},
      )) as { namespaces?: Namespace[]; nextToken?: string } | undefined;
      return { items: r?.namespaces, next: r?.nextToken };
    });
    for (const n of namespaces) {
      const lease = leaseOf(await serverlessTags(ctx, n.namespaceArn));
      if (lease && n.namespaceName) leased.push({ kind: 'namespace', name: n.namespaceName, lease, state: n.status });
    }
  }
  // ListRoles returns no tags (https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListRoles.html): GetRole does.
  const listed = await allPages(async (Marker) => {
    const r = (await call(ctx, 'IAM', ctx.clients.iam, ListRolesCommand, {
      PathPrefix: ROLE_PATH,
      ...(Marker ? { Marker } : {}),
    })) as { Roles?: Role[]; Marker?: string; IsTruncated?: boolean } | undefined;
    return { items: r?.Roles, next: r?.IsTruncated ? r.Marker : undefined };
  });
  const roles: Role[] = [];
  for (const listedRole of listed) {
    if (!listedRole.RoleName) continue;
    const role = await findRole(ctx, listedRole.RoleName);
    if (!role) continue;
    roles.push(role);
    const lease = leaseOf(role.Tags);
    if (lease) leased.push({ kind: 'role', name: listedRole.RoleName, lease, state: undefined });
  }
  return { leased, clusters, workgroups, namespaces, roles };
}

const KIND_WORDS: Record<LeasedKind, string> = {
  cluster: 'Cluster',
  workgroup: 'Serverless workgroup',
  namespace: 'Serverless namespace',
  role: 'IAM role',
};

/** `Cluster sparkify-cluster: EXPIRED 2026-12-07 07:00 UTC (2h 5m ago)`. */
export const describeLeased = (r: Leased, now: number): string =>
  `${KIND_WORDS[r.kind]} ${r.name}: ${describeLease(r.lease, now)}`;

/**
 * Warns about each of the tool's resources past its expiry (it still costs
 * money); never fails the command it runs in: a failed look-up is a debug line.
 */
export async function warnExpired(ctx: ClusterContext): Promise<readonly Leased[]> {
  try {
    const now = nowOf(ctx);
    const expired = (await inventory({ ...ctx, calls: [] })).leased.filter((r) => isExpired(r.lease, now));
    for (const r of expired) {
      ctx.log.warn(expiredWarning(`${KIND_WORDS[r.kind]} ${r.name}`, r.lease, now));
    }
    return expired;
  } catch (err) {
    ctx.log.debug(`Leases not checked: ${(err as Error).message}`);
    return [];
  }
}

/** A cluster's ARN (CreateTags takes one), from its namespace's ARN: same partition, region and account. */
function clusterArn(cluster: Cluster, clusterId: string): string {
  const m = /^arn:([^:]+):redshift:([^:]+):(\d+):namespace:/.exec(cluster.ClusterNamespaceArn ?? '');
  if (!m) throw new Error(`cluster ${clusterId}: DescribeClusters gave no ClusterNamespaceArn to build its ARN from`);
  return `arn:${m[1]}:redshift:${m[2]}:${m[3]}:cluster:${clusterId}`;
}

export interface Extended {
  readonly kind: LeasedKind;
  readonly name: string;
  /** The new lease; undefined when the resource is not the tool's (left untagged) or does not exist. */
  readonly lease: Lease | undefined;
  readonly exists: boolean;
}

/**
 * Renews the lease of the configured cluster (or workgroup and namespace) and
 * its role to `ttlMs` from now; a resource that does not carry the tool's
 * created-by tag is left as it is.
 */
export async function extendLease(ctx: ClusterContext, ttlMs: number, serverless: boolean): Promise<Extended[]> {
  const c = ctx.config;
  const now = nowOf(ctx);
  const out: Extended[] = [];
  const renewed = leaseOf(leaseTags(now, ttlMs));
  if (serverless) {
    for (const [kind, name, find] of [
      ['workgroup', c.workgroup, async () => (await findWorkgroup(ctx))?.workgroupArn],
      ['namespace', c.namespace, async () => (await findNamespace(ctx))?.namespaceArn],
    ] as const) {
      const arn = await find();
      const ours = Boolean(leaseOf(await serverlessTags(ctx, arn)));
      if (arn && ours)
        await call(ctx, 'Redshift Serverless', ctx.clients.serverless, TagResourceCommand, {
          resourceArn: arn,
          tags: serverlessLeaseTags(now, ttlMs),
        });
      out.push({ kind, name, lease: ours ? renewed : undefined, exists: Boolean(arn) });
    }
  } else {
    const cluster = await findCluster(ctx);
    const ours = Boolean(leaseOf(cluster?.Tags));
    if (cluster && ours)
      await call(ctx, 'Redshift', ctx.clients.redshift, CreateTagsCommand, {
        ResourceName: clusterArn(cluster, c.clusterId),
        Tags: leaseTags(now, ttlMs),
      });
    out.push({ kind: 'cluster', name: c.clusterId, lease: ours ? renewed : undefined, exists: Boolean(cluster) });
  }
  const role = await findRole(ctx);
  const ours = Boolean(leaseOf(role?.Tags));
  if (role && ours)
    await call(ctx, 'IAM', ctx.clients.iam, TagRoleCommand, { RoleName: c.roleName, Tags: leaseTags(now, ttlMs) });
  out.push({ kind: 'role', name: c.roleName, lease: ours ? renewed : undefined, exists: Boolean(role) });
  return out;
}

export interface SweepResult {
  readonly resource: Leased;
  readonly outcome: 'deleted' | 'would delete' | 'kept' | 'failed';
  /** Why it was kept, or the error. */
  readonly detail: string | null;
}

const CLUSTER_BUSY = new Set(['creating', 'modifying', 'resizing', 'rebooting', 'renaming']);
const SERVERLESS_BUSY = new Set(['CREATING', 'MODIFYING']);

/** The same context aimed at another cluster, workgroup or namespace (the delete helpers read the names from the config). */
const aimedAt = (
  ctx: ClusterContext,
  names: { clusterId?: string; workgroup?: string; namespace?: string },
): ClusterContext => ({ ...ctx, config: { ...ctx.config, ...names } });

/** Waits while the resource is busy (a cluster being created cannot be deleted yet); returns what is there then. */
function untilSettled<T>(
  ctx: ClusterContext,
  what: string,
  find: () => Promise<T | undefined>,
  busy: (x: T) => boolean,
  state: (x: T | undefined) => string,
): Promise<T | undefined> {
  return pollUntil(
    ctx,
    find,
    (x) => x === undefined || !busy(x),
    (x, waited) => `Waiting for ${what} to settle before deleting it: ${state(x)} (${waited}s)…`,
    (waited) => `${what} was still busy after ${waited}s`,
  );
}

/**
 * Deletes the tool's resources past their expiry: workgroups and clusters
 * first (each waited for until gone), then namespaces no remaining workgroup
 * uses, then roles no remaining cluster or namespace uses. `listOnly` (--dry-run)
 * deletes nothing. One failure does not stop the others; each is reported.
 */
export async function sweep(
  ctx: ClusterContext,
  options: { skipFinalSnapshot: boolean; listOnly: boolean },
): Promise<SweepResult[]> {
  const now = nowOf(ctx);
  const inv = await inventory(ctx);
  const expired = inv.leased.filter((r) => isExpired(r.lease, now));
  const results: SweepResult[] = [];
  const gone = new Set<string>();
  const key = (kind: LeasedKind, name: string) => `${kind}:${name}`;
  const attempt = async (r: Leased, keepReason: string | undefined, remove: () => Promise<unknown>) => {
    if (keepReason) {
      results.push({ resource: r, outcome: 'kept', detail: keepReason });
      return;
    }
    if (options.listOnly) {
      results.push({ resource: r, outcome: 'would delete', detail: null });
      gone.add(key(r.kind, r.name));
      return;
    }
    try {
      ctx.log.info(`Sweeping ${describeLeased(r, now)}…`);
      await remove();
      gone.add(key(r.kind, r.name));
      results.push({ resource: r, outcome: 'deleted', detail: null });
    } catch (err) {
      ctx.log.error(`Could not delete ${KIND_WORDS[r.kind]} ${r.name}: ${(err as Error).message}`);
      results.push({ resource: r, outcome: 'failed', detail: (err as Error).message });
    }
  };
  for (const r of expired.filter((x) => x.kind === 'workgroup')) {
    const c = aimedAt(ctx, { workgroup: r.name });
    await attempt(r, undefined, async () => {
      const settled = await untilSettled(
        c,
        `workgroup ${r.name}`,
        () => findWorkgroup(c),
        (w) => SERVERLESS_BUSY.has(w.status ?? ''),
        (w) => w?.status ?? 'gone',
      );
      if (settled?.status === 'DELETING')
        await pollUntil(
          c,
          () => findWorkgroup(c),
          (x) => x === undefined,
          (x, w) => `Waiting for workgroup ${r.name} to be deleted: ${x?.status ?? 'gone'} (${w}s)…`,
          (w) => `workgroup ${r.name} was not deleted after ${w}s`,
        );
      else await deleteWorkgroupOnly(c);
    });
  }
  for (const r of expired.filter((x) => x.kind === 'cluster')) {
    const c = aimedAt(ctx, { clusterId: r.name });
    await attempt(r, undefined, async () => {
      const settled = await untilSettled(
        c,
        `cluster ${r.name}`,
        () => findCluster(c),
        (x) => CLUSTER_BUSY.has(x.ClusterStatus ?? ''),
        (x) => x?.ClusterStatus ?? 'gone',
      );
      if (settled?.ClusterStatus === 'deleting')
        await pollUntil(
          c,
          () => findCluster(c),
          (x) => x === undefined,
          (x, w) => `Waiting for cluster ${r.name} to be deleted: ${x?.ClusterStatus ?? 'gone'} (${w}s)…`,
          (w) => `cluster ${r.name} was not deleted after ${w}s`,
        );
      else await deleteClusterOnly(c, { skipFinalSnapshot: options.skipFinalSnapshot });
    });
  }
  for (const r of expired.filter((x) => x.kind === 'namespace')) {
    const users = inv.workgroups.filter(
      (w) => w.namespaceName === r.name && !gone.has(key('workgroup', w.workgroupName ?? '')),
    );
    const c = aimedAt(ctx, { namespace: r.name });
    await attempt(
      r,
      users.length > 0 ? `workgroup ${users.map((w) => w.workgroupName).join(', ')} still uses it` : undefined,
      async () => {
        const settled = await findNamespace(c);
        if (settled?.status === 'DELETING')
          await pollUntil(
            c,
            () => findNamespace(c),
            (x) => x === undefined,
            (x, w) => `Waiting for namespace ${r.name} to be deleted: ${x?.status ?? 'gone'} (${w}s)…`,
            (w) => `namespace ${r.name} was not deleted after ${w}s`,
          );
        else await deleteNamespaceOnly(c);
      },
    );
  }
  for (const r of expired.filter((x) => x.kind === 'role')) {
    const arn = inv.roles.find((x) => x.RoleName === r.name)?.Arn ?? `:role${ROLE_PATH}${r.name}`;
    const clusterUsers = inv.clusters.filter(
      (x) =>
        !gone.has(key('cluster', x.ClusterIdentifier ?? '')) && (x.IamRoles ?? []).some((ir) => ir.IamRoleArn === arn),
    );
    const namespaceUsers = inv.namespaces.filter(
      (n) => !gone.has(key('namespace', n.namespaceName ?? '')) && (n.iamRoles ?? []).some((ir) => ir.includes(arn)),
    );
    const users = [
      ...clusterUsers.map((x) => `cluster ${x.ClusterIdentifier}`),
      ...namespaceUsers.map((n) => `namespace ${n.namespaceName}`),
    ];
    await attempt(r, users.length > 0 ? `${users.join(', ')} still uses it` : undefined, () => deleteRole(ctx, r.name));
  }
  return results;
}
