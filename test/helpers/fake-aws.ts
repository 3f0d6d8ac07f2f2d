/**
 * An in-memory AWS account for the lease tests, behind aws-sdk-client-mock:
 * IAM roles, Redshift clusters, Serverless namespaces, workgroups and usage
 * limits, with the services' state machines on a fake clock (a cluster is
 * 'creating' for 5 minutes, 'deleting' for 3; a workgroup CREATING for 2,
 * DELETING for 2) and the errors the services give for what they refuse (a
 * cluster being created cannot be deleted; a namespace with a workgroup
 * cannot be deleted; a role with attached policies cannot be deleted).
 * `crashAt` makes the Nth call throw, before or after the account applied
 * it: a process killed at that point.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import {
  AttachRolePolicyCommand,
  CreateRoleCommand,
  DeleteRoleCommand,
  DetachRolePolicyCommand,
  GetRoleCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
  ListRolesCommand,
  TagRoleCommand,
  type Tag as IamTag,
} from '@aws-sdk/client-iam';
import {
  CreateClusterCommand,
  CreateTagsCommand,
  DeleteClusterCommand,
  DescribeClustersCommand,
  ModifyClusterIamRolesCommand,
  RedshiftClient,
  type Cluster,
} from '@aws-sdk/client-redshift';
import {
  CreateNamespaceCommand,
  CreateUsageLimitCommand,
  CreateWorkgroupCommand,
  DeleteNamespaceCommand,
  DeleteWorkgroupCommand,
  GetNamespaceCommand,
  GetWorkgroupCommand,
  ListNamespacesCommand,
  ListTagsForResourceCommand,
  ListUsageLimitsCommand,
  ListWorkgroupsCommand,
  RedshiftServerlessClient,
  TagResourceCommand,
  UpdateNamespaceCommand,
} from '@aws-sdk/client-redshift-serverless';
import { mockClient } from 'aws-sdk-client-mock';
import type { AwsClients } from '../../lib/aws/cluster.ts';

const ACCOUNT = '123456789012';
const REGION = 'us-west-2';
const MINUTE = 60_000;

type Tags = Map<string, string>;

interface FakeRole {
  name: string;
  path: string;
  arn: string;
  tags: Tags;
  policies: Set<string>;
}
interface FakeCluster {
  id: string;
  tags: Tags;
  createdAt: number;
  deleteAt: number | undefined;
  roles: string[];
  namespaceArn: string;
}
interface FakeNamespace {
  name: string;
  arn: string;
  tags: Tags;
  roles: string[];
  deleteAt: number | undefined;
}
interface FakeWorkgroup {
  name: string;
  arn: string;
  namespace: string;
  tags: Tags;
  createdAt: number;
  deleteAt: number | undefined;
}

export class Crash extends Error {
  constructor(readonly call: number) {
    super(`process killed at AWS call ${call}`);
  }
}

const fault = (name: string, message = name) => Object.assign(new Error(message), { name });
const tagMap = (tags: readonly { Key?: string; Value?: string; key?: string; value?: string }[] | undefined): Tags =>
  new Map((tags ?? []).map((t) => [t.Key ?? t.key ?? '', t.Value ?? t.value ?? '']));
const iamTags = (m: Tags): IamTag[] => [...m].map(([Key, Value]) => ({ Key, Value }));

export class FakeAccount {
  now = Date.parse('2026-12-07T00:00:00Z');
  readonly roles = new Map<string, FakeRole>();
  readonly clusters = new Map<string, FakeCluster>();
  readonly namespaces = new Map<string, FakeNamespace>();
  readonly workgroups = new Map<string, FakeWorkgroup>();
  /** Usage limits by workgroup ARN. */
  readonly usageLimits = new Map<string, { amount: number; period: string; breachAction: string }>();
  readonly snapshots: string[] = [];
  calls = 0;
  crashAt: number | undefined;
  crashAfterApplying = false;
  private nextId = 1;

  readonly sleep = async (ms: number): Promise<void> => {
    this.now += ms;
  };
  readonly clock = (): number => this.now;

  /** One API call: counted, the clock's effects applied, maybe killed before or after it takes effect. */
  private run<T>(fn: () => T): T {
    this.calls += 1;
    this.settle();
    const crash = this.crashAt === this.calls;
    if (crash && !this.crashAfterApplying) throw new Crash(this.calls);
    if (!crash) return fn();
    try {
      fn();
    } catch {
      // the process is gone either way
    }
    throw new Crash(this.calls);
  }

  /** What the clock has finished: deletions completed (a workgroup's usage limits go with it). */
  private settle(): void {
    for (const [id, c] of this.clusters)
      if (c.deleteAt !== undefined && this.now >= c.deleteAt) this.clusters.delete(id);
    for (const [name, w] of this.workgroups) {
      if (w.deleteAt !== undefined && this.now >= w.deleteAt) {
        this.workgroups.delete(name);
        this.usageLimits.delete(w.arn);
      }
    }
    for (const [name, n] of this.namespaces)
      if (n.deleteAt !== undefined && this.now >= n.deleteAt) this.namespaces.delete(name);
  }

  clusterStatus(c: FakeCluster): string {
    if (c.deleteAt !== undefined) return 'deleting';
    return this.now < c.createdAt + 5 * MINUTE ? 'creating' : 'available';
  }

  workgroupStatus(w: FakeWorkgroup): string {
    if (w.deleteAt !== undefined) return 'DELETING';
    return this.now < w.createdAt + 2 * MINUTE ? 'CREATING' : 'AVAILABLE';
  }

  private clusterShape(c: FakeCluster): Cluster {
    return {
      ClusterIdentifier: c.id,
      ClusterStatus: this.clusterStatus(c),
      NodeType: 'ra3.large',
      NumberOfNodes: 2,
      ClusterNamespaceArn: c.namespaceArn,
      IamRoles: c.roles.map((IamRoleArn) => ({ IamRoleArn })),
      Tags: iamTags(c.tags),
      ...(this.clusterStatus(c) === 'available'
        ? { Endpoint: { Address: `${c.id}.abc.${REGION}.redshift.amazonaws.com`, Port: 5439 } }
        : {}),
    };
  }

  private workgroupShape(w: FakeWorkgroup) {
    return {
      workgroupName: w.name,
      workgroupArn: w.arn,
      namespaceName: w.namespace,
      status: this.workgroupStatus(w),
      baseCapacity: 8,
    };
  }

  private namespaceShape(n: FakeNamespace) {
    return {
      namespaceName: n.name,
      namespaceArn: n.arn,
      status: n.deleteAt !== undefined ? 'DELETING' : 'AVAILABLE',
      iamRoles: n.roles.map((r) => `IamRole(applyStatus=in-sync, iamRoleArn=${r})`),
      adminPasswordSecretArn: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${n.name}`,
    };
  }

  private resourceTags(arn: string): Tags {
    const w = [...this.workgroups.values()].find((x) => x.arn === arn);
    const n = [...this.namespaces.values()].find((x) => x.arn === arn);
    const found = w ?? n;
    if (!found) throw fault('ResourceNotFoundException');
    return found.tags;
  }

  /** Resources someone else made (no tags), put in place before a test. */
  addForeignCluster(id: string, roleArn?: string, tags: Tags = new Map()): void {
    this.clusters.set(id, {
      id,
      tags,
      createdAt: this.now - 60 * MINUTE,
      deleteAt: undefined,
      roles: roleArn ? [roleArn] : [],
      namespaceArn: `arn:aws:redshift:${REGION}:${ACCOUNT}:namespace:${this.nextId++}`,
    });
  }

  addForeignRole(name: string, path = '/', tags: Tags = new Map()): string {
    const arn = `arn:aws:iam::${ACCOUNT}:role${path}${name}`;
    this.roles.set(name, { name, path, arn, tags, policies: new Set() });
    return arn;
  }

  addForeignServerless(namespace: string, workgroup: string, tags: Tags = new Map()): void {
    this.namespaces.set(namespace, {
      name: namespace,
      arn: `arn:aws:redshift-serverless:${REGION}:${ACCOUNT}:namespace/${this.nextId++}`,
      tags: new Map(tags),
      roles: [],
      deleteAt: undefined,
    });
    this.workgroups.set(workgroup, {
      name: workgroup,
      arn: `arn:aws:redshift-serverless:${REGION}:${ACCOUNT}:workgroup/${this.nextId++}`,
      namespace,
      tags: new Map(tags),
      createdAt: this.now - 60 * MINUTE,
      deleteAt: undefined,
    });
  }

  /** Mocks the SDK clients onto this account; returns clients for a ClusterContext. */
  install(): AwsClients {
    const iam = mockClient(IAMClient);
    const redshift = mockClient(RedshiftClient);
    const serverless = mockClient(RedshiftServerlessClient);
    const ec2 = mockClient(EC2Client);
    for (const m of [iam, redshift, serverless, ec2]) m.reset();

    iam.on(GetRoleCommand).callsFake((i) =>
      this.run(() => {
        const r = this.roles.get(i.RoleName ?? '');
        if (!r) throw fault('NoSuchEntityException');
        return {
          Role: {
            RoleName: r.name,
            Path: r.path,
            Arn: r.arn,
            RoleId: r.name,
            CreateDate: new Date(0),
            Tags: iamTags(r.tags),
          },
        };
      }),
    );
    iam.on(CreateRoleCommand).callsFake((i) =>
      this.run(() => {
        if (this.roles.has(i.RoleName ?? '')) throw fault('EntityAlreadyExistsException');
        const path = i.Path ?? '/';
        const r: FakeRole = {
          name: i.RoleName ?? '',
          path,
          arn: `arn:aws:iam::${ACCOUNT}:role${path}${i.RoleName}`,
          tags: tagMap(i.Tags),
          policies: new Set(),
        };
        this.roles.set(r.name, r);
        return { Role: { RoleName: r.name, Path: path, Arn: r.arn, RoleId: r.name, CreateDate: new Date(0) } };
      }),
    );
    iam
      .on(AttachRolePolicyCommand)
      .callsFake((i) => this.run(() => (this.role(i.RoleName).policies.add(i.PolicyArn ?? ''), {})));
    iam
      .on(ListAttachedRolePoliciesCommand)
      .callsFake((i) =>
        this.run(() => ({ AttachedPolicies: [...this.role(i.RoleName).policies].map((PolicyArn) => ({ PolicyArn })) })),
      );
    iam
      .on(DetachRolePolicyCommand)
      .callsFake((i) => this.run(() => (this.role(i.RoleName).policies.delete(i.PolicyArn ?? ''), {})));
    iam.on(DeleteRoleCommand).callsFake((i) =>
      this.run(() => {
        if (this.role(i.RoleName).policies.size > 0)
          throw fault('DeleteConflictException', 'Cannot delete entity, must detach all policies first.');
        this.roles.delete(i.RoleName ?? '');
        return {};
      }),
    );
    iam.on(TagRoleCommand).callsFake((i) =>
      this.run(() => {
        const r = this.role(i.RoleName);
        for (const t of i.Tags ?? []) r.tags.set(t.Key ?? '', t.Value ?? '');
        return {};
      }),
    );
    iam.on(ListRolesCommand).callsFake((i) =>
      this.run(() => ({
        Roles: [...this.roles.values()]
          .filter((r) => r.path.startsWith(i.PathPrefix ?? '/'))
          .map((r) => ({ RoleName: r.name, Path: r.path, Arn: r.arn, RoleId: r.name, CreateDate: new Date(0) })),
        IsTruncated: false,
      })),
    );

    redshift.on(DescribeClustersCommand).callsFake((i) =>
      this.run(() => {
        if (i.ClusterIdentifier) {
          const c = this.clusters.get(i.ClusterIdentifier);
          if (!c) throw fault('ClusterNotFoundFault');
          return { Clusters: [this.clusterShape(c)] };
        }
        return { Clusters: [...this.clusters.values()].map((c) => this.clusterShape(c)) };
      }),
    );
    redshift.on(CreateClusterCommand).callsFake((i) =>
      this.run(() => {
        if (this.clusters.has(i.ClusterIdentifier ?? '')) throw fault('ClusterAlreadyExistsFault');
        const c: FakeCluster = {
          id: i.ClusterIdentifier ?? '',
          tags: tagMap(i.Tags),
          createdAt: this.now,
          deleteAt: undefined,
          roles: [...(i.IamRoles ?? [])],
          namespaceArn: `arn:aws:redshift:${REGION}:${ACCOUNT}:namespace:${this.nextId++}`,
        };
        this.clusters.set(c.id, c);
        return { Cluster: this.clusterShape(c) };
      }),
    );
    redshift.on(ModifyClusterIamRolesCommand).callsFake((i) =>
      this.run(() => {
        const c = this.cluster(i.ClusterIdentifier);
        c.roles.push(...(i.AddIamRoles ?? []));
        return { Cluster: this.clusterShape(c) };
      }),
    );
    redshift.on(DeleteClusterCommand).callsFake((i) =>
      this.run(() => {
        const c = this.cluster(i.ClusterIdentifier);
        if (this.clusterStatus(c) !== 'available')
          throw fault(
            'InvalidClusterStateFault',
            `There is an operation running on the Cluster (${this.clusterStatus(c)})`,
          );
        if (!i.SkipFinalClusterSnapshot) this.snapshots.push(i.FinalClusterSnapshotIdentifier ?? '');
        c.deleteAt = this.now + 3 * MINUTE;
        return { Cluster: this.clusterShape(c) };
      }),
    );
    redshift.on(CreateTagsCommand).callsFake((i) =>
      this.run(() => {
        const c = this.cluster(/:cluster:(.+)$/.exec(i.ResourceName ?? '')?.[1]);
        for (const t of i.Tags ?? []) c.tags.set(t.Key ?? '', t.Value ?? '');
        return {};
      }),
    );

    serverless
      .on(GetNamespaceCommand)
      .callsFake((i) => this.run(() => ({ namespace: this.namespaceShape(this.namespace(i.namespaceName)) })));
    serverless.on(CreateNamespaceCommand).callsFake((i) =>
      this.run(() => {
        if (this.namespaces.has(i.namespaceName ?? '')) throw fault('ConflictException');
        const n: FakeNamespace = {
          name: i.namespaceName ?? '',
          arn: `arn:aws:redshift-serverless:${REGION}:${ACCOUNT}:namespace/${this.nextId++}`,
          tags: tagMap(i.tags),
          roles: [...(i.iamRoles ?? [])],
          deleteAt: undefined,
        };
        this.namespaces.set(n.name, n);
        return { namespace: this.namespaceShape(n) };
      }),
    );
    serverless.on(UpdateNamespaceCommand).callsFake((i) =>
      this.run(() => {
        const n = this.namespace(i.namespaceName);
        n.roles = [...(i.iamRoles ?? n.roles)];
        return { namespace: this.namespaceShape(n) };
      }),
    );
    serverless
      .on(GetWorkgroupCommand)
      .callsFake((i) => this.run(() => ({ workgroup: this.workgroupShape(this.workgroup(i.workgroupName)) })));
    serverless.on(CreateWorkgroupCommand).callsFake((i) =>
      this.run(() => {
        if (this.workgroups.has(i.workgroupName ?? '')) throw fault('ConflictException');
        this.namespace(i.namespaceName);
        const w: FakeWorkgroup = {
          name: i.workgroupName ?? '',
          arn: `arn:aws:redshift-serverless:${REGION}:${ACCOUNT}:workgroup/${this.nextId++}`,
          namespace: i.namespaceName ?? '',
          tags: tagMap(i.tags),
          createdAt: this.now,
          deleteAt: undefined,
        };
        this.workgroups.set(w.name, w);
        return { workgroup: this.workgroupShape(w) };
      }),
    );
    serverless.on(DeleteWorkgroupCommand).callsFake((i) =>
      this.run(() => {
        const w = this.workgroup(i.workgroupName);
        if (this.workgroupStatus(w) !== 'AVAILABLE')
          throw fault('ConflictException', `workgroup ${w.name} is ${this.workgroupStatus(w)}`);
        w.deleteAt = this.now + 2 * MINUTE;
        return { workgroup: this.workgroupShape(w) };
      }),
    );
    serverless.on(DeleteNamespaceCommand).callsFake((i) =>
      this.run(() => {
        const n = this.namespace(i.namespaceName);
        if ([...this.workgroups.values()].some((w) => w.namespace === n.name))
          throw fault('ConflictException', `namespace ${n.name} has a workgroup`);
        if (n.deleteAt !== undefined) throw fault('ConflictException', `namespace ${n.name} is being deleted`);
        n.deleteAt = this.now + MINUTE;
        return { namespace: this.namespaceShape(n) };
      }),
    );
    serverless
      .on(ListWorkgroupsCommand)
      .callsFake(() =>
        this.run(() => ({ workgroups: [...this.workgroups.values()].map((w) => this.workgroupShape(w)) })),
      );
    serverless
      .on(ListNamespacesCommand)
      .callsFake(() =>
        this.run(() => ({ namespaces: [...this.namespaces.values()].map((n) => this.namespaceShape(n)) })),
      );
    serverless
      .on(ListTagsForResourceCommand)
      .callsFake((i) =>
        this.run(() => ({ tags: [...this.resourceTags(i.resourceArn ?? '')].map(([key, value]) => ({ key, value })) })),
      );
    serverless.on(TagResourceCommand).callsFake((i) =>
      this.run(() => {
        const tags = this.resourceTags(i.resourceArn ?? '');
        for (const t of i.tags ?? []) tags.set(t.key ?? '', t.value ?? '');
        return {};
      }),
    );
    serverless.on(ListUsageLimitsCommand).callsFake((i) =>
      this.run(() => {
        const l = this.usageLimits.get(i.resourceArn ?? '');
        return { usageLimits: l ? [{ ...l, resourceArn: i.resourceArn, usageType: 'serverless-compute' }] : [] };
      }),
    );
    serverless.on(CreateUsageLimitCommand).callsFake((i) =>
      this.run(() => {
        if (![...this.workgroups.values()].some((w) => w.arn === i.resourceArn))
          throw fault('ResourceNotFoundException');
        const l = { amount: i.amount ?? 0, period: i.period ?? 'monthly', breachAction: i.breachAction ?? 'log' };
        this.usageLimits.set(i.resourceArn ?? '', l);
        return { usageLimit: { ...l, resourceArn: i.resourceArn } };
      }),
    );

    return {
      iam: new IAMClient({ region: REGION }),
      redshift: new RedshiftClient({ region: REGION }),
      ec2: new EC2Client({ region: REGION }),
      serverless: new RedshiftServerlessClient({ region: REGION }),
    };
  }

  private role(name: string | undefined): FakeRole {
    const r = this.roles.get(name ?? '');
    if (!r) throw fault('NoSuchEntityException');
    return r;
  }

  private cluster(id: string | undefined): FakeCluster {
    const c = this.clusters.get(id ?? '');
    if (!c) throw fault('ClusterNotFoundFault');
    return c;
  }

  private namespace(name: string | undefined): FakeNamespace {
    const n = this.namespaces.get(name ?? '');
    if (!n) throw fault('ResourceNotFoundException');
    return n;
  }

  private workgroup(name: string | undefined): FakeWorkgroup {
    const w = this.workgroups.get(name ?? '');
    if (!w) throw fault('ResourceNotFoundException');
    return w;
  }
}
