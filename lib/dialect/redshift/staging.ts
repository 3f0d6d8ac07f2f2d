/**
 * Staging on Redshift: one COPY per source, which Redshift runs in parallel
 * over every object itself; both staging tables replaced in one transaction
 * (DELETE, since Redshift's TRUNCATE commits). Incremental loads list the new
 * objects and COPY them from a manifest. A failed COPY is reported from the
 * load-error system tables, and so are the records a successful COPY skipped
 * under --max-errors (load-errors.ts). After each COPY, in the same
 * transaction: trailing blanks dropped (trailing-blanks.ts), ts range checked
 * (epoch-check.ts), statistics updated (analyzeStatement).
 */
import { ConfigError, InputError, describeProblem, type RecordProblem } from '../../errors.ts';
import { transaction, type Connection } from '../../db/connection.ts';
import { LEDGER_COLUMNS, LEDGER_TABLE, newOrChanged, type LedgerRow } from '../../load/ledger.ts';
import type { StagingStep, StepReport } from '../../load/steps.ts';
import { autoMapping, type JsonMapping } from '../../sources/json-mapping.ts';
import { readJsonMapping } from '../../sources/json-mapping-file.ts';
import { createSourceReader, type SourceObject, type SourceReader } from '../../sources/source-objects.ts';
import type { StagedObjects, StagingContext, StagingStrategy } from '../staging.ts';
import { renderCopy, type CopyAuth } from './copy.ts';
import { redshiftDialect } from './dialect.ts';
import { describeOutOfRange, epochMsChecks } from './epoch-check.ts';
import { copyIdOf, hasStlLoadErrors, LAST_COPY_ID, readLoadErrors } from './load-errors.ts';
import { checkManifestRegion, writeManifest } from './manifest.ts';
import { trimBlanksStatement } from './trailing-blanks.ts';
import { checkMappedColumns, listSource, nullColumnsQuery } from '../../load/stage-checks.ts';

const since = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9;
const LEDGER_BATCH = 500;

async function copyAuth(ctx: StagingContext): Promise<CopyAuth> {
  if (ctx.config.iamRoleArn) return { kind: 'role', arn: ctx.config.iamRoleArn };
  const resolve =
    ctx.credentials ??
    (async () => {
      // Imported when needed only: the AWS SDK is slow to load and most runs never use it here.
      const { fromNodeProviderChain } = await import('@aws-sdk/credential-providers');
      return fromNodeProviderChain()();
    });
  let creds;
  try {
    creds = await resolve();
  } catch (err) {
    throw new ConfigError([`IAM_ROLE_ARN is not set and no AWS credentials were found for COPY (${(err as Error).message}); set IAM_ROLE_ARN or configure the AWS default credential chain`]);
  }
  ctx.log.secret(creds.accessKeyId, creds.secretAccessKey, creds.sessionToken);
  return { kind: 'keys', accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey, sessionToken: creds.sessionToken };
}

/** A dry run on a machine without credentials shows where they go; a real run resolves them. */
async function dryRunAuth(ctx: StagingContext): Promise<CopyAuth> {
  try {
    return await copyAuth(ctx);
  } catch {
    return { kind: 'keys', accessKeyId: 'RESOLVED-AT-RUN-TIME', secretAccessKey: 'RESOLVED-AT-RUN-TIME', sessionToken: 'RESOLVED-AT-RUN-TIME' };
  }
}

/** The step's COPY, from its source prefix or from a manifest of the objects to load. */
function copyFor(step: StagingStep, ctx: StagingContext, auth: CopyAuth, manifestUri?: string): string {
  const sources = ctx.config.sources;
  return renderCopy({
    table: step.table,
    columns: step.columns,
    source: manifestUri ?? step.source(sources),
    manifest: manifestUri !== undefined,
    format: step.format(sources),
    region: ctx.config.region,
    auth,
    maxErrors: ctx.maxErrors,
  });
}

interface Manifest {
  readonly uri: string;
  readonly objects: SourceObject[];
}

/** Incremental staging: the new objects of each step, listed by the tool and written to a manifest (null: none new). */
async function manifests(conn: Connection, steps: readonly StagingStep[], ctx: StagingContext, reader: SourceReader): Promise<Map<string, Manifest | null>> {
  const prefix = ctx.config.manifestPrefix;
  if (!prefix) throw new ConfigError(['LOAD_MANIFEST_PREFIX: an incremental load on Redshift writes a COPY manifest of the new objects there (s3://bucket/prefix/)']);
  await checkManifestRegion(ctx.config.region, prefix, ctx.log);
  const out = new Map<string, Manifest | null>();
  for (const step of steps) {
    const fresh = await newOrChanged(conn, step.table, await listSource(reader, step, ctx));
    ctx.log.info(`Staging ${step.table}: ${fresh.length} new or changed objects`);
    out.set(step.table, fresh.length === 0 ? null : { uri: await writeManifest(ctx.config.region, prefix, `${ctx.runId}-${step.table}.manifest`, fresh), objects: fresh });
  }
  return out;
}

/**
 * The staged rows whose ts no TIMESTAMP holds (epoch-check.ts) fail the
 * staging transaction, or are deleted under --max-errors when no more than N.
 * Returns how many were deleted.
 */
async function checkEpochMs(conn: Connection, step: StagingStep, ctx: StagingContext, skippedByCopy: number): Promise<number> {
  let removed = 0;
  for (const check of epochMsChecks(step)) {
    const { rows } = await conn.query<{ out_of_range: string; lowest: string; highest: string }>(check.count);
    const problem = describeOutOfRange(check, rows[0]);
    if (!problem) continue;
    const n = Number(rows[0]?.out_of_range);
    // One budget per staging table, as on PostgreSQL: the records the COPY skipped count too.
    if (skippedByCopy + removed + n > ctx.maxErrors) {
      const also = skippedByCopy + removed > 0 ? ` (besides ${skippedByCopy + removed} bad record(s) already skipped in ${step.table})` : '';
      throw new InputError(`${problem}${also}; Redshift's COPY keeps no file or line for a staged row: find them in the source by value, or skip them with --max-errors ${skippedByCopy + removed + n}`);
    }
    await conn.query(check.remove);
    ctx.log.warn(`${problem}: skipped (--max-errors)`);
    removed += n;
  }
  return removed;
}

/**
 * A JSONPaths file is read and checked as the PostgreSQL path checks it
 * (lib/sources/json-mapping-file.ts) before any COPY: Redshift's COPY takes a
 * file whose top key is not "jsonpaths" as 'auto' without an error (and
 * Sparkify's camelCase keys then load as NULL), and maps a mis-ordered file by
 * position (Amazon Redshift Database Developer Guide, COPY data format
 * parameters, https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-data-format.html).
 * COPY reads it with the cluster's IAM role; this machine may have no AWS
 * credentials at all: then the load says that it could not check the file
 * and goes on (a file it can read and finds wrong fails the load).
 */
async function checkJsonPaths(reader: SourceReader, steps: readonly StagingStep[], ctx: StagingContext): Promise<Map<string, JsonMapping>> {
  const out = new Map<string, JsonMapping>();
  for (const step of steps) {
    const format = step.format(ctx.config.sources);
    if (!autoMapping(format)) {
      try {
        await reader.list(format);
      } catch (err) {
        ctx.log.warn(
          `${step.settings.format ?? 'the JSON mapping'}: JSONPaths file ${format}: not checked before the COPY, it cannot be read here (${(err as Error).message}); a file whose top key is not "jsonpaths" would load NULLs without an error: check it with \`npm run sources\` where it can be read`,
        );
        continue;
      }
    }
    out.set(step.table, await readJsonMapping(reader, format, step.columns, step.settings.format));
  }
  return out;
}

/**
 * A full load lists the objects under each prefix (what COPY reads: every key
 * that starts with it), for the ledger, so that a later --incremental load
 * stages only what is new. Without the right to list (no credentials here, or
 * no s3:ListBucket), the load goes on and says that nothing is recorded.
 */
async function listForLedger(reader: SourceReader, steps: readonly StagingStep[], ctx: StagingContext): Promise<Map<string, SourceObject[]>> {
  const out = new Map<string, SourceObject[]>();
  for (const step of steps) {
    const source = step.source(ctx.config.sources);
    try {
      out.set(step.table, await reader.list(source));
    } catch (err) {
      ctx.log.warn(`${step.table}: the objects of ${source} could not be listed (${(err as Error).message}), so this load records none in load_ledger: the next --incremental load stages them all again`);
    }
  }
  return out;
}

/**
 * Statistics of the freshly replaced staging table, for the transforms: the
 * COPY runs with STATUPDATE OFF and this ANALYZE runs once the rows are final
 * (trailing blanks dropped, ts out of range deleted), on the columns the
 * transforms filter, join and group on only (the step's predicateColumns;
 * the wide text columns cost the most to analyze) (Amazon Redshift Database
 * Developer Guide, ANALYZE, https://docs.aws.amazon.com/redshift/latest/dg/r_ANALYZE.html).
 * The table was emptied first, so the analyze threshold
 * (analyze_threshold_percent, 10% of rows changed) never skips it.
 */
export function analyzeStatement(step: StagingStep): string {
  const columns = step.predicateColumns ?? [];
  return columns.length > 0 ? `ANALYZE ${step.table} (${columns.join(', ')})` : `ANALYZE ${step.table}`;
}

/** What runs after a step's COPY, in the staging transaction, before the epoch checks' counts. */
function afterCopy(step: StagingStep): string[] {
  const trim = trimBlanksStatement(step.table, step.varcharColumns ?? []);
  return trim ? [trim] : [];
}

export const redshiftStaging: StagingStrategy = {
  async stage(conn, steps, ctx) {
    const auth = await copyAuth(ctx);
    const reader = ctx.reader ?? createSourceReader(ctx.config.region, ctx.config.s3MaxConcurrency);
    const mappings = await checkJsonPaths(reader, steps, ctx);
    const listed = ctx.incremental ? await manifests(conn, steps, ctx, reader) : undefined;
    if (listed && [...listed.values()].every((m) => m === null)) return { reports: [], objects: [], skipped: [] };
    const full = listed ? undefined : await listForLedger(reader, steps, ctx);
    const reports: StepReport[] = [];
    const objects: StagedObjects[] = [];
    const skipped: RecordProblem[] = [];
    // The session's last COPY before ours: a failure is blamed on a COPY of this load only.
    let lastCopyId = copyIdOf((await conn.query<{ copy_id: unknown }>(LAST_COPY_ID)).rows[0]);
    // Asked outside the transaction: a query on a missing system table would abort it.
    const stl = ctx.maxErrors > 0 ? await hasStlLoadErrors(conn) : undefined;
    try {
      await transaction(conn, async () => {
        for (const step of steps) {
          const start = process.hrtime.bigint();
          const manifest = listed?.get(step.table);
          await conn.query(redshiftDialect.clearTable(step.table));
          if (manifest === null) {
            reports.push({ step: `stage ${step.table}`, table: step.table, rows: 0, seconds: since(start), detail: 'no new objects' });
            continue;
          }
          ctx.log.info(`Staging ${step.table}: COPY from ${manifest ? `the manifest of ${manifest.objects.length} new objects` : step.source(ctx.config.sources)}…`);
          await conn.query(copyFor(step, ctx, auth, manifest?.uri));
          const { rows } = await conn.query<{ n: string; copy_id: unknown }>('SELECT PG_LAST_COPY_COUNT() AS n, PG_LAST_COPY_ID() AS copy_id');
          lastCopyId = copyIdOf(rows[0]);
          // Under --max-errors, the records this COPY skipped (none can be skipped without it: MAXERROR 1).
          const skippedHere = ctx.maxErrors > 0 ? await readLoadErrors(conn, lastCopyId, stl) : [];
          skipped.push(...skippedHere);
          for (const sql of afterCopy(step)) await conn.query(sql);
          const removed = await checkEpochMs(conn, step, ctx, skippedHere.length);
          await checkMappedColumns(conn, step, ctx, mappings.get(step.table));
          await conn.query(analyzeStatement(step));
          const stagedObjects = manifest?.objects ?? full?.get(step.table);
          if (stagedObjects) objects.push({ table: step.table, objects: stagedObjects });
          const detail = [skippedHere.length ? `${skippedHere.length} bad records skipped` : '', removed ? `${removed} rows with a ts out of range skipped` : ''].filter(Boolean).join(', ');
          reports.push({ step: `stage ${step.table}`, table: step.table, rows: Number(rows[0]?.n ?? 0) - removed, seconds: since(start), detail: detail || undefined });
        }
      }, ctx.beforeCommit);
    } catch (err) {
      ctx.assertRunning?.();
      if (err instanceof InputError) throw err; // our own check, not a failed COPY
      const failedCopyId = await conn.query<{ copy_id: unknown }>(LAST_COPY_ID).then((r) => copyIdOf(r.rows[0]), () => lastCopyId);
      // The id moved: the COPY that failed began loading, and its rejected rows are recorded under that id.
      const problems: RecordProblem[] = failedCopyId !== lastCopyId ? await readLoadErrors(conn, failedCopyId) : [];
      const first = problems[0];
      if (first) throw new InputError(`COPY failed: ${describeProblem(first)}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}`, problems);
      throw err;
    }
    return { reports, objects, skipped };
  },

  async plan(steps, ctx) {
    const auth = await dryRunAuth(ctx);
    return steps.map((step) => {
      const checks = epochMsChecks(step).flatMap((check) => [
        `-- check: a ${check.column} no TIMESTAMP holds fails the stage (exit 3); under --max-errors N they are deleted while this table's bad records (those COPY skipped included) number N at most`,
        `${check.count};`,
        '',
      ]);
      const format = step.format(ctx.config.sources);
      // A dry run reads nothing: the load reads and checks the file before its COPY.
      const jsonPaths = autoMapping(format)
        ? []
        : [`-- JSONPaths file ${format}: not checked by this dry run; the load reads it and checks it (a "jsonpaths" array, one path per column, in column order) before the COPY`];
      const nulls = [`-- check: a column NULL in every staged row warns (--strict: fails the stage), naming its JSON mapping`, `${nullColumnsQuery(step)};`, ''];
      const after = [...afterCopy(step).flatMap((sql) => [`${sql};`, '']), ...checks, ...nulls, `${analyzeStatement(step)};`, ''];
      const skipped = ctx.maxErrors > 0 ? [`-- under --max-errors ${ctx.maxErrors}: the records this COPY skipped are read back by its PG_LAST_COPY_ID() and listed`] : [];
      if (!ctx.incremental) return [...jsonPaths, `${copyFor(step, ctx, auth)};`, ...skipped, '', ...after];
      const manifest = `${ctx.config.manifestPrefix ?? 's3://load-manifest-prefix-not-set/'}RUN-ID-${step.table}.manifest`;
      return [...jsonPaths, `-- incremental: the manifest lists the objects of ${step.source(ctx.config.sources)} not yet in load_ledger`, `${copyFor(step, ctx, auth, manifest)};`, ...skipped, '', ...after];
    });
  },

  /** Multi-row INSERTs (Redshift has no COPY FROM STDIN). */
  async insertLedgerRows(conn: Connection, rows: readonly LedgerRow[]) {
    for (let i = 0; i < rows.length; i += LEDGER_BATCH) {
      const values: unknown[] = [];
      const tuples = rows.slice(i, i + LEDGER_BATCH).map(({ table, object: o, runId }, j) => {
        values.push(table, o.uri, o.size, o.version, runId);
        const p = j * 5;
        return `($${p + 1}, $${p + 2}, $${p + 3}, $${p + 4}, $${p + 5}, 'loaded', ${redshiftDialect.currentTimestamp()})`;
      });
      await conn.query(`INSERT INTO ${LEDGER_TABLE} (${LEDGER_COLUMNS}) VALUES ${tuples.join(', ')}`, values);
    }
  },
};
