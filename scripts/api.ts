/**
 * The package's programmatic API (package.json `exports`): migrate, load and
 * verify as functions, for a scheduler (Airflow's PythonOperator calling
 * node, a Lambda, a script of one's own). Each opens the warehouse the
 * settings name, does what the command of the same name does, closes it, and
 * returns the object that command prints with `--format json`:
 *
 *   import { migrate, load, verify } from 'sparkify-warehouse';
 *   await migrate({ settings: { DATABASE_URL: '…' } });
 *   const run = await load({ settings: { DATABASE_URL: '…', LOG_DATA: 's3://…' } });
 *   const checks = await verify({ settings: { DATABASE_URL: '…' } });
 *
 * `settings` are the variables of .env (DATABASE_URL, LOG_DATA, …); default:
 * process.env. Errors are thrown (a ConfigError for settings, an InputError
 * for bad input data, …), never printed; a failed check is `passed: false`
 * in verify's result, not an error. Logs go to `logger` (default: none).
 */
import { pipeline } from '../loaders/index.ts';
import { describeTarget, loadConfig, withSchema, type Config } from '../lib/config/config.ts';
import { openDatabase } from '../lib/db/database.ts';
import { LoadRun, type RunSummary } from '../lib/load/run-record.ts';
import { runLoad } from '../lib/load/runner.ts';
import { silentLogger, type Logger } from '../lib/log.ts';
import { migrate as runMigrations, type Direction } from '../lib/migrate/migrate.ts';
import { verifyJson, verifyWarehouse, type VerifyJson } from '../lib/report/checks.ts';
import { Secrets } from '../lib/redact.ts';
import { toolVersion } from '../lib/version.ts';

export type { RunSummary } from '../lib/load/run-record.ts';
export type { VerifyJson } from '../lib/report/checks.ts';
export type { Logger } from '../lib/log.ts';
export { ConfigError, InputError, WarehouseError, EXIT } from '../lib/errors.ts';

export interface CommonOptions {
  /** The settings, as in .env (DATABASE_URL, WAREHOUSE_SCHEMA, LOG_DATA, …); default: process.env. */
  readonly settings?: Readonly<Record<string, string | undefined>>;
  /** The warehouse schema (as --schema); default: WAREHOUSE_SCHEMA, else public. */
  readonly schema?: string;
  /** Where the log lines go (debug/info/warn/error); default: nowhere. */
  readonly logger?: Logger;
}

export interface MigrateOptions extends CommonOptions {
  /** up (default) or down. */
  readonly direction?: Direction;
  /** How many migrations; default: all for up, 1 for down. */
  readonly count?: number;
}

/** What `migrate` did: the migrations run, in order (none when already there). */
export interface MigrateResult {
  readonly direction: Direction;
  readonly migrations: readonly string[];
}

export interface LoadOptions extends CommonOptions {
  /** Only these steps: 'stage', 'transform' or table names (as --only). */
  readonly only?: readonly string[];
  readonly incremental?: boolean;
  /** Empty the star tables and the ledger first (as --full-refresh; no confirmation is asked here). */
  readonly fullRefresh?: boolean;
  readonly maxErrors?: number;
  readonly allowEmpty?: boolean;
  readonly strict?: boolean;
}

function configOf(options: CommonOptions): { config: Config; log: Logger } {
  const config = withSchema(loadConfig(options.settings ?? process.env), options.schema);
  return { config, log: options.logger ?? silentLogger };
}

/** migrate up (or down): the same as `sparkify-warehouse migrate up|down`. */
export async function migrate(options: MigrateOptions = {}): Promise<MigrateResult> {
  const { config, log } = configOf(options);
  const direction = options.direction ?? 'up';
  const db = await openDatabase(config, log, { missingSchema: direction === 'up' ? 'create' : 'refuse' });
  try {
    const migrations = await runMigrations(db, { direction, count: options.count, log });
    return { direction, migrations };
  } finally {
    await db.close();
  }
}

/** load: the same as `sparkify-warehouse load --format json` prints (the run as recorded in load_runs). A failed load throws. */
export async function load(options: LoadOptions = {}): Promise<RunSummary> {
  const { config, log } = configOf(options);
  const db = await openDatabase(config, log);
  try {
    const secrets = new Secrets();
    secrets.add(...config.secrets);
    const run = new LoadRun('api load', (text) => secrets.redact(text), {
      version: toolVersion(),
      target: describeTarget(config),
      targetName: null,
      sources: { ...config.sources },
      fullRefresh: options.fullRefresh ?? false,
    });
    await runLoad(db, {
      config,
      log,
      pipeline,
      run,
      only: options.only,
      incremental: options.incremental,
      fullRefresh: options.fullRefresh,
      maxErrors: options.maxErrors,
      allowEmpty: options.allowEmpty,
      strict: options.strict,
    });
    return run.summary();
  } finally {
    await db.close();
  }
}

/** verify: the same as `sparkify-warehouse verify --format json` prints. Failed checks are `passed: false`, not an error. */
export async function verify(options: CommonOptions = {}): Promise<VerifyJson> {
  const { config, log } = configOf(options);
  const db = await openDatabase(config, log, { requireTables: pipeline.tables });
  try {
    return verifyJson(await verifyWarehouse(db, pipeline));
  } finally {
    await db.close();
  }
}
