/**
 * A load with its OpenLineage run events (issue 31): START before it,
 * COMPLETE with what it read after it, or FAIL with the error (ABORT when a
 * signal stopped it). The events go
 * to --lineage-file and to OPENLINEAGE_URL (lib/lineage/sinks.ts); neither
 * is required, and a sink that fails (an endpoint down, slow or refusing)
 * is a warning on stderr: the load goes on and its outcome is its own.
 */
import { createHash } from 'node:crypto';
import { DEFAULT_LINEAGE_NAMESPACE, type Config } from '../config/config.ts';
import type { TableDef } from '../dialect/table-def.ts';
import { InterruptedError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { Secrets } from '../redact.ts';
import { readJsonMapping } from '../sources/json-mapping-file.ts';
import { sourceReaderFor, type SourceReader } from '../sources/source-objects.ts';
import { toolVersion } from '../version.ts';
import type { LoadRun } from '../load/run-record.ts';
import type { LoadReport } from '../load/runner.ts';
import { selectSteps, type Pipeline } from '../load/steps.ts';
import { migratedTableDefs } from '../report/page/schema-model.ts';
import { warehouseNamespace } from './datasets.ts';
import { runEvent, type EventType, type LineagePlan, type LineageRead } from './events.ts';
import { fileSink, httpSink, type LineageSink } from './sinks.ts';

export const PRODUCER_BASE = 'https://github.com/sparkify/sparkify-warehouse';
export const JOB_NAME = 'sparkify-warehouse.load';

export interface LineageOptions {
  readonly config: Config;
  readonly log: Logger;
  readonly pipeline: Pipeline;
  readonly only?: readonly string[] | undefined;
  readonly engine: 'postgres' | 'redshift';
  /** The run's record: the OpenLineage run id is derived from its run id. */
  readonly run: LoadRun;
  /** --lineage-file: JSON Lines, appended. */
  readonly file?: string | undefined;
  /** Reads the JSONPaths files (default: the settings' reader). */
  readonly reader?: SourceReader | undefined;
  /** Test seam: the table definitions (default: the migrations'). */
  readonly tableDefs?: readonly TableDef[] | undefined;
}

/** A name-based UUID (version 5, RFC 9562) of the load's run id: the same run, the same OpenLineage run id. */
export function lineageRunId(loadRunId: string): string {
  // The URL namespace of RFC 9562, appendix C.
  const namespace = Buffer.from('6ba7b8119dad11d180b400c04fd430c8', 'hex');
  const bytes = createHash('sha1')
    .update(Buffer.concat([namespace, Buffer.from(`${PRODUCER_BASE}/load_runs/${loadRunId}`)]))
    .digest()
    .subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The sinks the settings and options name (none: no events). */
export function lineageSinks(config: Config, file: string | undefined): LineageSink[] {
  return [...(file ? [fileSink(file)] : []), ...(config.lineage ? [httpSink(config.lineage)] : [])];
}

async function lineagePlan(opts: LineageOptions, warn: (m: string) => void): Promise<LineagePlan> {
  const { config } = opts;
  const { staging, transforms } = selectSteps(opts.pipeline, opts.only);
  const reader = opts.reader ?? sourceReaderFor(config);
  const mapped = await Promise.all(
    staging.map(async (step) => {
      const format = step.format(config.sources);
      const mapping = await readJsonMapping(reader, format, step.columns, step.settings.format).catch(
        (err: unknown) => {
          warn(`no column lineage for ${step.table}: its mapping could not be read (${(err as Error).message})`);
          return undefined;
        },
      );
      return { step, uri: step.source(config.sources), mapping };
    }),
  );
  const tableDefs =
    opts.tableDefs ??
    (await migratedTableDefs().catch((err: unknown) => {
      warn(`no schema facets: the migrations' table definitions could not be read (${(err as Error).message})`);
      return [];
    }));
  return {
    producer: `${PRODUCER_BASE}/tree/v${toolVersion()}`,
    job: { namespace: config.lineageNamespace ?? DEFAULT_LINEAGE_NAMESPACE, name: JOB_NAME },
    runId: lineageRunId(opts.run.runId),
    staging: mapped,
    transforms,
    warehouse: warehouseNamespace(config, opts.engine),
    schema: config.schema,
    tableDefs,
  };
}

/** Runs `load` between its START and its COMPLETE or FAIL events (no sink: just runs it). */
export async function withLineage(
  opts: LineageOptions,
  load: () => Promise<LoadReport>,
  sinks: readonly LineageSink[] = lineageSinks(opts.config, opts.file),
): Promise<LoadReport> {
  if (sinks.length === 0) return load();
  const secrets = new Secrets();
  secrets.add(...opts.config.secrets);
  const warn = (message: string) => opts.log.warn(`lineage: ${secrets.redact(message)}`);
  const emit = async (type: EventType, plan: LineagePlan, extra: { read?: LineageRead[]; error?: string }) => {
    const event = runEvent(plan, type, extra);
    await Promise.all(
      sinks.map((sink) =>
        sink.send(event).catch((err: unknown) => {
          warn(`the ${type} event was not written to ${sink.description}: ${(err as Error).message}; the load goes on`);
        }),
      ),
    );
  };
  let plan: LineagePlan | undefined;
  try {
    plan = await lineagePlan(opts, warn);
    await emit('START', plan, {});
  } catch (err) {
    warn(`no run events for this load: ${(err as Error).message}`);
    return load();
  }
  let report: LoadReport;
  try {
    report = await load();
  } catch (err) {
    // Stopped by a signal (SIGINT, SIGTERM): the run was aborted, not failed.
    await emit(err instanceof InterruptedError ? 'ABORT' : 'FAIL', plan, {
      error: secrets.redact((err as Error).message ?? String(err)),
    });
    throw err;
  }
  const read: LineageRead[] = report.objects.map((o) => ({
    table: o.table,
    objects: o.objects,
    rows: report.steps.find((s) => s.table === o.table)?.rows,
  }));
  await emit('COMPLETE', plan, { read });
  return report;
}
