/**
 * How the commands print the cost preflight (`load --plan`) and a run's
 * estimate against its actual (`history`).
 */
import {
  formatSeconds,
  formatUsd,
  type Actual,
  type Charge,
  type Estimate,
  type RunCost,
} from '../../lib/cost/estimate.ts';
import type { Preflight } from '../../lib/preflight/preflight.ts';

const MB = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MB`;

/** `0.0711 node-hours`, `480 RPU-seconds`, or nothing (PostgreSQL). */
function units(c: Charge): string {
  if (c.nodeHours !== null) return `${c.nodeHours.toFixed(4)} node-hours`;
  if (c.rpuSeconds !== null) return `${c.rpuSeconds} RPU-seconds`;
  return '';
}

/** `~2m 10s, $0.0421 (0.0711 node-hours)`: one charge on one line. */
export function chargeText(c: Charge | Actual, approx: boolean): string {
  const u = units(c);
  return `${approx ? '~' : ''}${formatSeconds(c.seconds)}, ${formatUsd(c.usd)}${u ? ` (${u}${'basis' in c && c.basis === 'sys_serverless_usage' ? ' charged, SYS_SERVERLESS_USAGE' : ''})` : ''}`;
}

function priceText(e: Estimate): string {
  const p = e.prices;
  const price =
    e.target.kind === 'provisioned'
      ? `${formatUsd(p.nodeHourUsd ?? null)} a node-hour`
      : e.target.kind === 'serverless'
        ? `${formatUsd(p.rpuHourUsd)} an RPU-hour`
        : 'no AWS charge';
  const from =
    p.overriddenBy.length > 0 ? `set by ${p.overriddenBy.join(', ')}` : `price table of ${p.asOf}, ${p.source}`;
  return `${price} (${from})`;
}

/** `load --plan` as text. */
export function planText(p: Preflight): string {
  const { work, estimate: e } = p;
  const lines = [
    `Target: ${e.description}`,
    `Objects: ${work.objects}${work.sources.length > 0 ? ` (${work.sources.map((s) => `${s.setting} ${s.objects}`).join(', ')})` : ''}`,
    `Bytes: ${work.bytes} (${MB(work.bytes)})`,
    'Chunks: none (no compaction: each object is loaded as it is)',
    `Statements: ${work.statements}`,
    `Estimate: ${chargeText(e, true)}`,
  ];
  if (e.target.kind === 'serverless')
    lines.push('  Serverless bills RPU-seconds per second with a 60-second minimum, nothing while idle.');
  if (e.target.kind === 'provisioned')
    lines.push(`  The cluster itself costs ${formatUsd(e.hourlyUsd)} an hour while it exists, loading or not.`);
  if (e.usd === null) lines.push('  No price for this node type: set REDSHIFT_PRICE_NODE_HOUR.');
  lines.push(
    `Prices: ${priceText(e)}`,
    'Model: lib/cost/estimate.ts (THROUGHPUT); `history` shows each run’s estimate against its actual.',
  );
  return lines.join('\n');
}

/** `history`'s two columns of a run's cost. */
export function costCells(cost: RunCost | null): { estimate: string; actual: string } {
  if (!cost) return { estimate: '', actual: '' };
  return { estimate: chargeText(cost.estimate, true), actual: cost.actual ? chargeText(cost.actual, false) : '' };
}
