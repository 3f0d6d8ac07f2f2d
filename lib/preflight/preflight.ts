/**
 * The cost preflight of a load: the planned work (lib/preflight/work.ts) and its
 * estimate for the configured target (lib/cost/settings.ts,
 * lib/cost/estimate.ts). `load --plan` prints it; a load on Redshift keeps it
 * in its run record, where the actual is added once it has ended.
 */
import { costSettings } from '../cost/settings.ts';
import type { Dialect } from '../dialect/index.ts';
import type { LoadOptions } from '../load/options.ts';
import { estimateLoad, type Estimate, type PlannedWork, type RunCost } from '../cost/estimate.ts';
import { plannedWork } from './work.ts';

export interface Preflight {
  readonly work: PlannedWork;
  readonly estimate: Estimate;
}

export async function preflight(
  dialect: Dialect,
  opts: LoadOptions,
  env: Readonly<Record<string, string | undefined>>,
): Promise<Preflight> {
  const settings = costSettings(env, opts.config, dialect.name);
  const work = await plannedWork(dialect, opts);
  return { work, estimate: estimateLoad(work, settings.target, settings.prices) };
}

/** What the run record keeps of a preflight (the per-source listing is left out). */
export function runCostOf(p: Preflight): RunCost {
  const { objects, bytes, statements, chunks } = p.work;
  return { work: { objects, bytes, statements, chunks }, estimate: p.estimate, actual: null };
}
