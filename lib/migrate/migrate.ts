/**
 * Runs node-pg-migrate's runner through a client we control, so that:
 *  - on Redshift its bookkeeping SQL is rewritten (SERIAL, NOW()) by the dialect;
 *  - its advisory lock is off (Redshift has none) and our own warehouse lock is used instead;
 *  - its bookkeeping table is in the warehouse schema (the connection selects it);
 *  - tables the migrations would create that exist already (the seed's) stop
 *    `up` before anything runs, or are replaced in its transaction;
 *  - a dry run records the exact statements instead of running them, with or
 *    without a server (`--dialect redshift|postgres`).
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { DEFAULT_SCHEMA } from '../config/config.ts';
import type { Connection } from '../db/connection.ts';
import type { Database } from '../db/database.ts';
import { schemaPreamble, tableExists } from '../db/schema.ts';
import type { Dialect } from '../dialect/index.ts';
import { naming, WarehouseError } from '../errors.ts';
import { noFaults, type FaultPoints } from '../fault-points.ts';
import { withWarehouseLock } from '../db/lock.ts';
import { reportingLockWaits } from '../db/lock-wait.ts';
import { silentLogger, type Logger } from '../log.ts';
import {
  CREATE_CHECKSUMS_TABLE_SQL,
  ChecksumMismatchError,
  checksumState,
  checksumStatements,
  migrationChecksums,
  recordChecksumSql,
  recordedChecksums,
  type ChecksumProblem,
  type ChecksumState,
} from './checksums.ts';
import { ExistingTablesError, dropExistingSql, findExistingTables, type ExistingTable } from './existing-tables.ts';

/**
 * node-pg-migrate's runner, imported when needed. Importing it creates a jiti
 * loader whose transpile cache, when the working folder has no node_modules
 * (the CLI run from anywhere), is a fixed folder in the shared temp directory
 * ($TMPDIR/jiti). Our migrations are compiled (or loaded by tsx), so that
 * cache is never needed: it is turned off (JITI_FS_CACHE) unless the user set it.
 */
async function loadRunner(): Promise<(typeof import('node-pg-migrate'))['runner']> {
  process.env['JITI_FS_CACHE'] ??= 'false';
  return (await import('node-pg-migrate')).runner;
}

export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'migrations');
export const MIGRATIONS_TABLE = 'pgmigrations';

export type Direction = 'up' | 'down';

export interface MigrateOptions {
  readonly direction: Direction;
  /** How many migrations; Infinity for all. Default: all for up, 1 for down. */
  readonly count?: number;
  readonly log: Logger;
  readonly dir?: string;
  /** Where the reliability tests stop the run; default: none. */
  readonly faults?: FaultPoints;
  /** The warehouse schema of a dry run without a server (a live run uses the database's). */
  readonly schema?: string;
  /** node-pg-migrate's fake: mark the migrations as applied (or rolled back) without running them. */
  readonly fake?: boolean;
  /**
   * Tables the pending migrations create that exist already: without this
   * `up` stops naming them; with it they are dropped in the migrations'
   * transaction once `confirm` says yes.
   */
  readonly replaceExisting?: { readonly confirm: (tables: readonly ExistingTable[]) => Promise<boolean> };
  /** Run `up` over applied migrations whose files changed (their checksums are then recorded anew). */
  readonly ignoreChecksums?: boolean;
  /** Only this migration (node-pg-migrate's `file`); the command resolves `up NAME` / `down NAME` to counts. */
  readonly file?: string;
}

interface QueryConfigLike {
  text: string;
  values?: unknown[];
}
type QueryArg = string | QueryConfigLike;

/** The `dbClient` node-pg-migrate receives: only `query` is used (it never connects or ends it). */
interface RunnerClient {
  query(q: QueryArg, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
}

function textOf(q: QueryArg): string {
  return typeof q === 'string' ? q : q.text;
}

/**
 * A live client whose statements pass through the dialect's rewrite.
 * `afterBegin` runs right after the runner opens its one transaction, so that
 * what it drops is recreated in the same transaction (or restored by its
 * rollback). With `checksums`, each bookkeeping row the runner writes or
 * deletes is followed, in its transaction, by the migration's checksum row.
 */
export function rewritingClient(
  client: Connection,
  dialect: Dialect,
  log: Logger,
  afterBegin: readonly string[] = [],
  checksums?: ReadonlyMap<string, string>,
  current?: CurrentMigration,
): RunnerClient {
  const pending = [...afterBegin];
  const run = async (sql: string) => {
    log.debug(sql);
    await client.query(sql);
  };
  return {
    async query(q, values) {
      const text = dialect.rewriteMigrationSql(textOf(q));
      log.debug(text);
      const origin = current?.name
        ? { step: `migration ${current.name}`, file: `migrations/${current.name}.ts`, statement: text }
        : { step: 'migrate (bookkeeping)', statement: text };
      const result = await naming(origin, () =>
        client.query(text, values ?? (typeof q === 'string' ? undefined : q.values)),
      );
      if (/^\s*BEGIN\s*;?\s*$/i.test(text)) for (const sql of pending.splice(0)) await run(sql);
      if (checksums) for (const sql of checksumStatements(text, MIGRATIONS_TABLE, checksums, dialect)) await run(sql);
      return { rows: result.rows };
    },
  };
}

export async function migrationNames(dir: string = MIGRATIONS_DIR): Promise<string[]> {
  const files = await readdir(dir);
  return files
    .filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.d.ts'))
    .map((f) => f.replace(/\.(ts|js)$/, ''))
    .sort();
}

/** The migration node-pg-migrate is running (it logs `### MIGRATION name (UP) ###` before each), so that errors name it. */
export interface CurrentMigration {
  name: string | undefined;
}

const MIGRATION_STARTS = /^### MIGRATION (\S+) \((?:UP|DOWN)\) ###$/;

function runnerOptions(dbClient: RunnerClient, opts: MigrateOptions, schema: string, current?: CurrentMigration) {
  const count = opts.count ?? (opts.direction === 'up' ? Infinity : 1);
  return {
    dbClient: dbClient as unknown as pg.Client,
    dir: opts.dir ?? MIGRATIONS_DIR,
    migrationsTable: MIGRATIONS_TABLE,
    // Its bookkeeping table and catalog lookups in the warehouse schema. Not its
    // `schema` option: our connections select the schema already (lib/db/schema.ts).
    migrationsSchema: schema,
    fake: opts.fake ?? false,
    ...(opts.file ? { file: opts.file } : {}),
    direction: opts.direction,
    count,
    // Redshift has no advisory locks: the warehouse lock (lib/db/lock.ts) serialises runs instead.
    noLock: true,
    // All pending migrations in one transaction: a failure leaves the schema as it was.
    singleTransaction: true,
    checkOrder: true,
    logger: {
      debug: (m: string) => opts.log.debug(m),
      info: (m: string) => {
        const starts = MIGRATION_STARTS.exec(m);
        if (starts && current) current.name = starts[1];
        opts.log.info(m);
      },
      warn: (m: string) => opts.log.warn(m),
      // Its "Error executing: <statement>" repeats what the SqlError it then throws says (step, file, statement).
      error: (m: string) => (m.startsWith('Error executing') ? opts.log.debug(m) : opts.log.error(m)),
    },
  };
}

/** Applies or rolls back migrations; returns the names it ran. */
export async function migrate(db: Database, opts: MigrateOptions): Promise<string[]> {
  return withWarehouseLock(db, `migrate ${opts.direction}`, opts.log, async () => {
    await (opts.faults ?? noFaults).at('migrate:locked');
    const checksums = await migrationChecksums(opts.dir ?? MIGRATIONS_DIR);
    // A migration waits for the tables it changes: say so when another session holds one (lib/db/lock-wait.ts).
    const client = reportingLockWaits(db, await db.connect(), `migrate ${opts.direction}`, opts.log);
    try {
      await client.query(CREATE_CHECKSUMS_TABLE_SQL);
      if (opts.direction === 'up') await checkAppliedChecksums(client, db, checksums, opts);
      const afterBegin = opts.direction === 'up' && !opts.fake ? await replacing(db, opts) : [];
      const runner = await loadRunner();
      const current: CurrentMigration = { name: undefined };
      const ran = await runner(
        runnerOptions(
          rewritingClient(client, db.dialect, opts.log, afterBegin, checksums, current),
          opts,
          db.schema,
          current,
        ),
      );
      return ran.map((m) => m.name);
    } finally {
      await client.end();
    }
  });
}

/**
 * Before `up`: an applied migration whose file changed or is gone stops the
 * run (ChecksumMismatchError) unless ignoreChecksums, which records the
 * changed files' checksums anew. Migrations applied before checksums were
 * kept get theirs recorded now (the files as they are).
 */
async function checkAppliedChecksums(
  client: Connection,
  db: Database,
  checksums: ReadonlyMap<string, string>,
  opts: MigrateOptions,
): Promise<void> {
  const applied = await appliedMigrations(client, db.schema);
  const recorded = await recordedChecksums(client, db.schema);
  const states = [...applied.keys()].map((name) => ({ name, state: checksumState(name, recorded, checksums) }));
  const problems = states.filter((s): s is ChecksumProblem => s.state === 'changed' || s.state === 'missing');
  if (problems.length > 0 && !opts.ignoreChecksums) throw new ChecksumMismatchError(problems, true);
  if (problems.length > 0)
    opts.log.warn(
      `--ignore-checksums: migrating over ${problems.map((p) => `${p.name} (${p.state})`).join(', ')}; the changed files' checksums are recorded as they are now.`,
    );
  const record = states.filter((s) => s.state === 'unrecorded' || s.state === 'changed');
  if (record.some((s) => s.state === 'unrecorded'))
    opts.log.info(
      `Recording the checksums of ${record.filter((s) => s.state === 'unrecorded').length} migration(s) applied before checksums were kept.`,
    );
  for (const { name } of record) {
    for (const sql of recordChecksumSql(name, checksums.get(name) ?? '', db.dialect)) await client.query(sql);
  }
}

/** The applied migrations (node-pg-migrate's bookkeeping) in the order they ran, with when; empty before its table exists. */
async function appliedMigrations(client: Connection, schema: string): Promise<Map<string, string>> {
  const applied = new Map<string, string>();
  if (!(await tableExists(client, MIGRATIONS_TABLE, schema))) return applied;
  const { rows } = await client.query<{ name: string; run_on: string }>(
    `select name, cast(run_on as varchar(32)) as run_on from ${MIGRATIONS_TABLE} order by run_on, id`,
  );
  for (const r of rows) applied.set(r.name, r.run_on);
  return applied;
}

/**
 * The tables the pending migrations create that exist already (the seed's):
 * an error naming them, or, with replaceExisting and a yes, the statement that
 * drops exactly them.
 */
async function replacing(db: Database, opts: MigrateOptions): Promise<string[]> {
  const pending = await migrationScript(
    { db },
    { direction: 'up', count: opts.count, dir: opts.dir, log: silentLogger },
  );
  const conn = await db.connect();
  const existing = await findExistingTables(conn, db.schema, pending).finally(() => conn.end());
  if (existing.length === 0) return [];
  if (!opts.replaceExisting) throw new ExistingTablesError(existing, db.schema);
  if (!(await opts.replaceExisting.confirm(existing)))
    throw new WarehouseError('Not confirmed: nothing was dropped or migrated.');
  opts.log.info(
    `Replacing ${existing.map((t) => t.table).join(', ')} (dropped and recreated in the migrations' transaction).`,
  );
  return [dropExistingSql(existing)];
}

export interface MigrationStatus {
  readonly name: string;
  readonly appliedAt: string | undefined;
  /** The file's checksum now (none when the file is gone). */
  readonly checksum: string | undefined;
  /** Applied migrations only: does the file still match what was applied? */
  readonly checksumState: ChecksumState | undefined;
}

export async function migrationStatus(db: Database, dir: string = MIGRATIONS_DIR): Promise<MigrationStatus[]> {
  const client = await db.connect();
  try {
    const applied = await appliedMigrations(client, db.schema);
    const recorded = await recordedChecksums(client, db.schema);
    const checksums = await migrationChecksums(dir);
    const names = await migrationNames(dir);
    const all = [...new Set([...applied.keys(), ...names])].sort();
    return all.map((name) => ({
      name,
      appliedAt: applied.get(name),
      checksum: checksums.get(name),
      checksumState: applied.has(name) ? checksumState(name, recorded, checksums) : undefined,
    }));
  } finally {
    await client.end();
  }
}

/**
 * The SQL script a migration run would execute, for the connected engine
 * (reads go to the server, writes are recorded) or for a dialect with no
 * server at all (then nothing is assumed applied for `up`, everything for `down`).
 */
export async function migrationScript(
  target: { db: Database } | { dialect: Dialect },
  opts: MigrateOptions,
): Promise<string> {
  const lines: string[] = [];
  const dialect = 'db' in target ? target.db.dialect : target.dialect;
  const schema = 'db' in target ? target.db.schema : (opts.schema ?? DEFAULT_SCHEMA);
  const live = 'db' in target ? await target.db.connect() : undefined;
  const applied = live ? [] : opts.direction === 'down' ? await migrationNames(opts.dir) : [];
  const checksums = await migrationChecksums(opts.dir ?? MIGRATIONS_DIR);
  const emit = (sql: string) => {
    const text = sql.trim();
    if (text === '') return;
    lines.push(text.endsWith(';') ? text : `${text};`, '');
  };
  // On a server without the bookkeeping table yet, its CREATE is only recorded: reading it then finds nothing applied.
  let bookkeepingRecorded = false;
  const recorder: RunnerClient = {
    async query(q, values) {
      const text = dialect.rewriteMigrationSql(textOf(q));
      const isRead = /^\s*select\b/i.test(text);
      if (isRead && bookkeepingRecorded && text.includes(`"${MIGRATIONS_TABLE}"`)) return { rows: [] };
      if (isRead && live) {
        const r = await live.query(text, values ?? (typeof q === 'string' ? undefined : q.values));
        return { rows: r.rows };
      }
      if (isRead) return { rows: fakeRead(text, dialect, applied) };
      if (new RegExp(`^CREATE TABLE "[^"]+"\\."${MIGRATIONS_TABLE}"`).test(text)) bookkeepingRecorded = true;
      emit(text);
      for (const sql of checksumStatements(text, MIGRATIONS_TABLE, checksums, dialect)) emit(sql);
      return { rows: [] };
    },
  };
  const log: Logger = {
    ...opts.log,
    info: (m: string) => {
      const step = /^### MIGRATION (\S+) \((UP|DOWN)\) ###$/.exec(m);
      if (step) lines.push(`-- step: migration ${step[1]} (${step[2]?.toLowerCase()})`);
      // node-pg-migrate's "> Migrating files:" list: the script's own step comments say it (and a terminal mixing both streams shows no '>' lines among the SQL).
      else if (m.startsWith('> ')) opts.log.debug(m);
      else opts.log.info(m);
    },
  };
  lines.push(
    `-- sparkify-warehouse: migrate ${opts.direction} for ${dialect.name}${live ? '' : ' (no connection: rendered for this dialect)'}`,
    '',
    ...schemaPreamble(schema, { create: true }),
  );
  lines.push('-- the checksums of the applied migrations (migrate status, migrate validate)');
  emit(CREATE_CHECKSUMS_TABLE_SQL);
  try {
    const runner = await loadRunner();
    await runner(runnerOptions(recorder, { ...opts, log }, schema));
  } finally {
    await live?.end();
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

function fakeRead(text: string, dialect: Dialect, applied: string[]): Record<string, unknown>[] {
  if (/version\(\)/i.test(text)) return [{ version: dialect.sampleVersion }];
  if (/information_schema\.tables/i.test(text)) return applied.length > 0 ? [{ table_name: MIGRATIONS_TABLE }] : [];
  if (/information_schema\.table_constraints/i.test(text)) return [{ constraint_name: `${MIGRATIONS_TABLE}_pkey` }];
  if (/^SELECT name FROM/i.test(text)) return applied.map((name) => ({ name }));
  return [];
}
