/**
 * A load as OpenLineage run events (spec 2-0-2, https://openlineage.io/spec/2-0-2/OpenLineage.json):
 * START before it, COMPLETE, FAIL or ABORT after. Inputs: the sources (the S3 prefix
 * or local folder of each staging table) with the JSON keys read as their
 * schema and, once read, `inputStatistics` (objects, bytes, records) and
 * `version`: a SHA-256 over the sorted list of the objects read (URI, size,
 * ETag or mtime), so 385,000 objects make one 71-character value, not a list.
 * Outputs: the staging and star tables with their `schema` (the migrations'
 * table definitions) and `columnLineage` (lib/lineage/column-lineage.ts).
 * Pure: building an event reads and sends nothing.
 */
import { createHash } from 'node:crypto';
import type { ColumnType, TableDef } from '../dialect/table-def.ts';
import type { JsonMapping } from '../sources/json-mapping.ts';
import { uriAt, type SourceObjects } from '../sources/source-object.ts';
import type { StagingStep, TransformStep } from '../load/steps.ts';
import {
  jsonKeysOf,
  sourceDataset,
  stagingLineage,
  transformLineage,
  type FieldSource,
  type TableLineage,
} from './column-lineage.ts';
import { sourceDatasetName, tableDatasetName, type DatasetName } from './datasets.ts';

const SPEC = 'https://openlineage.io/spec';
export const RUN_EVENT_SCHEMA_URL = `${SPEC}/2-0-2/OpenLineage.json#/$defs/RunEvent`;
/** Each facet's schema, as its _schemaURL names it (the files are in test/support/openlineage/). */
export const FACET_SCHEMAS = {
  schema: `${SPEC}/facets/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet`,
  columnLineage: `${SPEC}/facets/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet`,
  version: `${SPEC}/facets/1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet`,
  inputStatistics: `${SPEC}/facets/1-0-0/InputStatisticsInputDatasetFacet.json#/$defs/InputStatisticsInputDatasetFacet`,
  errorMessage: `${SPEC}/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet`,
} as const;

export type EventType = 'START' | 'COMPLETE' | 'FAIL' | 'ABORT';

/** What a load's events describe (the same for its START and its end). */
export interface LineagePlan {
  /** URI of this tool and version (the events' producer). */
  readonly producer: string;
  readonly job: { readonly namespace: string; readonly name: string };
  /** The OpenLineage run id (a UUID). */
  readonly runId: string;
  /** The staging steps that run, each with its source setting and its mapping (undefined: it could not be read). */
  readonly staging: readonly {
    readonly step: StagingStep;
    readonly uri: string;
    readonly mapping: JsonMapping | undefined;
  }[];
  readonly transforms: readonly TransformStep[];
  /** Where the tables are (lib/lineage/datasets.ts warehouseNamespace) and their schema. */
  readonly warehouse: DatasetName;
  readonly schema: string;
  /** The tables' definitions (the migrations'): their columns become the schema facets. */
  readonly tableDefs: readonly TableDef[];
}

/** What a finished load read, per staging table. */
export interface LineageRead {
  readonly table: string;
  readonly objects: SourceObjects;
  /** Rows staged from them. */
  readonly rows: number | undefined;
}

type Facet = Record<string, unknown> & { _producer: string; _schemaURL: string };

export interface RunEvent {
  readonly eventType: EventType;
  readonly eventTime: string;
  readonly producer: string;
  readonly schemaURL: string;
  readonly run: { readonly runId: string; readonly facets?: Record<string, Facet> };
  readonly job: { readonly namespace: string; readonly name: string };
  readonly inputs: readonly Dataset[];
  readonly outputs: readonly Dataset[];
}

interface Dataset extends DatasetName {
  readonly facets: Record<string, Facet>;
  readonly inputFacets?: Record<string, Facet>;
}

/** The SQL type of a column as the migrations define it. */
export function columnTypeName(type: ColumnType): string {
  if (type.kind === 'varchar') return `VARCHAR(${type.bytes})`;
  return type.kind === 'double' ? 'DOUBLE PRECISION' : type.kind.toUpperCase();
}

function totalSize(objects: SourceObjects): number {
  let n = 0;
  for (const o of objects) n += o.size;
  return n;
}

/**
 * SHA-256 over the objects read, sorted by URI: one line `uri TAB size TAB
 * version` each. A listing is almost always in that order already (S3's, a
 * folder walked name by name): then it is hashed as it is read, one object at
 * a time. Otherwise the positions (4 bytes each), not the objects, are sorted,
 * comparing URIs alone where the listing gives them (`uriAt`): making whole
 * objects for each comparison took 34 s for 1M local files, URIs alone
 * 6.5 s (the same machine and load, one after the other).
 */
export function objectsDigest(objects: SourceObjects): string {
  const hash = createHash('sha256');
  const line = (o: { uri: string; size: number; version: string }) => `${o.uri}\t${o.size}\t${o.version}\n`;
  const uri = (i: number) => uriAt(objects, i) as string;
  if (inUriOrder(objects.length, uri)) {
    for (const o of objects) hash.update(line(o));
  } else {
    const order = Uint32Array.from({ length: objects.length }, (_, i) => i).sort((a, b) => {
      const ua = uri(a);
      const ub = uri(b);
      return ua < ub ? -1 : ua > ub ? 1 : 0;
    });
    for (const i of order) hash.update(line(objects.at(i) as { uri: string; size: number; version: string }));
  }
  return `sha256:${hash.digest('hex')}`;
}

function inUriOrder(length: number, uri: (i: number) => string): boolean {
  let previous = length > 0 ? uri(0) : '';
  for (let i = 1; i < length; i += 1) {
    const next = uri(i);
    if (next < previous) return false;
    previous = next;
  }
  return true;
}

/** Every output table's column lineage: staging (from the mappings that were read) and star tables. */
export function tableLineages(plan: Pick<LineagePlan, 'staging' | 'transforms'>): TableLineage[] {
  return [
    ...plan.staging.flatMap(({ step, mapping }) => (mapping ? [stagingLineage(step, mapping)] : [])),
    ...plan.transforms.map(transformLineage),
  ];
}

export function runEvent(
  plan: LineagePlan,
  eventType: EventType,
  options: { readonly now?: Date; readonly read?: readonly LineageRead[]; readonly error?: string } = {},
): RunEvent {
  const facet = (schemaURL: string, body: Record<string, unknown>): Facet => ({
    _producer: plan.producer,
    _schemaURL: schemaURL,
    ...body,
  });
  const datasetOf = (logical: string): DatasetName => {
    const staged = plan.staging.find((s) => sourceDataset(s.step.table) === logical);
    return staged ? sourceDatasetName(staged.uri) : tableDatasetName(plan.warehouse, plan.schema, logical);
  };
  const inputField = (s: FieldSource) => ({
    ...datasetOf(s.dataset),
    field: s.field,
    transformations: [{ type: s.type, ...(s.description ? { description: s.description } : {}) }],
  });
  const inputs: Dataset[] = plan.staging.map(({ step, uri, mapping }) => {
    const read = options.read?.find((r) => r.table === step.table);
    const facets: Record<string, Facet> = {};
    if (mapping)
      facets['schema'] = facet(FACET_SCHEMAS.schema, {
        fields: jsonKeysOf(step, mapping).map((name) => ({ name })),
      });
    if (read && read.objects.length > 0)
      facets['version'] = facet(FACET_SCHEMAS.version, { datasetVersion: objectsDigest(read.objects) });
    return {
      ...sourceDatasetName(uri),
      facets,
      ...(read
        ? {
            inputFacets: {
              inputStatistics: facet(FACET_SCHEMAS.inputStatistics, {
                fileCount: read.objects.length,
                size: totalSize(read.objects),
                ...(read.rows !== undefined ? { rowCount: read.rows } : {}),
              }),
            },
          }
        : {}),
    };
  });
  const lineages = new Map(tableLineages(plan).map((l) => [l.table, l]));
  const schemaFacet = (table: string): Record<string, Facet> => {
    const def = plan.tableDefs.find((d) => d.name === table);
    if (!def) return {};
    return {
      schema: facet(FACET_SCHEMAS.schema, {
        fields: def.columns.map((c, i) => ({ name: c.name, type: columnTypeName(c.type), ordinal_position: i + 1 })),
      }),
    };
  };
  const written = [...plan.staging.map((s) => s.step.table), ...plan.transforms.map((t) => t.table)];
  // Tables read but not written by this run (--only transform reads staging; songplays reads songs): inputs too.
  const read = [...lineages.values()]
    .flatMap((l) => [...Object.values(l.fields).flat(), ...l.rows].map((f) => f.dataset))
    .filter((d, i, all) => !d.startsWith('source:') && !written.includes(d) && all.indexOf(d) === i);
  inputs.push(
    ...read.map((table) => ({ ...tableDatasetName(plan.warehouse, plan.schema, table), facets: schemaFacet(table) })),
  );
  const outputs: Dataset[] = written.map((table) => {
    const facets: Record<string, Facet> = schemaFacet(table);
    const lineage = lineages.get(table);
    if (lineage)
      facets['columnLineage'] = facet(FACET_SCHEMAS.columnLineage, {
        fields: Object.fromEntries(
          Object.entries(lineage.fields).map(([column, sources]) => [column, { inputFields: sources.map(inputField) }]),
        ),
        ...(lineage.rows.length > 0 ? { dataset: lineage.rows.map(inputField) } : {}),
      });
    return { ...tableDatasetName(plan.warehouse, plan.schema, table), facets };
  });
  return {
    eventType,
    eventTime: (options.now ?? new Date()).toISOString(),
    producer: plan.producer,
    schemaURL: RUN_EVENT_SCHEMA_URL,
    run: {
      runId: plan.runId,
      ...(options.error !== undefined
        ? {
            facets: {
              errorMessage: facet(FACET_SCHEMAS.errorMessage, {
                message: options.error,
                programmingLanguage: 'TypeScript',
              }),
            },
          }
        : {}),
    },
    job: plan.job,
    inputs,
    outputs,
  };
}
