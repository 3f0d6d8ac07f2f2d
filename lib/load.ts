/**
 * Runs the load: staging (both staging tables replaced in one transaction),
 * then each star table in its own transaction, all under the warehouse lock.
 * On Redshift staging is one COPY per source; on PostgreSQL the tool streams
 * the rows itself (lib/staging/). `loadScript` renders the same plan as SQL.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { stagingSteps, transformLanes, transformSteps } from '../loaders/index.ts';
import type { Config } from './config.ts';
import { underlyingError, type Database } from './db.ts';
import type { Dialect } from './dialect/index.ts';
import { LOAD_ERRORS_QUERIES, renderCopy, type CopyAuth } from './dialect/redshift-copy.ts';
import { describeOutOfRange, epochMsChecks } from './dialect/redshift-epoch-check.ts';
import { ConfigError, InputError, type RecordProblem } from './errors.ts';
import { faultPoint } from './fault-points.ts';
import { newOrChanged, recordLoaded, type StagedObjects } from './ledger.ts';
import { withWarehouseLock, type HeldLock } from './lock.ts';
import type { Logger } from './log.ts';
import { registerSecret } from './redact.ts';
import { withRetry } from './retry.ts';
import { writeManifest } from './sources/manifest.ts';
import { createSourceReader, readText, type SourceObject, type SourceReader } from './sources/source-objects.ts';
import type { StagingColumn, StagingType } from './staging/copy-row.ts';
import { autoMapping, parseJsonPathsFile, type JsonMapping } from './staging/json-mapping.ts';
import { stageIntoPostgres, type StageProgress } from './staging/postgres-stage.ts';
import { isEpochMsColumn } from './staging/timestamp-columns.ts';
import type { StagingStep } from './staging-step.ts';
import type { TransformStep } from './transform-step.ts';

export const ONLY_CHOICES = ['stage', 'transform', ...stagingSteps.map((s) => s.table), ...transformSteps.map((s) => s.table)] as const;

export interface LoadOptions {
  readonly config: Config;
  readonly log: Logger;
  /** Subset of steps: 'stage', 'transform' or table names. Default: everything. */
  readonly only?: readonly string[] | undefined;
  /** Bad records skipped per staging table before the load fails (Redshift MAXERROR). */
  readonly maxErrors?: number | undefined;
  readonly onProgress?: ((p: StageProgress) => void) | undefined;
  /** Source reader (tests may pass their own); default: local files and S3. */
  readonly reader?: SourceReader | undefined;
  /** Stage only objects the ledger does not list as loaded (same size and ETag/mtime). */
  readonly incremental?: boolean | undefined;
  /** AWS credentials for Redshift COPY when no IAM role is set; default: the SDK's default chain. */
  readonly credentials?: (() => Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken?: string | undefined }>) | undefined;
}

export interface StepReport {
  readonly step: string;
  readonly table: string;
  /** Rows in the table after the step. */
  readonly rows: number;
  readonly seconds: number;
  readonly detail?: string | undefined;
}

export interface LoadReport {
  readonly steps: readonly StepReport[];
  /** Bad records skipped under --max-errors. */
  readonly skipped: readonly RecordProblem[];
}

export function selectSteps(only: readonly string[] | undefined): { staging: StagingStep[]; transforms: TransformStep[] } {
  const wanted = new Set(only && only.length > 0 ? only : ['stage', 'transform']);
  for (const name of wanted) {
    if (!(ONLY_CHOICES as readonly string[]).includes(name)) throw new ConfigError([`--only: unknown step '${name}' (choose from ${ONLY_CHOICES.join(', ')})`]);
  }
  return {
    staging: stagingSteps.filter((s) => wanted.has('stage') || wanted.has(s.table)),
    transforms: transformSteps.filter((s) => wanted.has('transform') || wanted.has(s.table)),
  };
}

const since = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9;

async function countRows(client: pg.Client, table: string): Promise<number> {
  const { rows } = await client.query<{ n: string }>(`SELECT COUNT(*) AS n FROM ${table}`);
  return Number(rows[0]?.n ?? 0);
}

/** The step's COPY columns with their types from the catalog (the migrations are the source of truth). */
export async function stagingColumns(client: pg.Client, step: StagingStep): Promise<StagingColumn[]> {
  const table = step.table;
  const { rows } = await client.query<{ column_name: string; data_type: string; character_maximum_length: number | null }>(
    `SELECT column_name, data_type, character_maximum_length
FROM information_schema.columns
WHERE table_schema = 'public' AND table_name = $1
ORDER BY ordinal_position`,
    [table],
  );
  if (rows.length === 0) throw new ConfigError([`table ${table} does not exist: run \`npm run migrate up\` first`]);
  const types: Record<string, StagingType> = {
    'character varying': 'varchar',
    smallint: 'smallint',
    integer: 'integer',
    bigint: 'bigint',
    'double precision': 'double',
    'timestamp without time zone': 'timestamp',
    boolean: 'boolean',
  };
  return step.columns.map((name) => {
    const r = rows.find((row) => row.column_name === name);
    if (!r) throw new ConfigError([`${table}.${name} does not exist: run \`npm run migrate up\``]);
    const type = types[r.data_type];
    if (!type) throw new Error(`${table}.${name}: staging does not support the type ${r.data_type}`);
    return { name, type, bytes: r.character_maximum_length ?? undefined, epochMs: isEpochMsColumn(table, name) };
  });
}

async function resolveMapping(reader: SourceReader, format: string, columns: readonly string[]): Promise<JsonMapping> {
  const auto = autoMapping(format);
  if (auto) return auto;
  let text: string;
  try {
    text = await readText(reader, format);
  } catch (err) {
    if (err instanceof InputError) throw new InputError(`JSONPaths file ${err.message}`);
    throw err;
  }
  return parseJsonPathsFile(text, format, columns);
}

async function transaction<T>(client: pg.Client, fn: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await fn();
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

async function copyAuth(opts: LoadOptions): Promise<CopyAuth> {
  if (opts.config.iamRoleArn) return { kind: 'role', arn: opts.config.iamRoleArn };
  const resolve =
    opts.credentials ??
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
  registerSecret(creds.accessKeyId);
  registerSecret(creds.secretAccessKey);
  registerSecret(creds.sessionToken);
  return { kind: 'keys', accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey, sessionToken: creds.sessionToken };
}

async function redshiftLoadErrors(client: pg.Client): Promise<RecordProblem[]> {
  for (const query of LOAD_ERRORS_QUERIES) {
    try {
      const { rows } = await client.query<{ file: string; line: number; field: string; value: string; reason: string }>(query);
      return rows.map((r) => ({ file: r.file, line: Number(r.line), field: r.field || undefined, value: r.value || undefined, reason: r.reason }));
    } catch {
      // Not this kind of Redshift (provisioned vs Serverless): try the other table.
    }
  }
  return [];
}

/** Incremental Redshift staging: the new objects of each step, listed by the tool and written to a manifest. */
async function redshiftManifests(client: pg.Client, steps: readonly StagingStep[], opts: LoadOptions, runId: string): Promise<Map<string, { uri: string; objects: SourceObject[] } | null>> {
  const prefix = opts.config.manifestPrefix;
  if (!prefix) throw new ConfigError(['LOAD_MANIFEST_PREFIX: an incremental load on Redshift writes a COPY manifest of the new objects there (s3://bucket/prefix/)']);
  const reader = opts.reader ?? createSourceReader(opts.config.region);
  const out = new Map<string, { uri: string; objects: SourceObject[] } | null>();
  for (const step of steps) {
    const fresh = await newOrChanged(client, step.table, await reader.list(step.source(opts.config.sources)));
    opts.log.info(`Staging ${step.table}: ${fresh.length} new or changed objects`);
    out.set(step.table, fresh.length === 0 ? null : { uri: await writeManifest(opts.config.region, prefix, `${runId}-${step.table}.manifest`, fresh), objects: fresh });
  }
  return out;
}

/** What a staging phase did: its report lines, and the objects it staged (for the ledger; none when not listed). */
interface Staged {
  readonly reports: StepReport[];
  readonly objects: StagedObjects[];
}

async function stageRedshift(db: Database, client: pg.Client, steps: readonly StagingStep[], opts: LoadOptions, runId: string): Promise<Staged> {
  const auth = await copyAuth(opts);
  const manifests = opts.incremental ? await redshiftManifests(client, steps, opts, runId) : undefined;
  if (manifests && [...manifests.values()].every((m) => m === null)) return { reports: [], objects: [] };
  const reports: StepReport[] = [];
  const staged: StagedObjects[] = [];
  try {
    await transaction(client, async () => {
      for (const step of steps) {
        const start = process.hrtime.bigint();
        const manifest = manifests?.get(step.table);
        await client.query(db.dialect.clearTable(step.table));
        if (manifest === null) {
          reports.push({ step: `stage ${step.table}`, table: step.table, rows: 0, seconds: since(start), detail: 'no new objects' });
          continue;
        }
        const sql = renderCopy({
          table: step.table,
          columns: step.columns,
          source: manifest ? manifest.uri : step.source(opts.config.sources),
          manifest: Boolean(manifest),
          format: step.format(opts.config.sources),
          region: opts.config.region,
          auth,
          maxErrors: opts.maxErrors ?? 0,
        });
        opts.log.info(`Staging ${step.table}: COPY from ${manifest ? `the manifest of ${manifest.objects.length} new objects` : step.source(opts.config.sources)}…`);
        await client.query(sql);
        const { rows } = await client.query<{ n: string }>('SELECT PG_LAST_COPY_COUNT() AS n');
        const removed = await checkEpochMs(client, step.table, opts);
        if (manifest) staged.push({ table: step.table, objects: manifest.objects });
        reports.push({ step: `stage ${step.table}`, table: step.table, rows: Number(rows[0]?.n ?? 0) - removed, seconds: since(start), detail: removed ? `${removed} rows with a ts out of range skipped` : undefined });
      }
    });
  } catch (err) {
    if (err instanceof InputError) throw err; // our own check, not a failed COPY
    const problems = await redshiftLoadErrors(client);
    if (problems.length > 0) {
      const p = problems[0] as RecordProblem;
      throw new InputError(`COPY failed: ${p.file}:${p.line}${p.field ? `, field ${p.field}` : ''}: ${p.reason}${p.value ? ` (value: ${p.value})` : ''}`, problems);
    }
    throw err;
  }
  return { reports, objects: staged };
}

/**
 * Redshift: the staged rows whose ts no TIMESTAMP holds (redshift-epoch-check.ts) fail the
 * staging transaction, or are deleted under --max-errors when no more than N. Returns how many were deleted.
 */
async function checkEpochMs(client: pg.Client, table: string, opts: LoadOptions): Promise<number> {
  let removed = 0;
  for (const check of epochMsChecks(table)) {
    const { rows } = await client.query<{ out_of_range: string; lowest: string; highest: string }>(check.count);
    const problem = describeOutOfRange(check, rows[0]);
    if (!problem) continue;
    const n = Number(rows[0]?.out_of_range);
    if (n > (opts.maxErrors ?? 0)) throw new InputError(`${problem}; Redshift's COPY keeps no file or line for a staged row: find them in the source by value, or skip them with --max-errors ${n}`);
    await client.query(check.remove);
    opts.log.warn(`${problem}: skipped (--max-errors)`);
    removed += n;
  }
  return removed;
}

async function stagePostgres(db: Database, client: pg.Client, steps: readonly StagingStep[], opts: LoadOptions, skipped: RecordProblem[]): Promise<Staged> {
  const reader = opts.reader ?? createSourceReader(opts.config.region);
  const prepared: { step: StagingStep; columns: StagingColumn[]; mapping: JsonMapping; source: string; objects: SourceObject[] }[] = [];
  for (const step of steps) {
    const columns = await stagingColumns(client, step);
    const mapping = await resolveMapping(reader, step.format(opts.config.sources), columns.map((c) => c.name));
    const source = step.source(opts.config.sources);
    const listed = await reader.list(source);
    const objects = opts.incremental ? await newOrChanged(client, step.table, listed) : listed;
    opts.log.info(`Staging ${step.table}: ${opts.incremental ? `${objects.length} new or changed of ${listed.length}` : objects.length} objects from ${source}`);
    prepared.push({ step, columns, mapping, source, objects });
  }
  await faultPoint('stage:listed');
  if (opts.incremental && prepared.every((p) => p.objects.length === 0)) return { reports: [], objects: [] };
  return transaction(client, async () => {
    const reports: StepReport[] = [];
    for (const p of prepared) {
      const start = process.hrtime.bigint();
      await client.query(db.dialect.clearTable(p.step.table));
      const result = await stageIntoPostgres(
        client,
        { table: p.step.table, columns: p.columns, source: p.source, mapping: p.mapping },
        {
          reader,
          maxErrors: opts.maxErrors ?? 0,
          objects: p.objects,
          onProgress: opts.onProgress,
        },
      );
      skipped.push(...result.skipped);
      await faultPoint(`stage:${p.step.table}:copied`);
      reports.push({
        step: `stage ${p.step.table}`,
        table: p.step.table,
        rows: result.rows,
        seconds: since(start),
        detail: `${result.objects} objects, ${(result.bytes / 1024 / 1024).toFixed(1)} MB${result.skipped.length ? `, ${result.skipped.length} bad records skipped` : ''}`,
      });
    }
    await faultPoint('stage:before-commit');
    return { reports, objects: prepared.map((p) => ({ table: p.step.table, objects: p.objects })) };
  });
}

async function isEmpty(client: pg.Client, table: string): Promise<boolean> {
  return (await client.query(`SELECT 1 AS one FROM ${table} LIMIT 1`)).rows.length === 0;
}

async function runTransform(client: pg.Client, dialect: Dialect, step: TransformStep, log: Logger): Promise<StepReport> {
  const start = process.hrtime.bigint();
  log.info(`Transforming ${step.table}: ${step.description}`);
  await transaction(client, async () => {
    // A first load into an empty table: truncated (under a lock, so no row can arrive
    // in between) so that its rows skip the WAL where the engine allows (Dialect.truncateSkipsWal).
    if (dialect.truncateSkipsWal && (await isEmpty(client, step.table))) {
      await client.query(`LOCK TABLE ${step.table} IN ACCESS EXCLUSIVE MODE`);
      if (await isEmpty(client, step.table)) await client.query(`TRUNCATE ${step.table}`);
    }
    for (const sql of step.statements) {
      log.debug(sql);
      await client.query(sql);
    }
    await faultPoint(`transform:${step.table}:before-commit`);
  });
  return { step: `transform ${step.table}`, table: step.table, rows: await countRows(client, step.table), seconds: since(start) };
}

/** A connection whose steps are retried, whole, on a new connection after a transient failure. */
interface Session {
  readonly client: pg.Client;
  run<T>(what: string, fn: () => Promise<T>): Promise<T>;
  end(): Promise<void>;
}

async function openSession(db: Database, lock: HeldLock, log: Logger): Promise<Session> {
  let client = await db.connect();
  return {
    get client() {
      return client;
    },
    run: (what, fn) =>
      withRetry(what, () => fn().catch((err: unknown) => Promise.reject(underlyingError(client, err))), {
        log,
        beforeRetry: async () => {
          lock.assertHeld();
          await client.end().catch(() => undefined);
          client = await db.connect();
        },
      }),
    end: () => client.end().catch(() => undefined),
  };
}

/**
 * The transforms, lane by lane at the same time (loaders/index.ts): the first
 * lane on the main connection, the others on their own. A failed lane does
 * not stop the others (every step is its own transaction and idempotent); the
 * first failure is reported once all lanes have ended.
 */
async function runTransforms(db: Database, lock: HeldLock, main: Session, transforms: readonly TransformStep[], log: Logger): Promise<StepReport[]> {
  const lanes = transformLanes.map((lane) => lane.filter((step) => transforms.includes(step))).filter((lane) => lane.length > 0);
  const reports = new Map<TransformStep, StepReport>();
  const settled = await Promise.allSettled(
    lanes.map(async (lane, i) => {
      const session = i === 0 ? main : await openSession(db, lock, log);
      try {
        for (const step of lane) {
          lock.assertHeld();
          reports.set(step, await session.run(`transform ${step.table}`, () => runTransform(session.client, db.dialect, step, log)));
        }
      } finally {
        if (session !== main) await session.end();
      }
    }),
  );
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return transforms.map((step) => reports.get(step)).filter((r): r is StepReport => r !== undefined);
}

export async function runLoad(db: Database, opts: LoadOptions): Promise<LoadReport> {
  const { staging, transforms } = selectSteps(opts.only);
  return withWarehouseLock(db, 'load', opts.log, async (lock) => {
    await faultPoint('load:locked');
    const main = await openSession(db, lock, opts.log);
    const retry = main.run;
    const runId = `${new Date().toISOString().replace(/\D/g, '').slice(0, 14)}-${randomBytes(4).toString('hex')}`;
    try {
      const steps: StepReport[] = [];
      let skipped: RecordProblem[] = [];
      let stagedObjects: StagedObjects[] = [];
      if (staging.length > 0) {
        const staged = await retry('stage', async () => {
          skipped = [];
          return db.dialect.copiesFromS3 ? stageRedshift(db, main.client, staging, opts, runId) : stagePostgres(db, main.client, staging, opts, skipped);
        });
        if (staged.reports.length === 0) {
          opts.log.info('Nothing new since the last load: no staging work, no transform.');
          return { steps, skipped };
        }
        steps.push(...staged.reports);
        stagedObjects = staged.objects;
        await faultPoint('load:staged');
      }
      steps.push(...(await runTransforms(db, lock, main, transforms, opts.log)));
      // Only a run that staged and filled every star table has loaded its objects.
      if (staging.length > 0 && transforms.length === transformSteps.length && stagedObjects.some((s) => s.objects.length > 0)) {
        await retry('ledger', () => transaction(main.client, () => recordLoaded(main.client, db.dialect, runId, stagedObjects)));
      }
      return { steps, skipped };
    } finally {
      await main.end();
    }
  });
}

/** The load as a SQL script for a dialect, secrets redacted by the caller's output path. */
export async function loadScript(dialect: Dialect, opts: LoadOptions): Promise<string> {
  const { staging, transforms } = selectSteps(opts.only);
  const lines: string[] = [`-- sparkify-warehouse: load plan for ${dialect.name}`, ''];
  if (staging.length > 0) {
    const auth = dialect.copiesFromS3 ? await dryRunAuth(opts) : undefined;
    lines.push(`-- step: stage ${staging.map((s) => s.table).join(', ')} (one transaction: all replaced or none)`, 'BEGIN;', '');
    for (const step of staging) {
      const source = step.source(opts.config.sources);
      const format = step.format(opts.config.sources);
      lines.push(`-- step: stage ${step.table} from ${source} (JSON mapping: ${format})`, `${dialect.clearTable(step.table)};`);
      if (auth) {
        const manifest = opts.incremental ? `${opts.config.manifestPrefix ?? 's3://load-manifest-prefix-not-set/'}RUN-ID-${step.table}.manifest` : undefined;
        if (manifest) lines.push(`-- incremental: the manifest lists the objects of ${source} not yet in load_ledger`);
        lines.push(`${renderCopy({ table: step.table, columns: step.columns, source: manifest ?? source, manifest: Boolean(manifest), format, region: opts.config.region, auth, maxErrors: opts.maxErrors ?? 0 })};`, '');
        for (const check of epochMsChecks(step.table)) {
          lines.push(`-- check: a ${check.column} no TIMESTAMP holds fails the stage (exit 3); under --max-errors N, up to N such rows are deleted`, `${check.count};`, '');
        }
      } else {
        lines.push(`-- COPY ${step.table} FROM STDIN: rows streamed by the loader from ${source}`, '');
      }
    }
    lines.push('COMMIT;', '');
  }
  for (const step of transforms) {
    lines.push(`-- step: transform ${step.table}: ${step.description}`, 'BEGIN;', '');
    for (const sql of step.statements) lines.push(`${sql};`, '');
    lines.push('COMMIT;', '');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

async function dryRunAuth(opts: LoadOptions): Promise<CopyAuth> {
  if (opts.config.iamRoleArn) return { kind: 'role', arn: opts.config.iamRoleArn };
  try {
    return await copyAuth(opts);
  } catch {
    // No credentials on this machine: show where they go; a real run resolves them.
    return { kind: 'keys', accessKeyId: 'RESOLVED-AT-RUN-TIME', secretAccessKey: 'RESOLVED-AT-RUN-TIME', sessionToken: 'RESOLVED-AT-RUN-TIME' };
  }
}
