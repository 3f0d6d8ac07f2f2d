/**
 * Runs node-pg-migrate's runner through a client we control, so that:
 *  - on Redshift its bookkeeping SQL is rewritten (SERIAL, NOW()) by the dialect;
 *  - its advisory lock is off (Redshift has none) and our own warehouse lock is used instead;
 *  - a dry run records the exact statements instead of running them, with or
 *    without a server (`--dialect redshift|postgres`).
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import type { Connection } from '../db/connection.ts';
import type { Database } from '../db/database.ts';
import type { Dialect } from '../dialect/index.ts';
import { noFaults, type FaultPoints } from '../fault-points.ts';
import { withWarehouseLock } from '../db/lock.ts';
import type { Logger } from '../log.ts';

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

/** A live client whose statements pass through the dialect's rewrite. */
export function rewritingClient(client: Connection, dialect: Dialect, log: Logger): RunnerClient {
  return {
    async query(q, values) {
      const text = dialect.rewriteMigrationSql(textOf(q));
      log.debug(text);
      const result = await client.query(text, values ?? (typeof q === 'string' ? undefined : q.values));
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

function runnerOptions(dbClient: RunnerClient, opts: MigrateOptions) {
  const count = opts.count ?? (opts.direction === 'up' ? Infinity : 1);
  return {
    dbClient: dbClient as unknown as pg.Client,
    dir: opts.dir ?? MIGRATIONS_DIR,
    migrationsTable: MIGRATIONS_TABLE,
    direction: opts.direction,
    count,
    // Redshift has no advisory locks: the warehouse lock (lib/lock.ts) serialises runs instead.
    noLock: true,
    // All pending migrations in one transaction: a failure leaves the schema as it was.
    singleTransaction: true,
    checkOrder: true,
    logger: {
      debug: (m: string) => opts.log.debug(m),
      info: (m: string) => opts.log.info(m),
      warn: (m: string) => opts.log.warn(m),
      error: (m: string) => opts.log.error(m),
    },
  };
}

/** Applies or rolls back migrations; returns the names it ran. */
export async function migrate(db: Database, opts: MigrateOptions): Promise<string[]> {
  return withWarehouseLock(db, `migrate ${opts.direction}`, opts.log, async () => {
    await (opts.faults ?? noFaults).at('migrate:locked');
    const client = await db.connect();
    try {
      const { runner } = await import('node-pg-migrate');
      const ran = await runner(runnerOptions(rewritingClient(client, db.dialect, opts.log), opts));
      return ran.map((m) => m.name);
    } finally {
      await client.end();
    }
  });
}

export interface MigrationStatus {
  readonly name: string;
  readonly appliedAt: string | undefined;
}

export async function migrationStatus(db: Database, dir?: string): Promise<MigrationStatus[]> {
  const client = await db.connect();
  try {
    const exists = await client.query(
      `select 1 from information_schema.tables where table_schema = 'public' and table_name = '${MIGRATIONS_TABLE}'`,
    );
    const applied = new Map<string, string>();
    if (exists.rows.length > 0) {
      const { rows } = await client.query<{ name: string; run_on: string }>(
        `select name, cast(run_on as varchar(32)) as run_on from ${MIGRATIONS_TABLE} order by run_on, id`,
      );
      for (const r of rows) applied.set(r.name, r.run_on);
    }
    const names = await migrationNames(dir);
    const all = [...new Set([...applied.keys(), ...names])].sort();
    return all.map((name) => ({ name, appliedAt: applied.get(name) }));
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
  const live = 'db' in target ? await target.db.connect() : undefined;
  const applied = live ? [] : opts.direction === 'down' ? await migrationNames(opts.dir) : [];
  const emit = (sql: string) => {
    const text = sql.trim();
    if (text === '') return;
    lines.push(text.endsWith(';') ? text : `${text};`, '');
  };
  const recorder: RunnerClient = {
    async query(q, values) {
      const text = dialect.rewriteMigrationSql(textOf(q));
      const isRead = /^\s*select\b/i.test(text);
      if (isRead && live) {
        const r = await live.query(text, values ?? (typeof q === 'string' ? undefined : q.values));
        return { rows: r.rows };
      }
      if (isRead) return { rows: fakeRead(text, dialect, applied) };
      emit(text);
      return { rows: [] };
    },
  };
  const log: Logger = {
    ...opts.log,
    info: (m: string) => {
      const step = /^### MIGRATION (\S+) \((UP|DOWN)\) ###$/.exec(m);
      if (step) lines.push(`-- step: migration ${step[1]} (${step[2]?.toLowerCase()})`);
      else opts.log.info(m);
    },
  };
  lines.push(`-- sparkify-warehouse: migrate ${opts.direction} for ${dialect.name}${live ? '' : ' (no connection: rendered for this dialect)'}`, '');
  try {
    const { runner } = await import('node-pg-migrate');
    await runner(runnerOptions(recorder, { ...opts, log }));
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
