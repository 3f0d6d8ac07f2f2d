/**
 * The settings of the cost estimate (`load --plan`, the run record): which
 * kind of target a load goes to, its size, and price overrides.
 *
 * - The Data API to a workgroup, or a host `*.redshift-serverless.amazonaws.com`:
 *   Redshift Serverless, REDSHIFT_BASE_CAPACITY RPUs (default 8).
 * - The Data API to a cluster, a host `*.redshift.amazonaws.com`, or a Redshift
 *   dialect otherwise (`--dialect redshift`, a Redshift found on connecting):
 *   a provisioned cluster of REDSHIFT_NODES × REDSHIFT_NODE_TYPE (default 2 × ra3.large).
 * - Anything else: PostgreSQL (no AWS charge).
 *
 * REDSHIFT_PRICE_NODE_HOUR (USD per node-hour of the configured node type) and
 * REDSHIFT_PRICE_RPU_HOUR (USD per RPU-hour) replace the table's prices
 * (lib/cost/prices.ts): other regions, discounts, reserved nodes.
 */
import type { DialectName } from '../dialect/index.ts';
import { pricesFor, type CostTarget, type Prices } from './estimate.ts';
import { ConfigError } from '../errors.ts';
import { loadClusterConfig, type Config } from '../config/config.ts';
import { setting } from '../config/setting.ts';

type Env = Readonly<Record<string, string | undefined>>;

export interface CostSettings {
  readonly target: CostTarget;
  readonly prices: Prices;
}

/** The host a connection setting names, if any. */
function hostOf(config: Config): string | undefined {
  const db = config.database;
  if (db.kind === 'pg-env') return db.host;
  if (db.kind !== 'url') return undefined;
  try {
    return new URL(db.url).hostname;
  } catch {
    return undefined;
  }
}

function price(env: Env, name: string, problems: string[]): number | undefined {
  const text = setting(env, name);
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !(n > 0)) problems.push(`${name}: a price in USD such as 0.25, got '${text}'`);
  return n;
}

/** `dialect`: the engine the load renders for (a dry run's --dialect, or the connected one); undefined: judged from the settings alone. */
export function costSettings(env: Env, config: Config, dialect?: DialectName): CostSettings {
  const problems: string[] = [];
  const overrides = {
    nodeHourUsd: price(env, 'REDSHIFT_PRICE_NODE_HOUR', problems),
    rpuHourUsd: price(env, 'REDSHIFT_PRICE_RPU_HOUR', problems),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  const db = config.database;
  const host = hostOf(config) ?? '';
  let kind: CostTarget['kind'];
  if (
    (db.kind === 'data-api' && db.target.kind === 'serverless') ||
    host.endsWith('.redshift-serverless.amazonaws.com')
  )
    kind = 'serverless';
  else if (db.kind === 'data-api' || host.endsWith('.redshift.amazonaws.com') || dialect === 'redshift')
    kind = 'provisioned';
  else kind = 'postgres';
  let target: CostTarget = { kind: 'postgres' };
  if (kind !== 'postgres') {
    // The cluster settings the cluster command uses (node type, nodes, base capacity), validated the same way.
    const cluster = loadClusterConfig(env);
    target =
      kind === 'serverless'
        ? { kind, rpus: cluster.baseCapacity }
        : { kind, nodeType: cluster.nodeType, nodes: cluster.nodes };
  }
  return { target, prices: pricesFor(target, overrides) };
}
