/**
 * Migration checksums, as Flyway keeps them: the SHA-256 of each migration's
 * source file, recorded in a table of ours (migration_checksums, beside
 * node-pg-migrate's pgmigrations) in the same transaction as the runner's own
 * bookkeeping row, so that `migrate status` and `migrate validate` can name an
 * applied migration whose file has changed or disappeared, and `migrate up`
 * refuses to run over one (lib/migrate/migrate.ts).
 *
 * The checksum is of the TypeScript source (line endings normalised): a
 * checkout hashes migrations/*.ts, and the compiled build carries the same
 * values in dist/migrations/.checksums.json (scripts/build.mjs), so the
 * compiled command line and the in-process tests agree.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Connection } from '../db/connection.ts';
import { tableExists } from '../db/schema.ts';
import type { Dialect } from '../dialect/index.ts';
import { WarehouseError } from '../errors.ts';

export const CHECKSUMS_TABLE = 'migration_checksums';
/** Written by the build beside the compiled migrations (a dotfile: node-pg-migrate ignores those). */
export const CHECKSUMS_FILE = '.checksums.json';

/**
 * Portable DDL: Redshift has CREATE TABLE IF NOT EXISTS
 * (https://docs.aws.amazon.com/redshift/latest/dg/r_CREATE_TABLE_NEW.html)
 * and VARCHAR, TIMESTAMP; a bookkeeping table of a few rows needs no keys.
 */
export const CREATE_CHECKSUMS_TABLE_SQL = `CREATE TABLE IF NOT EXISTS ${CHECKSUMS_TABLE} (
  name VARCHAR(255) NOT NULL,
  checksum VARCHAR(64) NOT NULL,
  recorded_at TIMESTAMP
)`;

export function checksumOf(source: string): string {
  return createHash('sha256').update(source.replace(/\r\n/g, '\n')).digest('hex');
}

/** name → checksum of every migration in `dir` (its .checksums.json when compiled, else its files). */
export async function migrationChecksums(dir: string): Promise<Map<string, string>> {
  const file = path.join(dir, CHECKSUMS_FILE);
  if (existsSync(file))
    return new Map(Object.entries(JSON.parse(await readFile(file, 'utf8')) as Record<string, string>));
  const sums = new Map<string, string>();
  for (const f of (await readdir(dir)).filter((n) => /\.(ts|js)$/.test(n) && !n.endsWith('.d.ts')).sort()) {
    sums.set(f.replace(/\.(ts|js)$/, ''), checksumOf(await readFile(path.join(dir, f), 'utf8')));
  }
  return sums;
}

const literal = (text: string) => `'${text.replace(/'/g, "''")}'`;

/**
 * The statements that keep the checksums in step with one statement of
 * node-pg-migrate's bookkeeping (its INSERT when a migration is applied or
 * faked, its DELETE when one is rolled back); none for any other statement.
 */
export function checksumStatements(
  bookkeeping: string,
  migrationsTable: string,
  checksums: ReadonlyMap<string, string>,
  dialect: Dialect,
): string[] {
  const applied = new RegExp(`^INSERT INTO "[^"]+"\\."${migrationsTable}" \\(name, run_on\\) VALUES \\('([^']+)'`).exec(
    bookkeeping,
  );
  const removed = new RegExp(`^DELETE FROM "[^"]+"\\."${migrationsTable}" WHERE name='([^']+)'`).exec(bookkeeping);
  const name = applied?.[1] ?? removed?.[1];
  if (name === undefined) return [];
  const checksum = checksums.get(name);
  return applied && checksum !== undefined ? recordChecksumSql(name, checksum, dialect) : [forgetChecksumSql(name)];
}

export function forgetChecksumSql(name: string): string {
  return `DELETE FROM ${CHECKSUMS_TABLE} WHERE name = ${literal(name)}`;
}

/** Replaces the migration's checksum (a retry or an accepted change leaves one row). */
export function recordChecksumSql(name: string, checksum: string, dialect: Dialect): string[] {
  return [
    forgetChecksumSql(name),
    `INSERT INTO ${CHECKSUMS_TABLE} (name, checksum, recorded_at) VALUES (${literal(name)}, ${literal(checksum)}, ${dialect.currentTimestamp()})`,
  ];
}

/** The recorded checksums, or an empty map before the table exists. */
export async function recordedChecksums(conn: Connection, schema: string): Promise<Map<string, string>> {
  if (!(await tableExists(conn, CHECKSUMS_TABLE, schema))) return new Map();
  const { rows } = await conn.query<{ name: string; checksum: string }>(
    `SELECT name, checksum FROM ${CHECKSUMS_TABLE}`,
  );
  return new Map(rows.map((r) => [r.name, r.checksum]));
}

/** ok; changed since it was applied; applied but its file is gone; applied before checksums were kept. */
export type ChecksumState = 'ok' | 'changed' | 'missing' | 'unrecorded';

export function checksumState(
  name: string,
  recorded: ReadonlyMap<string, string>,
  current: ReadonlyMap<string, string>,
): ChecksumState {
  const now = current.get(name);
  const then = recorded.get(name);
  if (now === undefined) return 'missing';
  if (then === undefined) return 'unrecorded';
  return then === now ? 'ok' : 'changed';
}

export interface ChecksumProblem {
  readonly name: string;
  readonly state: 'changed' | 'missing';
}

export function describeChecksumProblems(problems: readonly ChecksumProblem[]): string {
  return problems
    .map(
      (p) =>
        `  - ${p.name}: ${p.state === 'changed' ? 'its file has changed since it was applied' : 'applied, but its file is missing'}`,
    )
    .join('\n');
}

/** `migrate validate` fails, and `migrate up` refuses, with this. */
export class ChecksumMismatchError extends WarehouseError {
  override name = 'ChecksumMismatchError';
  constructor(
    readonly problems: readonly ChecksumProblem[],
    refusing: boolean,
  ) {
    super(
      `${refusing ? 'Refusing to migrate: ' : ''}${problems.length} applied migration(s) differ from the files:\n${describeChecksumProblems(problems)}\n` +
        'An applied migration is history: restore its file (git checkout) and put the change in a new migration (migrate create NAME).' +
        (refusing ? ' To run anyway and accept the files as they are now, add --ignore-checksums.' : ''),
    );
  }
}
