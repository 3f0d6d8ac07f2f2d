// OpenLineage run events checked against the spec's JSON Schemas (vendored in
// test/support/openlineage/, Apache-2.0): the event against RunEvent, and each
// facet against its own facet schema (the core schema leaves facets open).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { RunEvent } from '../../lib/lineage/events.ts';

const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'support', 'openlineage');
const load = (file: string) => JSON.parse(readFileSync(path.join(DIR, file), 'utf8')) as Record<string, unknown>;

const ajv = new Ajv2020({ allErrors: true, strict: false });
// ajv-formats is CommonJS: its default export arrives as the module object under some loaders.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as unknown as (
  a: Ajv2020,
) => void;
addFormats(ajv);
ajv.addSchema(load('OpenLineage.json'));
const FACETS = {
  schema: 'SchemaDatasetFacet',
  columnLineage: 'ColumnLineageDatasetFacet',
  version: 'DatasetVersionDatasetFacet',
  inputStatistics: 'InputStatisticsInputDatasetFacet',
  errorMessage: 'ErrorMessageRunFacet',
} as const;
for (const name of Object.values(FACETS)) ajv.addSchema(load(`facets/${name}.json`));

const runEventSchema = ajv.getSchema('https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent');
if (!runEventSchema) throw new Error('OpenLineage.json has no RunEvent');
const facetValidators = new Map<string, ValidateFunction>(
  Object.entries(FACETS).map(([key, name]) => {
    const schema = load(`facets/${name}.json`) as { $id: string };
    const v = ajv.getSchema(schema.$id);
    if (!v) throw new Error(`no schema ${schema.$id}`);
    return [key, v];
  }),
);

/** Every problem with the event: none when it is valid (an unknown facet is a problem too). */
export function runEventProblems(event: unknown): string[] {
  const out: string[] = [];
  const report = (where: string, v: ValidateFunction) =>
    out.push(...(v.errors ?? []).map((e) => `${where}${e.instancePath} ${e.message ?? ''}`));
  if (!runEventSchema?.(event) && runEventSchema) report('event', runEventSchema);
  const e = event as RunEvent;
  const checkFacets = (where: string, facets: Record<string, unknown> | undefined) => {
    for (const [key, value] of Object.entries(facets ?? {})) {
      const v = facetValidators.get(key);
      if (!v) out.push(`${where}.${key}: a facet this test has no schema for`);
      else if (!v({ [key]: value })) report(`${where}.${key}`, v);
    }
  };
  checkFacets('run.facets', e.run?.facets);
  for (const d of [...(e.inputs ?? []), ...(e.outputs ?? [])]) {
    const ds = d as { name: string; facets?: Record<string, unknown>; inputFacets?: Record<string, unknown> };
    checkFacets(`${ds.name}.facets`, ds.facets);
    checkFacets(`${ds.name}.inputFacets`, ds.inputFacets);
  }
  return out;
}

type InputField = { namespace: string; name: string; field: string };

/**
 * The input fields a column of an output dataset reaches, followed through the
 * event's own column lineage (outputs that are inputs of other outputs): the
 * fields of datasets that are none of the event's outputs.
 */
export function reachedInputs(event: RunEvent, namespace: string, name: string, column: string): InputField[] {
  const outputs = new Map(event.outputs.map((o) => [`${o.namespace}\0${o.name}`, o]));
  const found = new Map<string, InputField>();
  const seen = new Set<string>();
  const walk = (ns: string, n: string, c: string) => {
    const id = `${ns}\0${n}\0${c}`;
    if (seen.has(id)) return;
    seen.add(id);
    const out = outputs.get(`${ns}\0${n}`);
    if (!out) {
      found.set(id, { namespace: ns, name: n, field: c });
      return;
    }
    const lineage = out.facets['columnLineage'] as
      | { fields: Record<string, { inputFields: InputField[] }> }
      | undefined;
    for (const f of lineage?.fields[c]?.inputFields ?? []) walk(f.namespace, f.name, f.field);
  };
  walk(namespace, name, column);
  return [...found.values()];
}
