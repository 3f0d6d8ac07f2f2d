/**
 * Staging on PostgreSQL, whose COPY cannot read S3 or JSON: this tool does
 * what Redshift's COPY … FORMAT AS JSON does. It lists every object under
 * each source, maps the JSON records with the JSONPaths file (or 'auto') and
 * streams the rows into COPY FROM STDIN (staging/), both staging tables in
 * one transaction.
 */
import { DEFAULT_SCHEMA } from '../../config/config.ts';
import { isS3Uri } from '../../config/s3-uri.ts';
import { transaction, type Connection } from '../../db/connection.ts';
import { ConfigError, naming, type RecordProblem, UnsupportedError } from '../../errors.ts';
import { mappingFingerprint, newOrChanged } from '../ledger.ts';
import type { StagingStep, StepReport } from '../step.ts';
import { readJsonMapping } from '../../sources/json-mapping-file.ts';
import { sourceReaderFor } from '../../sources/source-objects.ts';
import { bothChecked, checkMappedColumns, forEachStep, listSource, nonNullColumnsQuery } from '../checks.ts';
import { unexpectedAction, type StepPlan } from '../plan.ts';
import type { StagingContext, StagingStrategy } from '../strategy.ts';
import type { JsonMapping } from '../../sources/json-mapping.ts';
import type { SourceObjects, SourceReader } from '../../sources/source-objects.ts';
import { postgresDialect } from '../../dialect/postgres/dialect.ts';
import { copyIntoTable, type StageResult as CopyResult } from './copy-from-stdin.ts';
import type { StagingColumn, StagingType } from './copy-row.ts';
import { driftCounter, refuseStrictDrift } from '../drift.ts';
import type { DriftReport } from '../../sources/drift.ts';

const since = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9;

const CATALOG_TYPES: Record<string, StagingType> = {
  'character varying': 'varchar',
  smallint: 'smallint',
  integer: 'integer',
  bigint: 'bigint',
  'double precision': 'double',
  'timestamp without time zone': 'timestamp',
  boolean: 'boolean',
};

/**
 * The step's COPY columns with their types from the catalog (the migrations are the source of truth),
 * in the schema the connection selected (lib/db/schema.ts): the warehouse schema travels one road,
 * the Database that opened the connection.
 */
export async function stagingColumns(
  conn: Connection,
  step: Pick<StagingStep, 'table' | 'columns' | 'epochMsColumns'>,
): Promise<StagingColumn[]> {
  const table = step.table;
  const { rows } = await conn.query<{
    column_name: string;
    data_type: string;
    character_maximum_length: number | null;
    schema: string;
  }>(
    `SELECT column_name, data_type, character_maximum_length, current_schema() AS schema
FROM information_schema.columns
WHERE table_schema = current_schema() AND table_name = $1
ORDER BY ordinal_position`,
    [table],
  );
  if (rows.length === 0) {
    const { rows: current } = await conn.query<{ schema: string | null }>('SELECT current_schema() AS schema');
    const schema = current[0]?.schema ?? DEFAULT_SCHEMA;
    throw new ConfigError([
      `table ${table} does not exist${schema === DEFAULT_SCHEMA ? '' : ` in schema ${schema}`}: run \`npm run migrate up\` first`,
    ]);
  }
  return step.columns.map((name) => {
    const r = rows.find((row) => row.column_name === name);
    if (!r) throw new ConfigError([`${table}.${name} does not exist: run \`npm run migrate up\``]);
    const type = CATALOG_TYPES[r.data_type];
    if (!type)
      throw new UnsupportedError(
        `${table}.${name}: staging does not support the type ${r.data_type} (a migration gave it a type staging cannot fill)`,
      );
    return {
      name,
      type,
      bytes: r.character_maximum_length ?? undefined,
      epochMs: step.epochMsColumns?.includes(name) ?? false,
    };
  });
}

/** The actions of one step: the same for the dry run and the run (which knows the objects). */
function stepPlan(step: StagingStep, ctx: StagingContext): StepPlan {
  const source = step.source(ctx.config.sources);
  return {
    step,
    source,
    format: step.format(ctx.config.sources),
    actions: [
      { kind: 'sql', sql: postgresDialect.clearTable(step.table) },
      { kind: 'copy-from-stdin', table: step.table, source },
      {
        kind: 'check',
        check: { rule: 'mapped-columns' },
        note: 'a column NULL in every staged row warns (--strict: fails the stage), naming its JSON mapping',
        sql: nonNullColumnsQuery(step),
      },
    ],
  };
}

interface Prepared {
  readonly step: StagingStep;
  readonly columns: StagingColumn[];
  readonly mapping: JsonMapping;
  /** mappingFingerprint of `mapping` (the ledger's). */
  readonly fingerprint: string;
  readonly source: string;
  readonly objects: SourceObjects;
}

/** Runs one step's plan in the staging transaction. */
async function runStepPlan(
  conn: Connection,
  copyFromStdin: NonNullable<Connection['copyFromStdin']>,
  p: Prepared,
  ctx: StagingContext,
  reader: SourceReader,
): Promise<{ report: StepReport; skipped: readonly RecordProblem[]; drift: DriftReport }> {
  const start = process.hrtime.bigint();
  let copied: CopyResult | undefined;
  const drift = driftCounter(p.step, ctx, p.mapping);
  for (const action of stepPlan(p.step, ctx).actions) {
    switch (action.kind) {
      case 'sql':
        await naming({ step: `stage ${p.step.table}`, file: p.step.file, statement: action.sql }, () =>
          conn.query(action.sql),
        );
        break;
      case 'copy-from-stdin':
        copied = await copyIntoTable(
          copyFromStdin,
          { table: p.step.table, columns: p.columns, source: p.source, mapping: p.mapping, observer: drift },
          { reader, maxErrors: ctx.maxErrors, objects: p.objects, onProgress: ctx.onProgress },
        );
        break;
      case 'check':
        await checkMappedColumns(conn, p.step, ctx, p.mapping, copied?.rows);
        break;
      default:
        throw unexpectedAction('PostgreSQL', action);
    }
  }
  if (!copied) throw new Error(`PostgreSQL staging: the plan of ${p.step.table} has no COPY FROM STDIN`);
  await ctx.faults.at(`stage:${p.step.table}:copied`);
  const report = {
    step: `stage ${p.step.table}`,
    table: p.step.table,
    rows: copied.rows,
    seconds: since(start),
    detail: `${copied.objects} objects, ${(copied.bytes / 1024 / 1024).toFixed(1)} MB${copied.skipped.length ? `, ${copied.skipped.length} bad records skipped` : ''}`,
  };
  return { report, skipped: copied.skipped, drift: drift.report(p.objects.length) };
}

export const postgresStaging: StagingStrategy = {
  async plan(steps, ctx) {
    return { steps: steps.map((step) => stepPlan(step, ctx)) };
  },

  async stage(conn, steps, ctx) {
    const reader = ctx.reader ?? sourceReaderFor(ctx.config, { signal: ctx.signal, warn: (m) => ctx.log.warn(m) });
    // Every source and mapping checked before anything is replaced, every problem reported at once.
    const prepared: Prepared[] = await forEachStep(steps, async (step) => {
      const columns = await stagingColumns(conn, step);
      const source = step.source(ctx.config.sources);
      const format = step.format(ctx.config.sources);
      const readMapping = () =>
        readJsonMapping(
          reader,
          format,
          columns.map((c) => c.name),
          step.settings.format,
        );
      // A local JSONPaths file is checked even when the source is missing (every problem at once); one on S3 only
      // once the source was listed (a missing local folder must not first ask for AWS credentials).
      const [listed, mapping] = isS3Uri(format)
        ? [await listSource(reader, step, ctx), await readMapping()]
        : await bothChecked(listSource(reader, step, ctx), readMapping());
      const fingerprint = mappingFingerprint(mapping, step.columns);
      const objects = ctx.incremental ? await newOrChanged(conn, 'postgres', step.table, listed, fingerprint) : listed;
      ctx.log.info(
        `Staging ${step.table}: ${ctx.incremental ? `${objects.length} new or changed of ${listed.length}` : objects.length} objects from ${source}`,
      );
      return { step, columns, mapping, fingerprint, source, objects };
    });
    await ctx.faults.at('stage:listed');
    if (ctx.incremental && prepared.every((p) => p.objects.length === 0))
      return { reports: [], objects: [], skipped: [] };
    const copyFromStdin = conn.copyFromStdin;
    if (!copyFromStdin)
      throw new Error('staging on PostgreSQL needs COPY FROM STDIN, which this connection does not have');
    return transaction(
      conn,
      async () => {
        const reports: StepReport[] = [];
        const skipped: RecordProblem[] = [];
        const drift: DriftReport[] = [];
        for (const p of prepared) {
          const done = await runStepPlan(conn, copyFromStdin, p, ctx, reader);
          reports.push(done.report);
          skipped.push(...done.skipped);
          drift.push(done.drift);
        }
        refuseStrictDrift(drift, ctx);
        await ctx.faults.at('stage:before-commit');
        return {
          reports,
          objects: prepared.map((p) => ({ table: p.step.table, objects: p.objects, mapping: p.fingerprint })),
          skipped,
          drift,
        };
      },
      ctx.beforeCommit,
    );
  },
};
