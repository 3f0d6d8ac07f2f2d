/**
 * Schema drift while staging (lib/sources/drift.ts counts): a counter per
 * staging step, and what --strict makes of the findings. PostgreSQL feeds the
 * counter from the conversion itself (every record, once); Redshift, whose
 * COPY reads S3 itself, from a bounded sample of the objects listed
 * (DRIFT_SAMPLE: up to 200 objects spread over the listing, 64 MB at most),
 * read before anything is replaced. The findings are reported after the load
 * (lib/load/runner.ts), under --strict they refuse the staging instead.
 */
import { InputError } from '../errors.ts';
import {
  DriftCounter,
  describeDrift,
  isStrictDrift,
  profileObjects,
  sampleObjects,
  type DriftReport,
} from '../sources/drift.ts';
import type { JsonMapping } from '../sources/json-mapping.ts';
import { readJsonMapping } from '../sources/json-mapping-file.ts';
import type { Sources } from '../config/config.ts';
import type { SourceObject, SourceObjects, SourceReader } from '../sources/source-objects.ts';
import type { StagingStep } from './step.ts';
import type { StagingContext } from './strategy.ts';

/**
 * A counter for one step's source. `objects`: a sample, whose order ranks
 * what comes first; without it the converter says each object's place as it
 * opens it (RecordObserver.objectOpened), so no lookup of every listed object
 * is built (issue 26: memory bounded by the batch, not the object count).
 */
export function driftCounter(
  step: StagingStep,
  ctx: Pick<StagingContext, 'config' | 'driftThreshold'>,
  mapping: JsonMapping,
  objects: readonly SourceObject[] = [],
): DriftCounter {
  return new DriftCounter(
    step.table,
    step.source(ctx.config.sources),
    mapping,
    step.columns,
    step.varcharColumns ?? [],
    ctx.driftThreshold,
    objects,
  );
}

/** The drift of a sample of `objects` (the Redshift path). */
export async function sampleDrift(
  reader: SourceReader,
  step: StagingStep,
  ctx: Pick<StagingContext, 'config' | 'driftThreshold' | 'log'>,
  mapping: JsonMapping,
  objects: SourceObjects,
): Promise<DriftReport> {
  const sample = sampleObjects(objects);
  const counter = driftCounter(step, ctx, mapping, sample);
  ctx.log.info(`Profiling ${step.table}'s keys: a sample of ${sample.length} of ${objects.length} objects`);
  await profileObjects(reader, sample, counter);
  return counter.report(objects.length);
}

/** --strict: new keys or changed types are bad input (thrown before the staging commits: nothing is). */
export function refuseStrictDrift(reports: readonly DriftReport[], ctx: Pick<StagingContext, 'strict'>): void {
  if (!ctx.strict) return;
  const refused = reports.filter(isStrictDrift);
  if (refused.length === 0) return;
  const lines = refused.flatMap((r) => describeDrift({ ...r, missingKeys: [] }));
  throw new InputError(
    `the sources' keys drifted:\n${lines.map((l) => `  - ${l}`).join('\n')}\n--strict: nothing was staged; map the new keys (JSONPaths) or fix the data`,
    refused.flatMap((r) => [
      ...r.newKeys.map((k) => ({ ...k.first, field: k.key, reason: 'a key no column maps (new key)' })),
      ...r.typeChanges.flatMap((c) =>
        Object.entries(c.types).map(([t, v]) => ({ ...v.first, field: c.key, reason: `the key's type changes: ${t}` })),
      ),
    ]),
  );
}

/**
 * `sources`: the per-key profile of each step's source without loading (the
 * same sample as the Redshift path); the objects listed and the mapping read
 * as staging reads them.
 */
export async function profileSources(
  reader: SourceReader,
  steps: readonly StagingStep[],
  sources: Sources,
  driftThreshold: number | undefined,
): Promise<DriftReport[]> {
  const out: DriftReport[] = [];
  for (const step of steps) {
    const objects = await reader.list(step.source(sources));
    const mapping = await readJsonMapping(reader, step.format(sources), step.columns, step.settings.format);
    const sample = sampleObjects(objects);
    const counter = new DriftCounter(
      step.table,
      step.source(sources),
      mapping,
      step.columns,
      step.varcharColumns ?? [],
      driftThreshold,
      sample,
    );
    await profileObjects(reader, sample, counter);
    out.push(counter.report(objects.length));
  }
  return out;
}
