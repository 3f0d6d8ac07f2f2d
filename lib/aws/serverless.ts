/**
 * Redshift Serverless as an alternative to a provisioned cluster (npm run
 * cluster -- create|status|delete --serverless): a namespace (the database,
 * its admin user with the password kept by Secrets Manager, and the IAM role
 * COPY uses) and a workgroup (the compute, not publicly accessible: it is
 * reached through the Data API). Existing ones are reused; deleting what does
 * not exist is a no-op; every call goes through lib/aws/cluster.ts's `call`,
 * so a dry run prints the plan.
 */
import { ConfigError } from '../errors.ts';
import {
  CreateNamespaceCommand,
  CreateWorkgroupCommand,
  DeleteNamespaceCommand,
  DeleteWorkgroupCommand,
  GetNamespaceCommand,
  GetWorkgroupCommand,
  UpdateNamespaceCommand,
  type Namespace,
  type Workgroup,
} from '@aws-sdk/client-redshift-serverless';
import { call, deleteRole, ensureRole, errorName, pollUntil, type ClusterContext } from './cluster.ts';

export interface ServerlessCreateResult {
  readonly roleArn: string;
  /** The Secrets Manager secret of the admin password (REDSHIFT_SECRET_ARN for the Data API). */
  readonly secretArn: string | undefined;
  readonly reused: { readonly role: boolean; readonly namespace: boolean; readonly workgroup: boolean };
}

function client(ctx: ClusterContext): unknown {
  if (!ctx.clients.serverless && !ctx.dryRun) throw new Error('no Redshift Serverless client');
  return ctx.clients.serverless;
}

const notFound = (err: unknown) => errorName(err) === 'ResourceNotFoundException';

/** The resource, or undefined when the service says it does not exist. */
async function unlessNotFound<T>(get: () => Promise<T | undefined>): Promise<T | undefined> {
  try {
    return await get();
  } catch (err) {
    if (notFound(err)) return undefined;
    throw err;
  }
}

export function findNamespace(ctx: ClusterContext): Promise<Namespace | undefined> {
  return unlessNotFound(async () => ((await call(ctx, 'Redshift Serverless', client(ctx), GetNamespaceCommand, { namespaceName: ctx.config.namespace })) as { namespace?: Namespace } | undefined)?.namespace);
}

export function findWorkgroup(ctx: ClusterContext): Promise<Workgroup | undefined> {
  return unlessNotFound(async () => ((await call(ctx, 'Redshift Serverless', client(ctx), GetWorkgroupCommand, { workgroupName: ctx.config.workgroup })) as { workgroup?: Workgroup } | undefined)?.workgroup);
}

async function waitFor<T>(ctx: ClusterContext, what: string, find: () => Promise<T | undefined>, done: (x: T | undefined) => boolean, state: (x: T | undefined) => string): Promise<void> {
  if (ctx.dryRun) {
    ctx.calls.push({ service: 'Redshift Serverless', command: what.startsWith('workgroup') ? 'GetWorkgroup' : 'GetNamespace', params: { repeated: `every 30s until ${what}` } });
    return;
  }
  await pollUntil(ctx, find, done, (x, waited) => `Waiting for ${what}: ${state(x)} (${waited}s)…`, (waited) => `${what}: not done after ${waited}s`);
}

export async function createServerless(ctx: ClusterContext): Promise<ServerlessCreateResult> {
  const c = ctx.config;
  const role = await ensureRole(ctx);
  let namespace = await findNamespace(ctx);
  const reusedNamespace = Boolean(namespace);
  if (namespace) {
    ctx.log.info(`Namespace ${c.namespace} exists (${namespace.status ?? '?'}): reusing it.`);
    // GetNamespace lists roles as "IamRole(applyStatus=…, iamRoleArn=arn:…)".
    const roles = namespace.iamRoles ?? [];
    if (!roles.some((r) => r.includes(role.arn))) {
      const arns = roles.map((r) => /iamRoleArn=([^,)]+)/.exec(r)?.[1] ?? r);
      await call(ctx, 'Redshift Serverless', client(ctx), UpdateNamespaceCommand, { namespaceName: c.namespace, iamRoles: [...arns, role.arn], defaultIamRoleArn: role.arn });
    }
  } else {
    ctx.log.info(`Creating namespace ${c.namespace} (database ${c.database}, admin ${c.user}, password kept by Secrets Manager)…`);
    const created = (await call(ctx, 'Redshift Serverless', client(ctx), CreateNamespaceCommand, {
      namespaceName: c.namespace,
      dbName: c.database,
      adminUsername: c.user,
      manageAdminPassword: true,
      iamRoles: [role.arn],
      defaultIamRoleArn: role.arn,
    })) as { namespace?: Namespace } | undefined;
    namespace = created?.namespace;
  }
  const workgroup = await findWorkgroup(ctx);
  if (workgroup) {
    ctx.log.info(`Workgroup ${c.workgroup} exists (${workgroup.status ?? '?'}): reusing it.`);
    if (workgroup.namespaceName && workgroup.namespaceName !== c.namespace) {
      throw new ConfigError([`workgroup ${c.workgroup} belongs to namespace ${workgroup.namespaceName}, not ${c.namespace}: set REDSHIFT_NAMESPACE or REDSHIFT_WORKGROUP`]);
    }
  } else {
    ctx.log.info(`Creating workgroup ${c.workgroup} (${c.baseCapacity} RPUs, not publicly accessible: reached through the Data API)…`);
    await call(ctx, 'Redshift Serverless', client(ctx), CreateWorkgroupCommand, { workgroupName: c.workgroup, namespaceName: c.namespace, baseCapacity: c.baseCapacity, publiclyAccessible: false });
  }
  await waitFor(ctx, `workgroup ${c.workgroup} AVAILABLE`, () => findWorkgroup(ctx), (w) => w?.status === 'AVAILABLE', (w) => w?.status ?? 'not found');
  return {
    roleArn: role.arn,
    secretArn: namespace?.adminPasswordSecretArn,
    reused: { role: role.reused, namespace: reusedNamespace, workgroup: Boolean(workgroup) },
  };
}

export async function deleteServerless(ctx: ClusterContext): Promise<{ workgroup: boolean; namespace: boolean; role: boolean }> {
  const c = ctx.config;
  const workgroup = await findWorkgroup(ctx);
  if (workgroup || ctx.dryRun) {
    ctx.log.info(`Deleting workgroup ${c.workgroup}…`);
    await call(ctx, 'Redshift Serverless', client(ctx), DeleteWorkgroupCommand, { workgroupName: c.workgroup });
    await waitFor(ctx, `workgroup ${c.workgroup} deleted`, () => findWorkgroup(ctx), (w) => w === undefined, (w) => w?.status ?? 'gone');
  } else {
    ctx.log.info(`Workgroup ${c.workgroup} does not exist: nothing to delete.`);
  }
  const namespace = await findNamespace(ctx);
  if (namespace || ctx.dryRun) {
    ctx.log.info(`Deleting namespace ${c.namespace} (its data; no final snapshot)…`);
    await call(ctx, 'Redshift Serverless', client(ctx), DeleteNamespaceCommand, { namespaceName: c.namespace });
    await waitFor(ctx, `namespace ${c.namespace} deleted`, () => findNamespace(ctx), (n) => n === undefined, (n) => n?.status ?? 'gone');
  } else {
    ctx.log.info(`Namespace ${c.namespace} does not exist: nothing to delete.`);
  }
  const role = await deleteRole(ctx);
  return { workgroup: Boolean(workgroup), namespace: Boolean(namespace), role };
}
