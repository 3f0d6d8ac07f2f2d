/**
 * Staging on Redshift: one COPY per source, which Redshift runs in parallel
 * over every object itself; both staging tables emptied by TRUNCATE, each in
 * its own committed statement before the staging transaction (see
 * emptyStatements), then loaded in one transaction. Incremental loads list the new
 * objects and COPY them from a manifest. A failed COPY is reported from the
 * load-error system tables, and so are the records a successful COPY skipped
 * under --max-errors (load-errors.ts). After each COPY, in the same
 * transaction: trailing blanks dropped (trailing-blanks.ts), ts range checked
 * (epoch-check.ts), statistics updated (analyzeStatement).
 */
import { ConfigError, InputError, SqlError, describeProblem, naming, type RecordProblem } from '../../errors.ts';
import { transaction, type Connection } from '../../db/connection.ts';
import { mappingFingerprint, newOrChanged } from '../ledger.ts';
import { unexpectedAction, type StagingAction, type StepPlan } from '../plan.ts';
import type { StagingStep, StepReport } from '../step.ts';
import { autoMapping, type JsonMapping } from '../../sources/json-mapping.ts';
import { readJsonMapping } from '../../sources/json-mapping-file.ts';
import { sourceReaderFor, type SourceObjects, type SourceReader } from '../../sources/source-objects.ts';
import type { Staged, StagedObjects, StagingContext, StagingStrategy } from '../strategy.ts';
import type { LedgerFiles } from '../plan.ts';
import { ledgerFiles } from './ledger-files.ts';
import { renderCopy, type CopyAuth } from '../../dialect/redshift/copy.ts';
import { redshiftDialect } from '../../dialect/redshift/dialect.ts';
import { describeOutOfRange, epochMsChecks } from './epoch-check.ts';
import {
  COPY_SINCE,
  copyIdentity,
  hasStlLoadErrors,
  isLoadFailure,
  readLoadErrors,
  whereToLook,
  type CopyWindow,
} from './load-errors.ts';
import { checkBucketRegion, copyRegion, writeManifest } from './manifest.ts';
import { trimBlanksStatement } from '../../dialect/redshift/trailing-blanks.ts';
import { checkMappedColumns, listSource, nullColumnsQuery } from '../checks.ts';
import type { ChunkIndex } from './chunk-index.ts';
import { compact, COMPACTION_RULE, shouldCompact, type Compacted } from './compaction.ts';
import { clusterSlices } from './slices.ts';
import { createStageStore, stageUri, type StageStore } from './stage-store.ts';
import { refuseStrictDrift, sampleDrift } from '../drift.ts';
import type { DriftReport } from '../../sources/drift.ts';

const since = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9;

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
    throw new ConfigError([
      `IAM_ROLE_ARN is not set and no AWS credentials were found for COPY (${(err as Error).message}); set IAM_ROLE_ARN or configure the AWS default credential chain`,
    ]);
  }
  ctx.log.secret(creds.accessKeyId, creds.secretAccessKey, creds.sessionToken);
  return {
    kind: 'keys',
    accessKeyId: creds.accessKeyId,
    secretAccessKey: creds.secretAccessKey,
    sessionToken: creds.sessionToken,
  };
}

/** A dry run on a machine without credentials shows where they go; a real run resolves them. */
async function dryRunAuth(ctx: StagingContext): Promise<CopyAuth> {
  try {
    return await copyAuth(ctx);
  } catch {
    return {
      kind: 'keys',
      accessKeyId: 'RESOLVED-AT-RUN-TIME',
      secretAccessKey: 'RESOLVED-AT-RUN-TIME',
      sessionToken: 'RESOLVED-AT-RUN-TIME',
    };
  }
}

/** The step's COPY, from its source prefix, a manifest of the objects to load, or one of compacted chunks (gzip). */
function copyFor(step: StagingStep, ctx: StagingContext, auth: CopyAuth, region: string, from: CopyFrom): string {
  const sources = ctx.config.sources;
  return renderCopy({
    table: step.table,
    columns: step.columns,
    source: from.kind === 'manifest' || from.kind === 'chunks' ? from.uri : step.source(sources),
    manifest: from.kind === 'manifest' || from.kind === 'chunks',
    gzip: from.kind === 'chunks',
    format: step.format(sources),
    region,
    auth,
    maxErrors: ctx.maxErrors,
  });
}

/** Incremental staging: each step's new or changed objects (the ledger compares them in SQL or here). */
async function freshObjects(
  conn: Connection,
  steps: readonly StagingStep[],
  ctx: StagingContext,
  reader: SourceReader,
  fingerprints: ReadonlyMap<string, string>,
  files: LedgerFiles | undefined,
): Promise<Map<string, SourceObjects>> {
  const out = new Map<string, SourceObjects>();
  if (!files) warnLedgerHere(ctx);
  for (const step of steps) {
    const listed = await listSource(reader, step, ctx);
    const fresh = await newOrChanged(conn, 'redshift', step.table, listed, fingerprints.get(step.table) ?? '', {
      files,
    });
    ctx.log.info(`Staging ${step.table}: ${fresh.length} new or changed of ${listed.length} objects`);
    out.set(step.table, fresh);
  }
  return out;
}

/**
 * Where the ledger's object lists go (ledger-files.ts): LOAD_STAGE_PREFIX,
 * else LOAD_MANIFEST_PREFIX (an incremental load needs one of them already).
 * Neither set: undefined, and the ledger is compared and written from this
 * process as before (the whole ledger of a table read, 500 rows an INSERT).
 */
async function ledgerFilesFor(
  ctx: StagingContext,
  auth: CopyAuth,
  run?: {
    readonly reader: SourceReader;
    readonly steps: readonly StagingStep[];
    readonly regions: ReadonlyMap<string, string>;
  },
): Promise<LedgerFiles | undefined> {
  const setting = ctx.config.stagePrefix ? 'LOAD_STAGE_PREFIX' : 'LOAD_MANIFEST_PREFIX';
  const prefix = ctx.config.stagePrefix ?? ctx.config.manifestPrefix;
  if (!prefix) return undefined;
  const storeRegion = ctx.config.sourceRegion ?? ctx.config.region;
  // The prefix is where the chunks and manifests go too: checked to be in the COPY region before
  // anything is listed or written there (as checkManifestPrefix and compactedSteps do).
  for (const step of run?.steps ?? [])
    await checkBucketRegion(
      run?.reader as SourceReader,
      setting,
      prefix,
      regionOf(run?.regions ?? new Map(), step),
      ctx.log,
    );
  const first = run?.steps[0];
  return ledgerFiles({
    prefix,
    runId: run ? ctx.runId : 'RUN-ID',
    region: run && first ? regionOf(run.regions, first) : storeRegion,
    auth,
    storeRegion,
    log: ctx.log,
  });
}

function warnLedgerHere(ctx: StagingContext): void {
  ctx.log.warn(
    'LOAD_STAGE_PREFIX is not set: the ledger is read whole by the loader to find new objects, and written 500 rows a statement; set it (s3://bucket/prefix/) to do both in SQL (docs/redshift.md)',
  );
}

/** Incremental staging without compaction: the new objects of a step in a manifest under LOAD_MANIFEST_PREFIX. */
async function manifestOf(
  step: StagingStep,
  ctx: StagingContext,
  objects: SourceObjects,
  region: string,
): Promise<string> {
  const prefix = ctx.config.manifestPrefix;
  if (!prefix) throw new Error('LOAD_MANIFEST_PREFIX was checked to be set');
  return writeManifest(region, prefix, `${ctx.runId}-${step.table}.manifest`, objects);
}

/**
 * Which steps are compacted (compaction.ts, shouldCompact): only steps whose
 * objects were listed; the prefixes they write to are checked to be set and
 * in the COPY's region before anything is read or written.
 */
async function compactedSteps(
  steps: readonly StagingStep[],
  ctx: StagingContext,
  reader: SourceReader,
  regions: ReadonlyMap<string, string>,
  objects: ReadonlyMap<string, SourceObjects>,
): Promise<Set<string>> {
  const out = new Set<string>();
  for (const step of steps) {
    const listed = objects.get(step.table);
    if (!listed || listed.length === 0) continue;
    const decision = shouldCompact(listed, ctx.compact);
    if (!decision.compact) continue;
    if (!ctx.config.stagePrefix) {
      if (ctx.compact === true)
        throw new ConfigError([
          'LOAD_STAGE_PREFIX: --compact writes the compacted chunks there (s3://bucket/prefix/, in the COPY region)',
        ]);
      ctx.log.warn(
        `${step.table}: ${decision.why} would be compacted into a few large files for COPY; set LOAD_STAGE_PREFIX (s3://bucket/prefix/) to let it (docs/redshift.md)`,
      );
      continue;
    }
    await checkBucketRegion(reader, 'LOAD_STAGE_PREFIX', ctx.config.stagePrefix, regionOf(regions, step), ctx.log);
    ctx.log.info(`Staging ${step.table}: compacting (${decision.why})`);
    out.add(step.table);
  }
  return out;
}

/** The incremental steps that read a manifest of new objects need LOAD_MANIFEST_PREFIX, in the COPY's region. */
async function checkManifestPrefix(
  steps: readonly StagingStep[],
  ctx: StagingContext,
  reader: SourceReader,
  regions: ReadonlyMap<string, string>,
): Promise<void> {
  if (steps.length === 0) return;
  const prefix = ctx.config.manifestPrefix;
  if (!prefix)
    throw new ConfigError([
      'LOAD_MANIFEST_PREFIX: an incremental load on Redshift writes a COPY manifest of the new objects there (s3://bucket/prefix/)',
    ]);
  for (const step of steps)
    await checkBucketRegion(reader, 'LOAD_MANIFEST_PREFIX', prefix, regionOf(regions, step), ctx.log);
}

/** Each step's COPY REGION (manifest.ts, copyRegion), read once before anything is staged. */
async function copyRegions(
  reader: SourceReader,
  steps: readonly StagingStep[],
  ctx: StagingContext,
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const step of steps)
    out.set(step.table, await copyRegion(reader, ctx.config, step.source(ctx.config.sources), step.settings.source));
  return out;
}

function regionOf(regions: ReadonlyMap<string, string>, step: StagingStep): string {
  const region = regions.get(step.table);
  if (region === undefined) throw new Error(`no COPY region for ${step.table}`);
  return region;
}

/**
 * The staged rows whose ts no TIMESTAMP holds (epoch-check.ts) fail the
 * staging transaction, or are deleted under --max-errors when no more than N.
 * Returns how many were deleted.
 */
async function checkEpochMs(
  conn: Connection,
  step: StagingStep,
  column: string,
  ctx: StagingContext,
  skippedByCopy: number,
): Promise<number> {
  let removed = 0;
  for (const check of epochMsChecks(step).filter((c) => c.column === column)) {
    const { rows } = await conn.query<{ out_of_range: string; lowest: string; highest: string }>(check.count);
    const problem = describeOutOfRange(check, rows[0]);
    if (!problem) continue;
    const n = Number(rows[0]?.out_of_range);
    // One budget per staging table, as on PostgreSQL: the records the COPY skipped count too.
    if (skippedByCopy + removed + n > ctx.maxErrors) {
      const also =
        skippedByCopy + removed > 0
          ? ` (besides ${skippedByCopy + removed} bad record(s) already skipped in ${step.table})`
          : '';
      throw new InputError(
        `${problem}${also}; Redshift's COPY keeps no file or line for a staged row: find them in the source by value, or skip them with --max-errors ${skippedByCopy + removed + n}`,
      );
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
async function checkJsonPaths(
  reader: SourceReader,
  steps: readonly StagingStep[],
  ctx: StagingContext,
  regions: ReadonlyMap<string, string>,
): Promise<Map<string, JsonMapping>> {
  const out = new Map<string, JsonMapping>();
  for (const step of steps) {
    const format = step.format(ctx.config.sources);
    if (!autoMapping(format)) {
      // REGION applies to "all resources" of the COPY, the JSONPaths file's bucket too (manifest.ts).
      await checkBucketRegion(
        reader,
        step.settings.format ?? 'the JSONPaths file',
        format,
        regionOf(regions, step),
        ctx.log,
      );
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
async function listForLedger(
  reader: SourceReader,
  steps: readonly StagingStep[],
  ctx: StagingContext,
): Promise<Map<string, SourceObjects>> {
  const out = new Map<string, SourceObjects>();
  for (const step of steps) {
    const source = step.source(ctx.config.sources);
    try {
      out.set(step.table, await reader.list(source));
    } catch (err) {
      ctx.log.warn(
        `${step.table}: the objects of ${source} could not be listed (${(err as Error).message}), so this load records none in load_ledger: the next --incremental load stages them all again`,
      );
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

/** Where a step's COPY reads: its source prefix, or a manifest of the new objects (incremental). */
type CopyFrom =
  | { readonly kind: 'prefix' }
  | { readonly kind: 'manifest'; readonly uri: string; readonly objects: number | undefined }
  /** Compacted chunks (compaction.ts) of `objects` objects, through their manifest. */
  | {
      readonly kind: 'chunks';
      readonly uri: string;
      readonly chunks: number | undefined;
      readonly objects: number | undefined;
    }
  | { readonly kind: 'nothing-new' };

/**
 * The actions of one step, built once: the dry run prints them (placeholders
 * for the manifest and the credentials) and a run executes them.
 */
function stepPlan(step: StagingStep, ctx: StagingContext, auth: CopyAuth, from: CopyFrom, region: string): StepPlan {
  const sources = ctx.config.sources;
  const source = step.source(sources);
  const format = step.format(sources);
  const plan = (actions: StagingAction[]): StepPlan => ({ step, source, format, actions });
  if (from.kind === 'nothing-new')
    return plan([{ kind: 'note', text: `incremental: no object of ${source} is new or changed` }]);
  // The load reads and checks a JSONPaths file before its COPY (checkJsonPaths); a dry run reads nothing.
  const jsonPaths: StagingAction[] = autoMapping(format)
    ? []
    : [
        {
          kind: 'note',
          text: `JSONPaths file ${format}: not checked by this dry run; the load reads it and checks it (a "jsonpaths" array, one path per column, in column order) before the COPY`,
        },
      ];
  const manifest: StagingAction[] =
    from.kind === 'manifest'
      ? [
          {
            kind: 'note',
            text: `incremental: the manifest lists the ${from.objects === undefined ? '' : `${from.objects} `}objects of ${source} not yet in load_ledger`,
          },
        ]
      : from.kind === 'chunks'
        ? [
            {
              kind: 'note',
              text: `compaction: the ${from.objects === undefined ? '' : `${from.objects} `}objects${ctx.incremental ? ' not yet in load_ledger' : ''} of ${source} are read by the loader, their records put one a line (bytes kept), and written as ${from.chunks === undefined ? 'gzip chunks, as many as a multiple of the slices (STV_SLICES, or REDSHIFT_SLICES)' : `${from.chunks} gzip chunks`}, each at most 1 GB, under LOAD_STAGE_PREFIX, listed in the manifest the COPY reads; the chunks are removed after the COPY`,
            },
            {
              kind: 'note',
              text: 'compaction: a rejected record is named by its own object and line (the chunk index translates the chunk and line STL_LOAD_ERRORS / SYS_LOAD_ERROR_DETAIL report)',
            },
          ]
        : [];
  const skipped =
    ctx.maxErrors > 0
      ? [
          `under --max-errors ${ctx.maxErrors}: the records this COPY skipped are read back from STL_LOAD_ERRORS / SYS_LOAD_ERROR_DETAIL by session, table and start time, and listed`,
        ]
      : [];
  const trim = trimBlanksStatement(step.table, step.varcharColumns ?? []);
  return plan([
    ...jsonPaths,
    ...manifest,
    // The window that finds this COPY's rejected rows (load-errors.ts): the transaction's start.
    { kind: 'sql', sql: COPY_SINCE },
    {
      kind: 'copy',
      sql: copyFor(step, ctx, auth, region, from),
      reads:
        from.kind === 'manifest'
          ? `the manifest of ${from.objects ?? 'the'} new objects`
          : from.kind === 'chunks'
            ? `${from.chunks ?? 'the'} compacted chunks of ${from.objects ?? 'the'} objects`
            : source,
      notes: skipped,
    },
    ...(trim ? [{ kind: 'sql', sql: trim } as const] : []),
    ...epochMsChecks(step).map(
      (check): StagingAction => ({
        kind: 'check',
        check: { rule: 'epoch-ms', column: check.column },
        note: `a ${check.column} no TIMESTAMP holds fails the stage (exit 3); under --max-errors N they are deleted while this table's bad records (those COPY skipped included) number N at most`,
        sql: check.count,
      }),
    ),
    {
      kind: 'check',
      check: { rule: 'mapped-columns' },
      note: 'a column NULL in every staged row warns (--strict: fails the stage), naming its JSON mapping',
      sql: nullColumnsQuery(step),
    },
    { kind: 'sql', sql: analyzeStatement(step) },
  ]);
}

/** What a run learned while executing one step's plan. */
interface StepOutcome {
  /** SYSDATE read just before the COPY (COPY_SINCE), for its load-error window. */
  since: string | undefined;
  loaded: number;
  skipped: RecordProblem[];
  removed: number;
}

/** Executes one step's plan in the staging transaction. */
async function runStepPlan(
  conn: Connection,
  plan: StepPlan,
  ctx: StagingContext,
  mapping: JsonMapping | undefined,
  errors: LoadErrorSource,
  outcome: StepOutcome,
  index: ChunkIndex | undefined,
): Promise<void> {
  const step = plan.step;
  for (const action of plan.actions) {
    switch (action.kind) {
      case 'note':
        break;
      case 'sql': {
        const { rows } = await naming({ step: `stage ${step.table}`, file: step.file, statement: action.sql }, () =>
          conn.query<{ since?: unknown }>(action.sql),
        );
        if (action.sql === COPY_SINCE) outcome.since = String(rows[0]?.since ?? '');
        break;
      }
      case 'copy': {
        ctx.log.info(`Staging ${step.table}: COPY from ${action.reads}…`);
        await naming({ step: `stage ${step.table}`, file: step.file, statement: action.sql }, () =>
          conn.query(action.sql),
        );
        const { rows } = await conn.query<{ n: string }>('SELECT PG_LAST_COPY_COUNT() AS n');
        outcome.loaded = Number(rows[0]?.n ?? 0);
        await ctx.faults.at(`stage:${step.table}:copied`);
        // Under --max-errors, the records this COPY skipped (none can be skipped without it: MAXERROR 1).
        const window = errors.window(step.table, outcome.since);
        if (ctx.maxErrors > 0 && window)
          outcome.skipped.push(
            ...(await readLoadErrors(conn, window, errors.stl)).map((p) => (index ? index.translate(p) : p)),
          );
        else if (ctx.maxErrors > 0)
          ctx.log.warn(
            `${step.table}: the session or table id could not be read, so the records this COPY skipped are not listed (see SYS_LOAD_ERROR_DETAIL)`,
          );
        break;
      }
      case 'check':
        if (action.check.rule === 'epoch-ms')
          outcome.removed += await checkEpochMs(
            conn,
            step,
            action.check.column,
            ctx,
            outcome.skipped.length + outcome.removed,
          );
        else await checkMappedColumns(conn, step, ctx, mapping);
        break;
      default:
        throw unexpectedAction('Redshift', action);
    }
  }
}

/** What finds a COPY's rejected rows: the session, the tables' ids, and whether STL_LOAD_ERRORS answers here. */
interface LoadErrorSource {
  readonly stl: boolean | undefined;
  window(table: string, since: string | undefined, queryId?: number): CopyWindow | undefined;
}

async function loadErrorSource(conn: Connection, steps: readonly StagingStep[]): Promise<LoadErrorSource> {
  const stl = await hasStlLoadErrors(conn);
  const identity = await copyIdentity(
    conn,
    steps.map((s) => s.table),
  ).catch(() => undefined);
  return {
    stl,
    window(table, since, queryId) {
      const tableId = identity?.tableIds.get(table);
      if (!identity || tableId === undefined || !since) return undefined;
      return { table, session: identity.session, tableId, since, queryId };
    },
  };
}

/** The failed statement's RedshiftQueryId, when the Data API said it (lib/db/data-api-connection.ts). */
function redshiftQueryIdOf(err: unknown): number | undefined {
  for (let e = err as { queryId?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (typeof e.queryId === 'number' && e.queryId > 0) return e.queryId;
  }
  return undefined;
}

/**
 * Staging emptied without ghost rows: DELETE only marks rows deleted until a
 * VACUUM DELETE, which runs in the background and pauses under load
 * (https://docs.aws.amazon.com/redshift/latest/dg/t_Reclaiming_storage_space202.html);
 * TRUNCATE "is much more efficient than DELETE and doesn't require a VACUUM
 * and ANALYZE", but "commits the transaction in which it is run"
 * (https://docs.aws.amazon.com/redshift/latest/dg/r_TRUNCATE.html). So each
 * table is truncated in its own statement (autocommit), before the staging
 * transaction: a failed load leaves the staging tables empty (the star tables
 * and the ledger are untouched, and the next load stages again). VACUUM
 * DELETE ONLY after the transaction was the other choice: it cannot run in a
 * transaction block (https://docs.aws.amazon.com/redshift/latest/dg/r_VACUUM_command.html)
 * and rewrites every block holding a deleted row, while TRUNCATE frees them
 * at once (docs/redshift.md, "Staging without ghost rows", has the figures).
 */
export function emptyStatements(steps: readonly StagingStep[]): string[] {
  return steps.map((step) => redshiftDialect.clearTable(step.table));
}

/** The chunks of the compacted steps, written before the staging transaction (nothing is replaced while they are read). */
async function compactSteps(
  conn: Connection,
  steps: readonly StagingStep[],
  ctx: StagingContext,
  reader: SourceReader,
  objects: ReadonlyMap<string, SourceObjects>,
  regions: ReadonlyMap<string, string>,
  store: () => Promise<StageStore>,
): Promise<Map<string, Compacted>> {
  const out = new Map<string, Compacted>();
  if (steps.length === 0) return out;
  const slices = await clusterSlices(conn, ctx.config.slices, ctx.log);
  try {
    for (const step of steps) {
      const prefix = stageUri(ctx.config.stagePrefix ?? '', `${ctx.runId}/${step.table}/`);
      const done = await compact({
        reader,
        store: await store(),
        objects: objects.get(step.table) ?? [],
        prefix,
        slices,
        log: ctx.log,
        assertRunning: ctx.assertRunning,
        faults: ctx.faults,
      });
      out.set(step.table, done);
      const mb = (n: number) => (n / 1024 / 1024).toFixed(1);
      const compressed = done.chunks.reduce((n, c) => n + c.compressedBytes, 0);
      const bytes = done.chunks.reduce((n, c) => n + c.bytes, 0);
      ctx.log.info(
        `Staging ${step.table}: compacted ${objects.get(step.table)?.length ?? 0} objects into ${done.chunks.length} chunks for ${slices} slices (${mb(bytes)} MB, ${mb(compressed)} MB gzip'd) in ${done.seconds.toFixed(1)} s, region ${regionOf(regions, step)}`,
      );
    }
  } catch (err) {
    await removeChunks(out, ctx);
    throw err;
  }
  return out;
}

/** The chunks removed: after the COPY, whether the staging committed or failed (compaction.ts). */
async function removeChunks(compacted: ReadonlyMap<string, Compacted>, ctx: StagingContext): Promise<void> {
  for (const [table, done] of compacted) {
    try {
      await done.remove();
    } catch (err) {
      ctx.log.warn(
        `${table}: the compacted chunks could not be removed (${(err as Error).message}); they are under ${done.manifestUri.replace(/chunks\.manifest$/, '')}`,
      );
    }
  }
}

/** The dry run's COPY source of a step: what --compact and --incremental make of it (nothing is listed). */
function plannedFrom(step: StagingStep, ctx: StagingContext): CopyFrom {
  if (ctx.compact === true)
    return {
      kind: 'chunks',
      uri: stageUri(
        ctx.config.stagePrefix ?? 's3://load-stage-prefix-not-set/',
        `RUN-ID/${step.table}/chunks.manifest`,
      ),
      chunks: undefined,
      objects: undefined,
    };
  if (ctx.incremental)
    return {
      kind: 'manifest',
      uri: `${ctx.config.manifestPrefix ?? 's3://load-manifest-prefix-not-set/'}RUN-ID-${step.table}.manifest`,
      objects: undefined,
    };
  return { kind: 'prefix' };
}

export const redshiftStaging: StagingStrategy = {
  async plan(steps, ctx) {
    const auth = await dryRunAuth(ctx);
    // A dry run reads nothing: REGION is SOURCE_REGION or AWS_REGION, and a note says what the load reads.
    const region = ctx.config.sourceRegion ?? ctx.config.region;
    const plans = steps.map((step) => {
      const plan = stepPlan(step, ctx, auth, plannedFrom(step, ctx), region);
      const notes: StagingAction[] = [];
      if (!ctx.config.sourceRegion)
        notes.push({
          kind: 'note',
          text: `REGION: SOURCE_REGION is not set; the load uses the region of the source's bucket (GetBucketLocation), or AWS_REGION (${ctx.config.region}) when it cannot be read`,
        });
      if (ctx.compact === undefined)
        notes.push({
          kind: 'note',
          text: `compaction: decided when the objects are listed: ${COMPACTION_RULE}; compacted, the COPY reads a manifest of gzip chunks under LOAD_STAGE_PREFIX (FROM '…/chunks.manifest' MANIFEST … GZIP; see load --dry-run --compact)`,
        });
      return { ...plan, actions: [...notes, ...plan.actions] };
    });
    return { before: emptyStatements(steps), steps: plans, ledgerFiles: await ledgerFilesFor(ctx, auth) };
  },

  async stage(conn, steps, ctx) {
    const auth = await copyAuth(ctx);
    const reader = ctx.reader ?? sourceReaderFor(ctx.config, { region: ctx.config.sourceRegion, signal: ctx.signal });
    const regions = await copyRegions(reader, steps, ctx);
    const mappings = await checkJsonPaths(reader, steps, ctx, regions);
    const fingerprints = new Map(
      steps.map((step) => [
        step.table,
        mappingFingerprint(mappings.get(step.table) ?? step.format(ctx.config.sources), step.columns),
      ]),
    );
    // The objects each step stages: the new or changed ones (incremental), or all those listed (a full load;
    // absent when they cannot be listed: the COPY then reads the prefix and nothing is compacted or recorded).
    const files = await ledgerFilesFor(ctx, auth, { reader, steps, regions });
    const listed = ctx.incremental
      ? await freshObjects(conn, steps, ctx, reader, fingerprints, files)
      : await listForLedger(reader, steps, ctx);
    if (ctx.incremental && [...listed.values()].every((o) => o.length === 0))
      return { reports: [], objects: [], skipped: [], ledgerFiles: files };
    const drift = await sampleEachStep(reader, steps, ctx, mappings, (step) => listed.get(step.table));
    refuseStrictDrift(drift, ctx);
    const compacting = await compactedSteps(steps, ctx, reader, regions, listed);
    const viaManifest = ctx.incremental
      ? steps.filter((s) => !compacting.has(s.table) && (listed.get(s.table)?.length ?? 0) > 0)
      : [];
    await checkManifestPrefix(viaManifest, ctx, reader, regions);
    let store: Promise<StageStore> | undefined;
    const openStore = () => (store ??= createStageStore(ctx.config.sourceRegion ?? ctx.config.region));
    try {
      const compacted = await compactSteps(
        conn,
        steps.filter((s) => compacting.has(s.table)),
        ctx,
        reader,
        listed,
        regions,
        openStore,
      );
      try {
        const manifests = new Map<string, string>();
        for (const step of viaManifest)
          manifests.set(step.table, await manifestOf(step, ctx, listed.get(step.table) ?? [], regionOf(regions, step)));
        const from = (step: StagingStep): CopyFrom => {
          const objects = listed.get(step.table);
          const chunks = compacted.get(step.table);
          if (chunks)
            return { kind: 'chunks', uri: chunks.manifestUri, chunks: chunks.chunks.length, objects: objects?.length };
          if (!ctx.incremental) return { kind: 'prefix' };
          const manifest = manifests.get(step.table);
          return manifest ? { kind: 'manifest', uri: manifest, objects: objects?.length } : { kind: 'nothing-new' };
        };
        return {
          ...(await stageTables(conn, steps, ctx, { auth, regions, mappings, fingerprints, listed, compacted, from })),
          drift,
          ledgerFiles: files,
        };
      } finally {
        await removeChunks(compacted, ctx);
      }
    } finally {
      if (store) (await store).close();
    }
  },
};

interface StageInputs {
  readonly auth: CopyAuth;
  readonly regions: ReadonlyMap<string, string>;
  readonly mappings: ReadonlyMap<string, JsonMapping>;
  readonly fingerprints: ReadonlyMap<string, string>;
  readonly listed: ReadonlyMap<string, SourceObjects>;
  readonly compacted: ReadonlyMap<string, Compacted>;
  from(step: StagingStep): CopyFrom;
}

/** The staging tables emptied, then filled in one transaction by each step's plan. */
async function stageTables(
  conn: Connection,
  steps: readonly StagingStep[],
  ctx: StagingContext,
  inputs: StageInputs,
): Promise<Staged> {
  const { auth, regions, mappings, fingerprints, listed, compacted, from } = inputs;
  const reports: StepReport[] = [];
  const objects: StagedObjects[] = [];
  const skipped: RecordProblem[] = [];
  // Asked outside the transaction: a query on a missing system table would abort it.
  const errors = await loadErrorSource(conn, steps);
  for (const sql of emptyStatements(steps)) await naming({ step: 'stage', statement: sql }, () => conn.query(sql));
  let current: { table: string; since: string | undefined } | undefined;
  try {
    await transaction(
      conn,
      async () => {
        for (const step of steps) {
          const start = process.hrtime.bigint();
          const copyFrom = from(step);
          const plan = stepPlan(step, ctx, auth, copyFrom, regionOf(regions, step));
          const outcome: StepOutcome = { since: undefined, loaded: 0, skipped: [], removed: 0 };
          current = { table: step.table, since: undefined };
          try {
            await runStepPlan(
              conn,
              plan,
              ctx,
              mappings.get(step.table),
              errors,
              outcome,
              compacted.get(step.table)?.index,
            );
          } finally {
            current.since = outcome.since;
          }
          skipped.push(...outcome.skipped);
          if (copyFrom.kind === 'nothing-new') {
            reports.push({
              step: `stage ${step.table}`,
              table: step.table,
              rows: 0,
              seconds: since(start),
              detail: 'no new objects',
            });
            continue;
          }
          const stagedObjects = listed.get(step.table);
          if (stagedObjects)
            objects.push({ table: step.table, objects: stagedObjects, mapping: fingerprints.get(step.table) ?? '' });
          const chunks = compacted.get(step.table);
          const detail = [
            chunks ? `${stagedObjects?.length ?? 0} objects compacted into ${chunks.chunks.length} chunks` : '',
            outcome.skipped.length ? `${outcome.skipped.length} bad records skipped` : '',
            outcome.removed ? `${outcome.removed} rows with a ts out of range skipped` : '',
          ]
            .filter(Boolean)
            .join(', ');
          reports.push({
            step: `stage ${step.table}`,
            table: step.table,
            rows: outcome.loaded - outcome.removed,
            seconds: since(start),
            detail: detail || undefined,
          });
        }
      },
      ctx.beforeCommit,
    );
  } catch (err) {
    ctx.assertRunning?.();
    if (err instanceof InputError) throw err; // our own check, not a failed COPY
    // Only a COPY that failed on its data ("Load into table … failed") has rejected rows to read.
    if (!isLoadFailure(err) || !current) throw err;
    const window = errors.window(current.table, current.since, redshiftQueryIdOf(err));
    const index = compacted.get(current.table)?.index;
    const problems: RecordProblem[] = (window ? await readLoadErrors(conn, window).catch(() => []) : []).map((p) =>
      index ? index.translate(p) : p,
    );
    const first = problems[0];
    if (first)
      throw new InputError(
        `COPY failed: ${describeProblem(first)}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}`,
        problems,
      );
    const said = err instanceof SqlError ? err.serverMessage : (err as Error).message;
    throw new InputError(
      `COPY into ${current.table} failed (${said}); ${window ? whereToLook(window) : 'its session or table id could not be read: look in SYS_LOAD_ERROR_DETAIL and STL_LOAD_ERRORS for this load'}`,
    );
  }
  return { reports, objects, skipped };
}

/**
 * Schema drift from a sample of each step's objects, read before anything is
 * replaced (Redshift's COPY reads S3 itself and says nothing of the keys it
 * did not load: https://docs.aws.amazon.com/redshift/latest/dg/copy-usage_notes-copy-from-json.html).
 * A step whose objects could not be listed, or has none new, is not profiled.
 */
async function sampleEachStep(
  reader: SourceReader,
  steps: readonly StagingStep[],
  ctx: StagingContext,
  mappings: ReadonlyMap<string, JsonMapping>,
  objectsOf: (step: StagingStep) => SourceObjects | undefined,
): Promise<DriftReport[]> {
  const out: DriftReport[] = [];
  for (const step of steps) {
    const objects = objectsOf(step);
    const mapping = mappings.get(step.table);
    if (!objects || objects.length === 0 || !mapping) continue;
    try {
      out.push(await sampleDrift(reader, step, ctx, mapping, objects));
    } catch (err) {
      if (ctx.strict) throw err;
      ctx.log.warn(`${step.table}: its keys were not profiled (${(err as Error).message})`);
    }
  }
  return out;
}
