/**
 * Runs the load: staging (both staging tables replaced in one transaction, as
 * the engine's staging strategy does it), then each star table in its own
 * transaction, lane by lane, all under the warehouse lock; the ledger last.
 * Nothing here depends on the engine: the dialect says what differs.
 */
import { transaction, type Connection } from '../db/connection.ts';
import type { Database } from '../db/database.ts';
import { withWarehouseLock } from '../db/lock.ts';
import { withRetry } from '../db/retry.ts';
import type { Dialect } from '../dialect/index.ts';
import type { StagedObjects } from '../stage/strategy.ts';
import type { LedgerFiles } from '../stage/plan.ts';
import { InterruptedError, SqlError, WarehouseError, naming, type RecordProblem } from '../errors.ts';
import { surrogateKeyAssertion } from './upsert.ts';
import { noFaults, type FaultPoints } from '../fault-points.ts';
import type { Logger } from '../log.ts';
import { cancelStatements, isInterruptReason, LoadGuard } from './guard.ts';
import { LEDGER_TABLE, recordLoaded } from '../stage/ledger.ts';
import { stagingFor } from '../stage/index.ts';
import { LoadRun, lastLoadContext, recordRunEnd, recordRunStart } from './run-record.ts';
import { stagingContext, type LoadOptions, type StepEvent } from './options.ts';
import { emptiedTables, selectSteps, type StagingStep, type StepReport, type TransformStep } from './steps.ts';
import { describeDrift, type DriftReport } from '../sources/drift.ts';

export type { LoadOptions } from './options.ts';

export interface LoadReport {
  readonly steps: readonly StepReport[];
  /** Bad records skipped under --max-errors. */
  readonly skipped: readonly RecordProblem[];
  /** The sources' schema drift, per staging table (lib/sources/drift.ts); empty when nothing was staged. */
  readonly drift: readonly DriftReport[];
  /** The objects staged, per staging table (the run's lineage reports them); empty when nothing was staged. */
  readonly objects: readonly StagedObjects[];
}

const since = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9;

async function countRows(conn: Connection, table: string): Promise<number> {
  const { rows } = await conn.query<{ n: string }>(`SELECT COUNT(*) AS n FROM ${table}`);
  return Number(rows[0]?.n ?? 0);
}

async function isEmpty(conn: Connection, table: string): Promise<boolean> {
  return (await conn.query(`SELECT 1 AS one FROM ${table} LIMIT 1`)).rows.length === 0;
}

/** A transform's statements, inside the caller's transaction (a step's own, or --replace's one for all). */
async function applyTransform(
  conn: Connection,
  dialect: Dialect,
  step: TransformStep,
  log: Logger,
  faults: FaultPoints,
): Promise<void> {
  // A first load into an empty table: what the engine runs first (PostgreSQL: lock, and truncate if still empty).
  const first = dialect.emptyTargetBeforeFirstLoad(step.table);
  if (first && (await isEmpty(conn, step.table))) {
    await conn.query(first.lock);
    if (await isEmpty(conn, step.table)) await conn.query(first.truncate);
  }
  for (const sql of step.statements(dialect)) {
    log.debug(sql);
    await naming({ step: `transform ${step.table}`, file: step.file, statement: sql }, () => conn.query(sql)).catch(
      (err: unknown) => Promise.reject(surrogateKeyTaken(step, err) ?? err),
    );
  }
  for (const assertion of step.assertions?.(dialect) ?? []) {
    log.debug(assertion.sql);
    const { rows } = await naming({ step: `transform ${step.table}`, file: step.file, statement: assertion.sql }, () =>
      conn.query<Record<string, unknown>>(assertion.sql),
    );
    if (rows.length > 0) throw new WarehouseError(`transform ${step.table}: ${assertion.explain(rows)}`);
  }
  await faults.at(`transform:${step.table}:before-commit`);
}

/**
 * PostgreSQL's unique index on a surrogate key refused a generated id (a row
 * someone else wrote with an explicit id holds it): the same explanation as
 * where the load checks the key itself (lib/load/upsert.ts), or undefined.
 */
function surrogateKeyTaken(step: TransformStep, err: unknown): WarehouseError | undefined {
  const key = step.surrogateKey;
  if (!key || !(err instanceof SqlError) || err.sqlstate !== '23505') return undefined;
  const id = new RegExp(`^Key \\(${key}\\)=\\((.*)\\) already exists`).exec(err.detail ?? '')?.[1];
  if (id === undefined) return undefined;
  return new WarehouseError(
    `transform ${step.table}: ${surrogateKeyAssertion(step.table, key).explain([{ id, n: 2 }])}`,
    {
      cause: err,
    },
  );
}

async function runTransform(
  conn: Connection,
  dialect: Dialect,
  step: TransformStep,
  log: Logger,
  faults: FaultPoints,
  guard: LoadGuard,
): Promise<StepReport> {
  const start = process.hrtime.bigint();
  await transaction(
    conn,
    () => applyTransform(conn, dialect, step, log, faults),
    () => guard.beforeCommit(),
  );
  return {
    step: `transform ${step.table}`,
    table: step.table,
    rows: await countRows(conn, step.table),
    seconds: since(start),
  };
}

/** A connection whose steps are retried, whole, on a new connection after a transient failure. */
interface Session {
  readonly conn: Connection;
  run<T>(what: string, fn: () => Promise<T>): Promise<T>;
  end(): Promise<void>;
}

async function openSession(db: Database, guard: LoadGuard, log: Logger): Promise<Session> {
  let conn = await db.connect();
  guard.track(conn);
  return {
    get conn() {
      return conn;
    },
    run: (what, fn) =>
      withRetry(what, () => fn().catch((err: unknown) => Promise.reject(conn.explain(err))), {
        log,
        engine: (err) => db.dialect.isTransient(err),
        // Never again after the lock is lost or a signal arrived: the step would run unprotected.
        beforeRetry: async () => {
          await guard.beforeCommit();
          guard.untrack(conn);
          await conn.end().catch(() => undefined);
          conn = await db.connect();
          guard.track(conn);
        },
      }),
    end: () => {
      guard.untrack(conn);
      return conn.end().catch(() => undefined);
    },
  };
}

/**
 * The transforms, lane by lane at the same time (Pipeline.lanes): the first
 * lane on the main connection, the others on their own. A failed lane does
 * not stop the others (every step is its own transaction and idempotent); the
 * first failure is reported once all lanes have ended.
 */
async function runTransforms(
  db: Database,
  guard: LoadGuard,
  main: Session,
  opts: LoadOptions,
  transforms: readonly TransformStep[],
  run: LoadRun,
): Promise<StepReport[]> {
  const { pipeline, log } = opts;
  const faults = opts.faults ?? noFaults;
  const announce = (e: StepEvent) =>
    opts.onStep ? opts.onStep(e) : e.phase === 'start' && log.info(`Transforming ${e.step}: ${e.description}`);
  const lanes = pipeline.lanes
    .map((lane) => lane.filter((step) => transforms.includes(step)))
    .filter((lane) => lane.length > 0);
  const reports = new Map<TransformStep, StepReport>();
  const settled = await Promise.allSettled(
    lanes.map(async (lane, i) => {
      const session = i === 0 ? main : await openSession(db, guard, log);
      try {
        for (const step of lane) {
          const name = `transform ${step.table}`;
          const place = {
            step: step.table,
            description: step.description,
            position: transforms.indexOf(step) + 1,
            total: transforms.length,
          };
          announce({ phase: 'start', ...place });
          const report = await guard.step(name, () =>
            session.run(name, () => runTransform(session.conn, db.dialect, step, log, faults, guard)),
          );
          announce({ phase: 'end', ...place, rows: report.rows, seconds: report.seconds });
          reports.set(step, report);
          run.steps.push(report);
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

const LEDGER_STEP = 'ledger (objects recorded as loaded)';
const EMPTY_STEP = 'full refresh (star tables and ledger emptied)';
const REPLACE_STEP = 'replace (star tables and ledger rebuilt from the sources, one transaction)';

/**
 * --replace: the star tables and the ledger rebuilt from what was just staged
 * (everything the sources hold now), in one transaction: every star table and
 * the ledger emptied (DELETE), every transform, the ledger recorded; readers
 * see the old tables until the commit, and a failure leaves them as they were.
 * DELETE rather than TRUNCATE: Redshift's TRUNCATE commits at once
 * (https://docs.aws.amazon.com/redshift/latest/dg/r_TRUNCATE.html), while
 * DELETE, CREATE TEMP TABLE, MERGE and ANALYZE all run inside one transaction
 * block (https://docs.aws.amazon.com/redshift/latest/dg/r_BEGIN.html). The
 * transforms run one after the other on this one connection (no lanes).
 */
async function replaceStarTables(
  conn: Connection,
  dialect: Dialect,
  transforms: readonly TransformStep[],
  record: () => Promise<void>,
  opts: { log: Logger; faults: FaultPoints; beforeCommit: () => Promise<void> },
): Promise<StepReport[]> {
  const start = process.hrtime.bigint();
  const reports: StepReport[] = [];
  await transaction(
    conn,
    async () => {
      reports.length = 0;
      let deleted = 0;
      for (const statement of replaceDeletes(transforms)) {
        deleted += await countRows(conn, statement.table);
        await conn.query(statement.sql);
      }
      reports.push({
        step: REPLACE_STEP,
        table: transforms.map((t) => t.table).join(', '),
        rows: deleted,
        seconds: 0,
        detail: 'rows deleted, then rebuilt',
      });
      for (const step of transforms) {
        const began = process.hrtime.bigint();
        await applyTransform(conn, dialect, step, opts.log, opts.faults);
        reports.push({
          step: `transform ${step.table}`,
          table: step.table,
          rows: await countRows(conn, step.table),
          seconds: since(began),
        });
      }
      await record();
      await opts.faults.at('replace:before-commit');
    },
    opts.beforeCommit,
  );
  const first = reports[0];
  if (first) reports[0] = { ...first, seconds: since(start) };
  return reports;
}

/** What --replace empties first, facts before dimensions, and the ledger. */
export function replaceDeletes(transforms: readonly TransformStep[]): { table: string; sql: string }[] {
  return [...emptiedTables(transforms), LEDGER_TABLE].map((table) => ({
    table,
    sql: `DELETE FROM ${table}`,
  }));
}

/**
 * After a full load: the objects the ledger records as loaded that this
 * run's listing no longer holds (deleted or renamed files), by staging table.
 * Their rows stay in the star tables (loads only upsert); --replace rebuilds
 * the tables from what the sources hold now.
 */
async function warnAboutUnlisted(conn: Connection, runId: string, log: Logger): Promise<void> {
  const { rows } = await conn.query<{ table_name: string; n: string }>(
    `SELECT table_name, COUNT(*) AS n FROM ${LEDGER_TABLE} WHERE run_id <> $1 GROUP BY table_name ORDER BY table_name`,
    [runId],
  );
  const counts = rows.map((r) => ({ table: r.table_name, n: Number(r.n) })).filter((r) => r.n > 0);
  if (counts.length === 0) return;
  const total = counts.reduce((a, r) => a + r.n, 0);
  log.warn(
    `${total} object(s) recorded as loaded are no longer in the sources (${counts.map((r) => `${r.table}: ${r.n}`).join(', ')}): deleted or renamed since. Their rows stay in the star tables (a load only adds and updates rows); \`npm run load -- --replace\` rebuilds the star tables from what the sources hold now.`,
  );
}

/**
 * A load of other sources than the last one that staged merges into what is
 * there (a sample's synthetic users and plays among one's own): say so, and
 * how to start clean. Not an error: loading a new day's folder is the normal
 * way to add data.
 */
async function warnAboutOtherSources(conn: Connection, opts: LoadOptions): Promise<void> {
  const last = await lastLoadContext(conn).catch(() => undefined);
  if (!last) return;
  const now = opts.config.sources;
  const was = last.context.sources;
  const changed = (['logData', 'songData', 'logJsonPath'] as const).filter((k) => was[k] !== now[k]);
  if (changed.length === 0) return;
  const names = { logData: 'LOG_DATA', songData: 'SONG_DATA', logJsonPath: 'LOG_JSONPATH' } as const;
  opts.log.warn(
    `the warehouse holds data loaded from other sources (last load ${last.startedAt}: ${changed.map((k) => `${names[k]}=${was[k]}`).join(', ')}): this load merges into it. ` +
      'To start clean, empty the star tables and load only these sources: `npm run load -- --full-refresh` (or `npm start -- --full-refresh`).',
  );
}

/** The full refresh's step: every star table and the ledger emptied, in one transaction (DELETE: Redshift's TRUNCATE commits at once, https://docs.aws.amazon.com/redshift/latest/dg/r_TRUNCATE.html). */
async function emptyStarTables(
  conn: Connection,
  transforms: readonly TransformStep[],
  beforeCommit: () => Promise<void>,
): Promise<StepReport> {
  const start = process.hrtime.bigint();
  let rows = 0;
  await transaction(
    conn,
    async () => {
      for (const table of [...emptiedTables(transforms), LEDGER_TABLE]) {
        rows += await countRows(conn, table);
        await conn.query(`DELETE FROM ${table}`);
      }
    },
    beforeCommit,
  );
  return {
    step: EMPTY_STEP,
    table: transforms.map((t) => t.table).join(', '),
    rows,
    seconds: since(start),
    detail: 'rows deleted',
  };
}

/**
 * Runs the load and records it in load_runs (lib/load/run-record.ts):
 * `opts.run` (default: a new one) holds what it did, failed runs too.
 */
export async function runLoad(db: Database, opts: LoadOptions): Promise<LoadReport> {
  const run = opts.run ?? new LoadRun('load');
  let recorded = false;
  try {
    // Recorded once it holds the warehouse lock, on its own connection (a run that waits and is stopped never started).
    const report = await guardedLoad(db, opts, run, async (conn) => {
      recorded = await recordRunStart(conn, run, opts.log);
    });
    // In the plan's order (the lanes finish their steps in any order).
    run.steps.splice(0, run.steps.length, ...report.steps);
    run.end();
    // Reported after the load, where it is read last (the run record and --format json have it too).
    for (const line of report.drift.flatMap(describeDrift)) opts.log.warn(`schema drift: ${line}`);
    return report;
  } catch (err) {
    run.end(err);
    throw err;
  } finally {
    if (recorded) await recordRunEnd(db, run, opts.log);
  }
}

async function guardedLoad(
  db: Database,
  opts: LoadOptions,
  run: LoadRun,
  onStarted: (conn: Connection) => Promise<void>,
): Promise<LoadReport> {
  const { pipeline } = opts;
  const { staging, transforms } = selectSteps(pipeline, opts.only);
  const recordsLedger = staging.length > 0 && transforms.length === pipeline.transforms.length;
  const planned = [
    ...(staging.length > 0 ? ['stage'] : []),
    ...(opts.fullRefresh ? [EMPTY_STEP] : []),
    ...(opts.replace ? [REPLACE_STEP] : transforms.map((s) => `transform ${s.table}`)),
    ...(recordsLedger && !opts.replace ? [LEDGER_STEP] : []),
  ];
  const cancel = (conn: Connection) => cancelStatements(db, [conn]);
  return withWarehouseLock(
    db,
    'load',
    opts.log,
    async (lock) => {
      const guard = new LoadGuard(db, lock, opts.log, planned, opts.signal, opts.onLockLost);
      try {
        return await lockedLoad(db, opts, guard, { staging, transforms, recordsLedger, run, onStarted });
      } catch (err) {
        throw guard.explain(err);
      }
    },
    { signal: opts.signal, cancel, keepAliveTimeoutMs: opts.config.transport.pgKeepAliveMs },
  ).catch((err: unknown) => {
    const reason: unknown = opts.signal?.reason;
    if (opts.signal?.aborted && isInterruptReason(reason) && !(err instanceof InterruptedError)) {
      throw new InterruptedError(
        `${reason.why}: stopped while waiting for the warehouse lock; nothing was committed`,
        reason.exitCode,
      );
    }
    throw err;
  });
}

interface LockedRun {
  readonly staging: readonly StagingStep[];
  readonly transforms: readonly TransformStep[];
  readonly recordsLedger: boolean;
  readonly run: LoadRun;
  readonly onStarted: (conn: Connection) => Promise<void>;
}

async function lockedLoad(
  db: Database,
  opts: LoadOptions,
  guard: LoadGuard,
  { staging, transforms, recordsLedger, run, onStarted }: LockedRun,
): Promise<LoadReport> {
  const faults = opts.faults ?? noFaults;
  const strategy = await stagingFor(db.dialect.name);
  await faults.at('load:locked');
  const main = await openSession(db, guard, opts.log);
  if (staging.length > 0 && !opts.fullRefresh) await warnAboutOtherSources(main.conn, opts);
  await onStarted(main.conn);
  const runId = run.runId;
  const ctx = stagingContext(opts, runId, {
    beforeCommit: () => guard.beforeCommit(),
    assertRunning: () => guard.check(),
  });
  try {
    const steps: StepReport[] = [];
    let skipped: readonly RecordProblem[] = [];
    let stagedObjects: readonly StagedObjects[] = [];
    let drift: readonly DriftReport[] = [];
    let ledgerFiles: LedgerFiles | undefined;
    if (staging.length > 0) {
      const staged = await guard.step('stage', () => main.run('stage', () => strategy.stage(main.conn, staging, ctx)));
      ledgerFiles = staged.ledgerFiles;
      skipped = staged.skipped;
      run.skipped = staged.skipped;
      drift = staged.drift ?? [];
      if (staged.drift) run.drift = staged.drift;
      if (staged.reports.length === 0) {
        opts.log.info('Nothing new since the last load: no staging work, no transform.');
        return { steps, skipped, drift, objects: stagedObjects };
      }
      steps.push(...staged.reports);
      run.steps.push(...staged.reports);
      stagedObjects = staged.objects;
      await faults.at('load:staged');
    }
    if (opts.fullRefresh) {
      const emptied = await guard.step(EMPTY_STEP, () =>
        main.run('full refresh', () => emptyStarTables(main.conn, transforms, () => guard.beforeCommit())),
      );
      opts.log.info(
        `Full refresh: emptied ${emptied.table} and the ledger (${emptied.rows} rows); loading only these sources.`,
      );
      steps.push(emptied);
      run.steps.push(emptied);
    }
    const recordStaged = () => recordLoaded(main.conn, db.dialect.name, runId, stagedObjects, ledgerFiles);
    if (opts.replace) {
      const replaced = await guard.step(REPLACE_STEP, () =>
        main.run('replace', () =>
          replaceStarTables(main.conn, db.dialect, transforms, recordStaged, {
            log: opts.log,
            faults,
            beforeCommit: () => guard.beforeCommit(),
          }),
        ),
      );
      steps.push(...replaced);
      run.steps.push(...replaced);
      opts.log.info(`Replaced: the star tables and the ledger hold only what the sources hold now.`);
      return { steps, skipped, drift, objects: stagedObjects };
    }
    steps.push(...(await runTransforms(db, guard, main, opts, transforms, run)));
    // Only a run that staged and filled every star table has loaded its objects.
    if (recordsLedger && stagedObjects.some((s) => s.objects.length > 0)) {
      await guard.step(LEDGER_STEP, () =>
        main.run('ledger', () => transaction(main.conn, recordStaged, () => guard.beforeCommit())),
      );
      if (!opts.incremental) await warnAboutUnlisted(main.conn, runId, opts.log);
    }
    return { steps, skipped, drift, objects: stagedObjects };
  } finally {
    await main.end();
  }
}
