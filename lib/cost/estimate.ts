/**
 * What a load will cost before it runs (`load --plan`), and what it cost
 * after (the run record): a documented throughput model for the time, and
 * the billing rules of lib/cost/prices.ts for the money.
 *
 * Throughput model (THROUGHPUT): the load's seconds are
 *
 *   statements × statementSeconds
 *   + (objects × objectSeconds + bytes / copyBytesPerSecond) / slices        (staging: COPY or the local stage)
 *   + bytes / (transformBytesPerSecond × slices)                              (the set-based transforms read what was staged)
 *
 * A COPY spreads the objects over the slices, each of which opens its files
 * one at a time (many small files load slower than few large ones:
 * https://docs.aws.amazon.com/redshift/latest/dg/c_best-practices-use-multiple-files.html).
 * The constants are assumptions, not measurements on Redshift: `history`
 * shows each run's estimate against its measured time (and, on Serverless,
 * the charged RPU-seconds), which is how to judge and tune them. The
 * PostgreSQL row comes from this repository's bench (the whole S3 stage of
 * 20k song files ran at 1,226 objects/s, lib/config/config.ts).
 */
import { PRICES, type PriceTable } from './prices.ts';

export type CostTarget =
  | { readonly kind: 'postgres' }
  | { readonly kind: 'provisioned'; readonly nodeType: string; readonly nodes: number }
  | { readonly kind: 'serverless'; readonly rpus: number };

interface EngineModel {
  /** A statement's round trip, planning and commit (Data API: submit, poll, fetch). */
  readonly statementSeconds: number;
  /** Opening one source object, per slice. */
  readonly objectSeconds: number;
  /** JSON parsed into rows, per slice. */
  readonly copyBytesPerSecond: number;
  /** Staged bytes the transforms work through, per slice. */
  readonly transformBytesPerSecond: number;
}

const MiB = 1024 * 1024;

export const THROUGHPUT: {
  readonly redshift: EngineModel;
  readonly postgres: EngineModel;
  readonly slicesPerNode: Readonly<Record<string, number>>;
  readonly rpusPerSlice: number;
} = {
  redshift: {
    statementSeconds: 0.5,
    objectSeconds: 0.02,
    copyBytesPerSecond: 8 * MiB,
    transformBytesPerSecond: 32 * MiB,
  },
  postgres: {
    statementSeconds: 0.005,
    objectSeconds: 1 / 1226,
    copyBytesPerSecond: 20 * MiB,
    transformBytesPerSecond: 40 * MiB,
  },
  // Slices per node ("each dc2.large compute node has two slices, and each dc2.8xlarge compute node has 16":
  // https://docs.aws.amazon.com/redshift/latest/dg/t_splitting-data-files.html; the others: the Management Guide's node types).
  slicesPerNode: {
    'dc2.large': 2,
    'dc2.8xlarge': 16,
    'ra3.large': 2,
    'ra3.xlplus': 2,
    'ra3.4xlarge': 4,
    'ra3.16xlarge': 16,
  },
  // Assumed: 8 RPUs work like one ra3.4xlarge (4 slices).
  rpusPerSlice: 2,
};

/** What a load is asked to do, before it runs. */
export interface PlannedWork {
  readonly objects: number;
  readonly bytes: number;
  readonly statements: number;
  /** Objects after compaction: none exists yet, so null (each object is loaded as it is). */
  readonly chunks: number | null;
  readonly sources: readonly {
    readonly setting: string;
    readonly uri: string;
    readonly objects: number;
    readonly bytes: number;
  }[];
}

/** Prices for one target, the table's with the settings' overrides. */
export interface Prices {
  readonly nodeHourUsd: number | undefined;
  readonly rpuHourUsd: number;
  readonly asOf: string;
  readonly source: string;
  /** The settings that replaced a price of the table. */
  readonly overriddenBy: readonly string[];
}

export function pricesFor(
  target: CostTarget,
  overrides: { readonly nodeHourUsd?: number | undefined; readonly rpuHourUsd?: number | undefined } = {},
  table: PriceTable = PRICES,
): Prices {
  const nodeType = target.kind === 'provisioned' ? target.nodeType : undefined;
  return {
    nodeHourUsd: overrides.nodeHourUsd ?? (nodeType ? table.nodeHourUsd[nodeType] : undefined),
    rpuHourUsd: overrides.rpuHourUsd ?? table.rpuHourUsd,
    asOf: table.asOf,
    source: table.source,
    overriddenBy: [
      ...(overrides.nodeHourUsd !== undefined ? ['REDSHIFT_PRICE_NODE_HOUR'] : []),
      ...(overrides.rpuHourUsd !== undefined ? ['REDSHIFT_PRICE_RPU_HOUR'] : []),
    ],
  };
}

/** Redshift Serverless: RPU-seconds charged for one busy window of `seconds` at `rpus` (per second, 60-second minimum). */
export function serverlessRpuSeconds(seconds: number, rpus: number): number {
  return rpus * Math.max(60, Math.ceil(seconds));
}

/** Provisioned: node-hours of `seconds` on `nodes` nodes (billed per second). */
export function provisionedNodeHours(seconds: number, nodes: number): number {
  return (nodes * Math.ceil(seconds)) / 3600;
}

const cents = (usd: number) => Math.round(usd * 10000) / 10000;

export function describeTarget(target: CostTarget): string {
  if (target.kind === 'provisioned') return `Redshift provisioned, ${target.nodes} × ${target.nodeType}`;
  if (target.kind === 'serverless') return `Redshift Serverless, ${target.rpus} RPUs base capacity`;
  return 'PostgreSQL (local: no AWS charge)';
}

function slices(target: CostTarget): number {
  if (target.kind === 'provisioned') return target.nodes * (THROUGHPUT.slicesPerNode[target.nodeType] ?? 2);
  if (target.kind === 'serverless') return Math.max(1, target.rpus / THROUGHPUT.rpusPerSlice);
  return 1;
}

/** The model's seconds for the work on the target (see THROUGHPUT). */
export function estimateSeconds(
  work: Pick<PlannedWork, 'objects' | 'bytes' | 'statements'>,
  target: CostTarget,
): number {
  const m = target.kind === 'postgres' ? THROUGHPUT.postgres : THROUGHPUT.redshift;
  const n = slices(target);
  return (
    work.statements * m.statementSeconds +
    (work.objects * m.objectSeconds + work.bytes / m.copyBytesPerSecond) / n +
    work.bytes / (m.transformBytesPerSecond * n)
  );
}

/** Money for `seconds` on the target: what the billing rules charge. */
export interface Charge {
  readonly seconds: number;
  readonly nodeHours: number | null;
  readonly rpuSeconds: number | null;
  /** null: no price for the node type (set REDSHIFT_PRICE_NODE_HOUR). */
  readonly usd: number | null;
}

export function charge(seconds: number, target: CostTarget, prices: Prices, chargedRpuSeconds?: number): Charge {
  if (target.kind === 'provisioned') {
    const nodeHours = provisionedNodeHours(seconds, target.nodes);
    return {
      seconds,
      nodeHours,
      rpuSeconds: null,
      usd: prices.nodeHourUsd === undefined ? null : cents(nodeHours * prices.nodeHourUsd),
    };
  }
  if (target.kind === 'serverless') {
    const rpuSeconds = chargedRpuSeconds ?? serverlessRpuSeconds(seconds, target.rpus);
    return { seconds, nodeHours: null, rpuSeconds, usd: cents((rpuSeconds / 3600) * prices.rpuHourUsd) };
  }
  return { seconds, nodeHours: null, rpuSeconds: null, usd: 0 };
}

export interface Estimate extends Charge {
  readonly target: CostTarget;
  readonly description: string;
  /** What the target costs an hour regardless of the load (provisioned: nodes × price), or while busy (Serverless: RPUs × price). */
  readonly hourlyUsd: number | null;
  readonly prices: Prices;
}

export function estimateLoad(
  work: Pick<PlannedWork, 'objects' | 'bytes' | 'statements'>,
  target: CostTarget,
  prices: Prices,
): Estimate {
  const seconds = Math.round(estimateSeconds(work, target) * 10) / 10;
  const hourlyUsd =
    target.kind === 'provisioned'
      ? prices.nodeHourUsd === undefined
        ? null
        : cents(target.nodes * prices.nodeHourUsd)
      : target.kind === 'serverless'
        ? cents(target.rpus * prices.rpuHourUsd)
        : 0;
  return { ...charge(seconds, target, prices), target, description: describeTarget(target), hourlyUsd, prices };
}

/** After the run: measured seconds, and on Serverless the RPU-seconds SYS_SERVERLESS_USAGE charged for its window. */
export interface Actual extends Charge {
  /** Where the money comes from: the measured duration under the billing rules, or the charged seconds of SYS_SERVERLESS_USAGE. */
  readonly basis: 'measured duration' | 'sys_serverless_usage';
}

export function actualCost(
  measuredSeconds: number,
  target: CostTarget,
  prices: Prices,
  chargedRpuSeconds: number | undefined,
): Actual {
  return {
    ...charge(measuredSeconds, target, prices, chargedRpuSeconds),
    basis: chargedRpuSeconds === undefined ? 'measured duration' : 'sys_serverless_usage',
  };
}

/** What the run record keeps of a run's cost (load_runs.cost, JSON). */
export interface RunCost {
  readonly work: Omit<PlannedWork, 'sources'>;
  readonly estimate: Estimate;
  readonly actual: Actual | null;
}

/** `2m 10s`, `45s`, `1h 3m`. */
export function formatSeconds(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

/** `$0.0421` (money is small per load: four decimals), or `?` without a price. */
export const formatUsd = (usd: number | null): string => (usd === null ? '$?' : `$${usd.toFixed(usd < 1 ? 4 : 2)}`);
