/**
 * The lease check of every command that opens a Redshift (lib/db/database.ts): one look-up of the target cluster's
 * or workgroup's tags (lib/aws/lease.ts), and a warning when the tool created
 * it and its lease has expired (it still costs money; `cluster sweep` would
 * delete it). It never fails or holds up the load: any failure (no
 * permission, no network) is a debug line, and it gives up after 5 seconds.
 * Skipped when the Data API endpoint is overridden (a stand-in, or a VPC
 * endpoint: the control plane may not be reachable from there).
 */
import type { Config } from '../config/config.ts';
import type { Logger } from '../log.ts';
import { expiredWarning, isExpired, leaseOf, type Lease } from './lease.ts';

type LeaseTarget =
  | { readonly kind: 'cluster'; readonly clusterId: string }
  | { readonly kind: 'workgroup'; readonly workgroup: string };

/** The cluster or workgroup a load's connection names, if it is on AWS. */
export function leaseTarget(config: Config): LeaseTarget | undefined {
  const db = config.database;
  if (db.kind === 'data-api') {
    if (db.endpoint !== undefined) return undefined;
    return db.target.kind === 'serverless'
      ? { kind: 'workgroup', workgroup: db.target.workgroup }
      : { kind: 'cluster', clusterId: db.target.clusterId };
  }
  let host = '';
  try {
    host = db.kind === 'pg-env' ? db.host : db.kind === 'url' ? new URL(db.url).hostname : '';
  } catch {
    return undefined;
  }
  // CLUSTER.abc123.REGION.redshift.amazonaws.com; WORKGROUP.ACCOUNT.REGION.redshift-serverless.amazonaws.com
  const first = host.split('.')[0] ?? '';
  if (host.endsWith('.redshift.amazonaws.com')) return { kind: 'cluster', clusterId: first };
  if (host.endsWith('.redshift-serverless.amazonaws.com')) return { kind: 'workgroup', workgroup: first };
  return undefined;
}

async function lookUp(target: LeaseTarget, region: string): Promise<Lease | undefined> {
  if (target.kind === 'cluster') {
    const { RedshiftClient, DescribeClustersCommand } = await import('@aws-sdk/client-redshift');
    const client = new RedshiftClient({ region, maxAttempts: 1 });
    try {
      const r = await client.send(new DescribeClustersCommand({ ClusterIdentifier: target.clusterId }));
      return leaseOf(r.Clusters?.[0]?.Tags);
    } finally {
      client.destroy();
    }
  }
  const { RedshiftServerlessClient, GetWorkgroupCommand, ListTagsForResourceCommand } = await import(
    '@aws-sdk/client-redshift-serverless'
  );
  const client = new RedshiftServerlessClient({ region, maxAttempts: 1 });
  try {
    const arn = (await client.send(new GetWorkgroupCommand({ workgroupName: target.workgroup }))).workgroup
      ?.workgroupArn;
    return arn ? leaseOf((await client.send(new ListTagsForResourceCommand({ resourceArn: arn }))).tags) : undefined;
  } finally {
    client.destroy();
  }
}

/** Warns when the load's target is the tool's and past its lease; `now` for tests. */
export async function warnIfTargetExpired(config: Config, log: Logger, now: () => number = Date.now): Promise<void> {
  const target = leaseTarget(config);
  if (!target) return;
  const name = target.kind === 'cluster' ? `Cluster ${target.clusterId}` : `Serverless workgroup ${target.workgroup}`;
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('no answer within 5 s')), 5000);
      timer.unref();
    });
    const lease = await Promise.race([lookUp(target, config.region), timeout]);
    if (lease && isExpired(lease, now())) {
      log.warn(expiredWarning(name, lease, now()));
    }
  } catch (err) {
    log.debug(`The lease of ${name} was not checked: ${(err as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
}
