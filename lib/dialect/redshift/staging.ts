/**
 * Staging on Redshift: one COPY per source, which Redshift runs in parallel
 * over every object itself; both staging tables replaced in one transaction
 * (DELETE, since Redshift's TRUNCATE commits). Incremental loads list the new
 * objects and COPY them from a manifest. A failed COPY is reported from the
 * load-error system tables.
 */
import { ConfigError, InputError, describeProblem, type RecordProblem } from '../../errors.ts';
import { transaction, type Connection } from '../../db/connection.ts';
import { LEDGER_COLUMNS, LEDGER_TABLE, newOrChanged, type LedgerRow } from '../../load/ledger.ts';
import type { StagingStep, StepReport } from '../../load/steps.ts';
import { createSourceReader, type SourceObject } from '../../sources/source-objects.ts';
import type { StagedObjects, StagingContext, StagingStrategy } from '../staging.ts';
import { renderCopy, type CopyAuth } from './copy.ts';
import { redshiftDialect } from './dialect.ts';
import { describeOutOfRange, epochMsChecks } from './epoch-check.ts';
import { readLoadErrors } from './load-errors.ts';
import { writeManifest } from './manifest.ts';
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
async function manifests(conn: Connection, steps: readonly StagingStep[], ctx: StagingContext): Promise<Map<string, Manifest | null>> {
  const prefix = ctx.config.manifestPrefix;
  if (!prefix) throw new ConfigError(['LOAD_MANIFEST_PREFIX: an incremental load on Redshift writes a COPY manifest of the new objects there (s3://bucket/prefix/)']);
  const reader = ctx.reader ?? createSourceReader(ctx.config.region);
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
async function checkEpochMs(conn: Connection, step: StagingStep, ctx: StagingContext): Promise<number> {
  let removed = 0;
  for (const check of epochMsChecks(step)) {
    const { rows } = await conn.query<{ out_of_range: string; lowest: string; highest: string }>(check.count);
    const problem = describeOutOfRange(check, rows[0]);
    if (!problem) continue;
    const n = Number(rows[0]?.out_of_range);
    if (n > ctx.maxErrors) throw new InputError(`${problem}; Redshift's COPY keeps no file or line for a staged row: find them in the source by value, or skip them with --max-errors ${n}`);
    await conn.query(check.remove);
    ctx.log.warn(`${problem}: skipped (--max-errors)`);
    removed += n;
  }
  return removed;
}

export const redshiftStaging: StagingStrategy = {
  async stage(conn, steps, ctx) {
    const auth = await copyAuth(ctx);
    const listed = ctx.incremental ? await manifests(conn, steps, ctx) : undefined;
    if (listed && [...listed.values()].every((m) => m === null)) return { reports: [], objects: [], skipped: [] };
    const reports: StepReport[] = [];
    const objects: StagedObjects[] = [];
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
          const { rows } = await conn.query<{ n: string }>('SELECT PG_LAST_COPY_COUNT() AS n');
          const removed = await checkEpochMs(conn, step, ctx);
          await checkMappedColumns(conn, step, ctx);
          if (manifest) objects.push({ table: step.table, objects: manifest.objects });
          reports.push({ step: `stage ${step.table}`, table: step.table, rows: Number(rows[0]?.n ?? 0) - removed, seconds: since(start), detail: removed ? `${removed} rows with a ts out of range skipped` : undefined });
        }
      }, ctx.beforeCommit);
    } catch (err) {
      ctx.assertRunning?.();
      if (err instanceof InputError) throw err; // our own check, not a failed COPY
      const problems: RecordProblem[] = await readLoadErrors(conn);
      const first = problems[0];
      if (first) throw new InputError(`COPY failed: ${describeProblem(first)}`, problems);
      throw err;
    }
    return { reports, objects, skipped: [] };
  },

  async plan(steps, ctx) {
    const auth = await dryRunAuth(ctx);
    return steps.map((step) => {
      const checks = epochMsChecks(step).flatMap((check) => [
        `-- check: a ${check.column} no TIMESTAMP holds fails the stage (exit 3); under --max-errors N, up to N such rows are deleted`,
        `${check.count};`,
        '',
      ]);
      const nulls = [`-- check: a column NULL in every staged row warns (--strict: fails the stage), naming its JSON mapping`, `${nullColumnsQuery(step)};`, ''];
      if (!ctx.incremental) return [`${copyFor(step, ctx, auth)};`, '', ...checks, ...nulls];
      const manifest = `${ctx.config.manifestPrefix ?? 's3://load-manifest-prefix-not-set/'}RUN-ID-${step.table}.manifest`;
      return [`-- incremental: the manifest lists the objects of ${step.source(ctx.config.sources)} not yet in load_ledger`, `${copyFor(step, ctx, auth, manifest)};`, '', ...checks, ...nulls];
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
