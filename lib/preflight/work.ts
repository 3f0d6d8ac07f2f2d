/**
 * The work a load is asked to do, before it runs: the objects and bytes under
 * each source it stages (listed, not read), and the statements of its plan as
 * the dry run renders them for the engine. Chunks: no compaction exists, so
 * each object is loaded as it is (null).
 */
import { splitStatements } from '../db/split-statements.ts';
import type { Dialect } from '../dialect/index.ts';
import type { LoadOptions } from '../load/options.ts';
import { loadScript } from '../load/plan.ts';
import { selectSteps } from '../load/steps.ts';
import { sourceReaderFor } from '../sources/source-objects.ts';
import type { PlannedWork } from '../cost/estimate.ts';

export async function plannedWork(dialect: Dialect, opts: LoadOptions): Promise<PlannedWork> {
  const { staging } = selectSteps(opts.pipeline, opts.only);
  const reader = opts.reader ?? sourceReaderFor(opts.config, { signal: opts.signal });
  const sources: PlannedWork['sources'][number][] = [];
  for (const step of staging) {
    const uri = step.source(opts.config.sources);
    const objects = await reader.list(uri);
    let bytes = 0;
    for (const o of objects) bytes += o.size;
    sources.push({ setting: step.settings.source, uri, objects: objects.length, bytes });
  }
  const statements = splitStatements(await loadScript(dialect, opts)).length;
  return {
    objects: sources.reduce((s, x) => s + x.objects, 0),
    bytes: sources.reduce((s, x) => s + x.bytes, 0),
    statements,
    chunks: null,
    sources,
  };
}
