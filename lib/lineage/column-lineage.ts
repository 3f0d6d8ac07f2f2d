/**
 * Column lineage, derived (never written by hand): each staging column from
 * the JSON key its mapping reads (the JSONPaths file, or 'auto': the key named
 * as the column), and each star column from the columns its step declares
 * (TransformStep.columnSources, checked against the step's SQL by
 * test/lineage-declarations.test.ts). Datasets are named logically here
 * (`source:staging_events` for the source a staging table is filled from, a
 * table's name otherwise); lib/lineage/events.ts gives them their OpenLineage
 * namespace and name.
 */
import type { JsonMapping, PathSegment } from '../sources/json-mapping.ts';
import type { StagingStep, TransformStep } from '../load/steps.ts';

/** One input field of a column: a logical dataset and its field. */
export interface FieldSource {
  readonly dataset: string;
  readonly field: string;
  /** DIRECT: the value comes from it; INDIRECT: it decides which rows there are (a generated key). */
  readonly type: 'DIRECT' | 'INDIRECT';
  readonly description?: string;
}

/** The lineage of one output dataset: each column's sources, and the fields that pick, join or order its rows. */
export interface TableLineage {
  readonly table: string;
  readonly fields: Readonly<Record<string, readonly FieldSource[]>>;
  readonly rows: readonly FieldSource[];
}

/** The logical name of the source a staging table is filled from. */
export const sourceDataset = (stagingTable: string) => `source:${stagingTable}`;

/** A JSONPath's segments as a field name: `userId`, `a.b`, `a[0]`. */
export function jsonField(segments: readonly PathSegment[]): string {
  return segments.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

/** The JSON key (field) each staging column reads, in column order. */
export function jsonKeysOf(step: StagingStep, mapping: JsonMapping): string[] {
  if (mapping.kind === 'paths') return mapping.paths.map(jsonField);
  return [...step.columns];
}

/** A staging table's lineage: each column from its JSON key. */
export function stagingLineage(step: StagingStep, mapping: JsonMapping): TableLineage {
  const keys = jsonKeysOf(step, mapping);
  const how =
    mapping.kind === 'paths'
      ? `COPY … JSON '${mapping.source}' (by position)`
      : `COPY … JSON 'auto${mapping.ignoreCase ? ' ignorecase' : ''}' (the key named as the column${mapping.ignoreCase ? ', any case' : ''})`;
  const fields: Record<string, FieldSource[]> = {};
  step.columns.forEach((column, i) => {
    fields[column] = [
      { dataset: sourceDataset(step.table), field: keys[i] ?? column, type: 'DIRECT', description: how },
    ];
  });
  return { table: step.table, fields, rows: [] };
}

const parseRef = (ref: string): { table: string; column: string } => {
  const dot = ref.indexOf('.');
  if (dot <= 0 || dot === ref.length - 1) throw new Error(`column source '${ref}': expected table.column`);
  return { table: ref.slice(0, dot), column: ref.slice(dot + 1) };
};

const fieldOf = (ref: string, type: FieldSource['type'], description?: string): FieldSource => {
  const { table, column } = parseRef(ref);
  return { dataset: table, field: column, type, ...(description ? { description } : {}) };
};

/**
 * A star table's lineage from its step's declaration; a generated surrogate
 * key depends (INDIRECT) on what its grain's columns come from.
 */
export function transformLineage(step: TransformStep): TableLineage {
  const declared = step.columnSources;
  const fields: Record<string, FieldSource[]> = {};
  for (const [column, refs] of Object.entries(declared.columns)) fields[column] = refs.map((r) => fieldOf(r, 'DIRECT'));
  const surrogate = step.surrogateKey;
  if (surrogate && !(surrogate in fields)) {
    const grain = [...new Set(step.key.flatMap((k) => declared.columns[k] ?? []))];
    const why = `generated key, one per (${step.key.join(', ')})`;
    fields[surrogate] = grain.map((r) => fieldOf(r, 'INDIRECT', why));
  }
  return { table: step.table, fields, rows: [...new Set(declared.rows)].map((r) => fieldOf(r, 'INDIRECT')) };
}

/**
 * The JSON keys a column's value comes from, followed through every table
 * between (DIRECT and generated-key links alike): `source:staging_events`'s
 * `ts` for songplays.start_time.
 */
export function jsonKeysReaching(
  lineages: readonly TableLineage[],
  table: string,
  column: string,
): { dataset: string; field: string }[] {
  const byTable = new Map(lineages.map((l) => [l.table, l]));
  const out = new Map<string, { dataset: string; field: string }>();
  const seen = new Set<string>();
  const walk = (t: string, c: string) => {
    const id = `${t}.${c}`;
    if (seen.has(id)) return;
    seen.add(id);
    for (const s of byTable.get(t)?.fields[c] ?? []) {
      if (s.dataset.startsWith('source:')) out.set(`${s.dataset}\0${s.field}`, { dataset: s.dataset, field: s.field });
      else walk(s.dataset, s.field);
    }
  };
  walk(table, column);
  return [...out.values()];
}
