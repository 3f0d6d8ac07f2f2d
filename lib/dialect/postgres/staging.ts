/**
 * Staging on PostgreSQL, whose COPY cannot read S3 or JSON: this tool does
 * what Redshift's COPY … FORMAT AS JSON does. It lists every object under
 * each source, maps the JSON records with the JSONPaths file (or 'auto') and
 * streams the rows into COPY FROM STDIN (staging/), both staging tables in
 * one transaction.
 */
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { isS3Uri } from '../../config/validate.ts';
import { DEFAULT_SCHEMA } from '../../config/config.ts';
import { transaction, type Connection } from '../../db/connection.ts';
import { ConfigError, type RecordProblem } from '../../errors.ts';
import { LEDGER_COLUMNS, LEDGER_TABLE, newOrChanged, type LedgerRow } from '../../load/ledger.ts';
import type { StagingStep, StepReport } from '../../load/steps.ts';
import { readJsonMapping } from '../../sources/json-mapping-file.ts';
import { createSourceReader } from '../../sources/source-objects.ts';
import { bothChecked, checkMappedColumns, forEachStep, listSource } from '../../load/stage-checks.ts';
import type { StagingStrategy } from '../staging.ts';
import { postgresDialect } from './dialect.ts';
import { copyIntoTable } from './staging/copy-from-stdin.ts';
import { escapeText, type StagingColumn, type StagingType } from './staging/copy-row.ts';

const since = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9;
const LEDGER_BATCH = 500;
/** Ledger rows of one run from which the ledger is analyzed after they are copied. */
const LEDGER_ANALYZE_FROM = 1000;

const CATALOG_TYPES: Record<string, StagingType> = {
  'character varying': 'varchar',
  smallint: 'smallint',
  integer: 'integer',
  bigint: 'bigint',
  'double precision': 'double',
  'timestamp without time zone': 'timestamp',
  boolean: 'boolean',
};

/** The step's COPY columns with their types from the catalog of the warehouse schema (the migrations are the source of truth). */
export async function stagingColumns(conn: Connection, step: StagingStep, schema: string = DEFAULT_SCHEMA): Promise<StagingColumn[]> {
  const table = step.table;
  const { rows } = await conn.query<{ column_name: string; data_type: string; character_maximum_length: number | null }>(
    `SELECT column_name, data_type, character_maximum_length
FROM information_schema.columns
WHERE table_schema = $1 AND table_name = $2
ORDER BY ordinal_position`,
    [schema, table],
  );
  if (rows.length === 0) throw new ConfigError([`table ${table} does not exist${schema === DEFAULT_SCHEMA ? '' : ` in schema ${schema}`}: run \`npm run migrate up\` first`]);
  return step.columns.map((name) => {
    const r = rows.find((row) => row.column_name === name);
    if (!r) throw new ConfigError([`${table}.${name} does not exist: run \`npm run migrate up\``]);
    const type = CATALOG_TYPES[r.data_type];
    if (!type) throw new Error(`${table}.${name}: staging does not support the type ${r.data_type}`);
    return { name, type, bytes: r.character_maximum_length ?? undefined, epochMs: step.epochMsColumns?.includes(name) ?? false };
  });
}

export const postgresStaging: StagingStrategy = {
  async stage(conn, steps, ctx) {
    const reader = ctx.reader ?? createSourceReader(ctx.config.region, ctx.config.s3MaxConcurrency);
    // Every source and mapping checked before anything is replaced, every problem reported at once.
    const prepared = await forEachStep(steps, async (step) => {
      const columns = await stagingColumns(conn, step, ctx.config.schema);
      const source = step.source(ctx.config.sources);
      const format = step.format(ctx.config.sources);
      const readMapping = () => readJsonMapping(reader, format, columns.map((c) => c.name), step.settings.format);
      // A local JSONPaths file is checked even when the source is missing (every problem at once); one on S3 only
      // once the source was listed (a missing local folder must not first ask for AWS credentials).
      const [listed, mapping] = isS3Uri(format)
        ? [await listSource(reader, step, ctx), await readMapping()]
        : await bothChecked(listSource(reader, step, ctx), readMapping());
      const objects = ctx.incremental ? await newOrChanged(conn, step.table, listed) : listed;
      ctx.log.info(`Staging ${step.table}: ${ctx.incremental ? `${objects.length} new or changed of ${listed.length}` : objects.length} objects from ${source}`);
      return { step, columns, mapping, source, objects };
    });
    await ctx.faults.at('stage:listed');
    if (ctx.incremental && prepared.every((p) => p.objects.length === 0)) return { reports: [], objects: [], skipped: [] };
    const copyFromStdin = conn.copyFromStdin;
    if (!copyFromStdin) throw new Error('staging on PostgreSQL needs COPY FROM STDIN, which this connection does not have');
    const skipped: RecordProblem[] = [];
    return transaction(conn, async () => {
      const reports: StepReport[] = [];
      for (const p of prepared) {
        const start = process.hrtime.bigint();
        await conn.query(postgresDialect.clearTable(p.step.table));
        const result = await copyIntoTable(
          copyFromStdin,
          { table: p.step.table, columns: p.columns, source: p.source, mapping: p.mapping },
          { reader, maxErrors: ctx.maxErrors, objects: p.objects, onProgress: ctx.onProgress },
        );
        skipped.push(...result.skipped);
        await checkMappedColumns(conn, p.step, ctx, p.mapping, result.rows);
        await ctx.faults.at(`stage:${p.step.table}:copied`);
        reports.push({
          step: `stage ${p.step.table}`,
          table: p.step.table,
          rows: result.rows,
          seconds: since(start),
          detail: `${result.objects} objects, ${(result.bytes / 1024 / 1024).toFixed(1)} MB${result.skipped.length ? `, ${result.skipped.length} bad records skipped` : ''}`,
        });
      }
      await ctx.faults.at('stage:before-commit');
      return { reports, objects: prepared.map((p) => ({ table: p.step.table, objects: p.objects })), skipped };
    }, ctx.beforeCommit);
  },

  async plan(steps, ctx) {
    return steps.map((step) => [`-- COPY ${step.table} FROM STDIN: rows streamed by the loader from ${step.source(ctx.config.sources)}`, '']);
  },

  /** One COPY for every row (20k song files: a tenth of the time of multi-row INSERTs). */
  async insertLedgerRows(conn, rows) {
    const copyFromStdin = conn.copyFromStdin;
    if (!copyFromStdin) throw new Error('the ledger on PostgreSQL is written with COPY FROM STDIN, which this connection does not have');
    const { rows: now } = await conn.query<{ now: string }>(`SELECT CAST(CAST(NOW() AS TIMESTAMP) AS VARCHAR) AS now`);
    const recordedAt = escapeText(String(now[0]?.now ?? ''));
    const lines = function* () {
      for (let i = 0; i < rows.length; i += LEDGER_BATCH) {
        yield rows
          .slice(i, i + LEDGER_BATCH)
          .map(({ table, object: o, runId }: LedgerRow) => `${escapeText(table)}\t${escapeText(o.uri)}\t${o.size}\t${escapeText(o.version)}\t${escapeText(runId)}\tloaded\t${recordedAt}\n`)
          .join('');
      }
    };
    await pipeline(Readable.from(lines()), copyFromStdin(`COPY ${LEDGER_TABLE} (${LEDGER_COLUMNS}) FROM STDIN`));
    // Statistics that count the rows just copied (ANALYZE in the same transaction counts them as
    // live): recordLoaded's next DELETE joins them with the older records. With the statistics of
    // the last autoanalyze, which had never seen this run's id, the planner expected one row of
    // it and chose a nested loop that ran for more than ten minutes on a re-run of 100k song
    // files (`npm run bench`, size files, 2026-12-02); with them, a hash join of 0.2 s. A run of
    // a few objects is looked up fine either way and does not pay for the sample.
    if (rows.length >= LEDGER_ANALYZE_FROM) await conn.query(`ANALYZE ${LEDGER_TABLE}`);
  },
};
