/**
 * Late and replayed data converge (issue 30): after any sequence of
 * incremental loads, every star table equals one full load of the same files.
 *
 * A case is drawn from a seed: the log files (and, half the time, the song
 * files too) split at random into 2–6 deliveries, in a shuffled order, so
 * later days often arrive before earlier ones; some files already delivered
 * are delivered again in a later run (the same bytes with a newer
 * modification time: the ledger sees a changed object and stages it again). Each delivery is
 * added to a source folder that keeps what came before, then
 * `load --incremental` runs. The star tables are compared with one full
 * load of all the files. Shared by test/convergence.test.ts (a fixed seed)
 * and `npm run fuzz -- --history` (any seed, any number of cases).
 */
import { copyFileSync, linkSync, mkdirSync, rmSync, unlinkSync, utimesSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from '../../loaders/index.ts';
import { loadConfig } from '../../lib/config/config.ts';
import { openDatabase } from '../../lib/db/database.ts';
import { runLoad } from '../../lib/load/runner.ts';
import { silentLogger } from '../../lib/log.ts';
import { migrate } from '../../lib/migrate/migrate.ts';
import { prng } from '../../lib/sample/generator.ts';
import { runCli } from './cli.ts';
import type { DataApiStandIn } from './data-api.ts';
import { createTestDatabase, queryOnce } from './database.ts';
import type { TestS3 } from './s3.ts';

/** The files a case splits: log and song files relative to their folders. */
export interface ConvergenceSource {
  readonly name: string;
  readonly logDir: string;
  readonly songDir: string;
  readonly jsonPath: string;
  readonly logFiles: readonly string[];
  readonly songFiles: readonly string[];
}

export interface Delivery {
  readonly logs: readonly string[];
  readonly songs: readonly string[];
  /** Files delivered before, delivered again (the same bytes, a newer modification time). */
  readonly replayedLogs: readonly string[];
  readonly replayedSongs: readonly string[];
}

export interface ConvergenceCase {
  readonly seed: number;
  readonly runs: readonly Delivery[];
}

async function filesUnder(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

export async function convergenceSource(
  name: string,
  dirs: { logDir: string; songDir: string; jsonPath: string },
): Promise<ConvergenceSource> {
  return { name, ...dirs, logFiles: await filesUnder(dirs.logDir), songFiles: await filesUnder(dirs.songDir) };
}

/** The case a seed stands for: the same seed always gives the same runs. */
export function convergenceCase(source: ConvergenceSource, seed: number): ConvergenceCase {
  const rnd = prng(seed);
  const count = 2 + Math.floor(rnd() * 5);
  const logRuns = source.logFiles.map(() => Math.floor(rnd() * count));
  // Half the cases deliver every song file first (the usual shape); the other half split them too.
  const splitSongs = rnd() < 0.5;
  const songRuns = source.songFiles.map(() => (splitSongs ? Math.floor(rnd() * count) : 0));
  const delivered = { logs: [] as string[], songs: [] as string[] };
  const runs: Delivery[] = [];
  for (let run = 0; run < count; run += 1) {
    const replay = (files: readonly string[], share: number) => files.filter(() => rnd() < share);
    const replayedLogs = replay(delivered.logs, 0.15);
    const replayedSongs = replay(delivered.songs, 0.02);
    const logs = source.logFiles.filter((_, i) => logRuns[i] === run);
    const songs = source.songFiles.filter((_, i) => songRuns[i] === run);
    runs.push({ logs, songs, replayedLogs, replayedSongs });
    delivered.logs.push(...logs);
    delivered.songs.push(...songs);
  }
  return { seed, runs };
}

/** What a failing case prints: its seed and the files of each run. */
export function describeCase(source: ConvergenceSource, c: ConvergenceCase): string {
  const list = (files: readonly string[]) =>
    files.length <= 12 ? files.join(', ') || '-' : `${files.length} files: ${files.slice(0, 12).join(', ')}, …`;
  return [
    `${source.name}, seed ${c.seed}, ${c.runs.length} incremental runs:`,
    ...c.runs.map(
      (r, i) =>
        `  run ${i + 1}: logs ${list(r.logs)}; songs ${list(r.songs)}` +
        (r.replayedLogs.length + r.replayedSongs.length > 0
          ? `; again: logs ${list(r.replayedLogs)}; songs ${list(r.replayedSongs)}`
          : ''),
    ),
  ].join('\n');
}

/** The tables compared: every star table (the registered transforms). */
export const COMPARED_TABLES = pipeline.transforms.map((s) => s.table);

/** Columns left out of the comparison: identities, whose values are not data. */
const IDENTITIES: Readonly<Record<string, readonly string[]>> = { songplays: ['songplay_id'] };

/** Every compared table's columns, in order, without the identities. */
async function comparedColumns(url: string): Promise<Record<string, string[]>> {
  const rows = await queryOnce<{ table_name: string; column_name: string }>(
    url,
    `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`,
  );
  const out: Record<string, string[]> = {};
  for (const table of COMPARED_TABLES)
    out[table] = rows
      .filter((r) => r.table_name === table && !(IDENTITIES[table] ?? []).includes(r.column_name))
      .map((r) => r.column_name);
  return out;
}

/** Every compared table's rows, as sorted text, by table (`columns`: from comparedColumns, read once). */
export async function starRows(url: string, columns?: Record<string, string[]>): Promise<Record<string, string[]>> {
  const byTable = columns ?? (await comparedColumns(url));
  const out: Record<string, string[]> = {};
  for (const table of COMPARED_TABLES) {
    const list = byTable[table] ?? [];
    const rows = await queryOnce<{ t: string }>(
      url,
      `SELECT CAST((${list.map((c) => `r.${c}`).join(', ')}) AS TEXT) AS t FROM ${table} AS r ORDER BY 1`,
    );
    out[table] = rows.map((r) => r.t);
  }
  return out;
}

/**
 * One digest of every compared table: each table's row count and the sum of
 * a 64-bit hash of each row's text, computed by the server. The sum is a
 * hash of the rows as a multiset (a row loaded twice adds its hash twice, and
 * no sort is needed): equal digests are equal rows, but for a collision of
 * 64-bit hashes; only a case whose digest differs reads its rows to say which.
 */
async function starDigest(url: string, columns: Record<string, string[]>): Promise<string> {
  const parts = COMPARED_TABLES.map((table) => {
    const text = `CAST((${(columns[table] ?? []).map((c) => `r.${c}`).join(', ')}) AS TEXT)`;
    return `(SELECT CAST(COUNT(*) AS TEXT) || ':' || COALESCE(CAST(SUM(CAST(HASHTEXTEXTENDED(${text}, 0) AS NUMERIC)) AS TEXT), '') FROM ${table} AS r)`;
  });
  const rows = await queryOnce<{ d: string }>(url, `SELECT ${parts.join(" || ' ' || ")} AS d`);
  return rows[0]?.d ?? '';
}

/** Where two loads differ: each table's rows only one side has (a few of each). */
export function differences(expected: Record<string, string[]>, actual: Record<string, string[]>): string[] {
  const shown = 5;
  const out: string[] = [];
  /** Each row's count: a row loaded twice is a difference (identities are left out, so duplicates look alike). */
  const counted = (rows: readonly string[] = []) => {
    const m = new Map<string, number>();
    for (const r of rows) m.set(r, (m.get(r) ?? 0) + 1);
    return m;
  };
  /** The rows `a` has more of than `b`, each as often as it has more. */
  const surplus = (a: Map<string, number>, b: Map<string, number>) =>
    [...a].flatMap(([r, n]) => Array<string>(Math.max(0, n - (b.get(r) ?? 0))).fill(r));
  for (const table of COMPARED_TABLES) {
    const want = counted(expected[table]);
    const got = counted(actual[table]);
    const missing = surplus(want, got);
    const extra = surplus(got, want);
    if (missing.length + extra.length === 0) continue;
    out.push(
      `${table}: ${missing.length} rows of the full load missing, ${extra.length} rows it does not have` +
        missing
          .slice(0, shown)
          .map((r) => `\n    full load only:   ${r}`)
          .join('') +
        extra
          .slice(0, shown)
          .map((r) => `\n    incremental only: ${r}`)
          .join(''),
    );
  }
  return out;
}

/** Empties what a load writes, so one database serves every case. */
const RESET = `TRUNCATE ${[...pipeline.tables, 'load_ledger'].join(', ')}`;

export interface Runner {
  /** The star tables after one full load of every file. */
  readonly expected: Record<string, string[]>;
  /**
   * Runs a case; resolves to its differences from the full load (empty when
   * it converges). `tamper` runs SQL on the loaded tables before they are
   * compared: the test that the comparison sees a difference.
   */
  run(c: ConvergenceCase, tamper?: string): Promise<string[]>;
  close(): Promise<void>;
}

/**
 * A runner on a migrated PostgreSQL database (`url`), loading in-process.
 * The database is set to `synchronous_commit = off`: a load's many small
 * transactions then do not each wait for the disk, and the rows they leave
 * are the same (only what a server crash would keep differs, and nothing
 * here crashes the server).
 */
export async function convergenceRunner(source: ConvergenceSource, url: string): Promise<Runner> {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'sparkify-converge-'));
  const settings = (logDir: string, songDir: string) =>
    loadConfig({ DATABASE_URL: url, LOG_DATA: logDir, SONG_DATA: songDir, LOG_JSONPATH: source.jsonPath });
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  await queryOnce(url, `ALTER DATABASE "${name.replace(/"/g, '""')}" SET synchronous_commit = off`);
  const db = await openDatabase(settings(source.logDir, source.songDir), silentLogger);
  const load = async (logDir: string, songDir: string, incremental: boolean) => {
    await runLoad(db, {
      config: settings(logDir, songDir),
      log: silentLogger,
      pipeline,
      incremental,
      allowEmpty: true,
    });
  };
  // Every case delivers into the same folders: a case's files are removed when it ends, its folders kept for the next.
  const logDir = path.join(scratch, 'log_data');
  const songDir = path.join(scratch, 'song_data');
  const made = new Set<string>();
  /**
   * A copy of each file delivered again, made once per runner: a delivery
   * again links it in place of the first delivery's link and gives it a newer
   * modification time. Creating a file costs some twenty times a link here,
   * and the source's own files (the first deliveries' links) keep their times.
   */
  const copies = path.join(scratch, 'copies');
  const copied = new Set<string>();
  try {
    await queryOnce(url, RESET);
    await load(source.logDir, source.songDir, false);
    const columns = await comparedColumns(url);
    const expected = await starRows(url, columns);
    const expectedDigest = await starDigest(url, columns);
    return {
      expected,
      async run(c, tamper) {
        await queryOnce(url, RESET);
        // Synchronous file calls: a case links some 2,000 files, and a thread-pool round trip each cost more than the link.
        const placed = new Set<string>();
        try {
          let clock = Date.now() / 1000;
          const put = (from: string, to: string, again: boolean) => {
            const dir = path.dirname(to);
            if (!made.has(dir)) {
              mkdirSync(dir, { recursive: true });
              made.add(dir);
            }
            if (!again) {
              linkSync(from, to);
              placed.add(to);
              return;
            }
            // Delivered again: the runner's own copy (same bytes), with a newer modification time.
            const copy = path.join(copies, path.relative(scratch, to));
            if (!copied.has(copy)) {
              mkdirSync(path.dirname(copy), { recursive: true });
              copyFileSync(from, copy);
              copied.add(copy);
            }
            clock += 10;
            utimesSync(copy, clock, clock);
            unlinkSync(to);
            placed.delete(to);
            linkSync(copy, to);
            placed.add(to);
          };
          mkdirSync(logDir, { recursive: true });
          mkdirSync(songDir, { recursive: true });
          for (const run of c.runs) {
            for (const f of run.logs) put(path.join(source.logDir, f), path.join(logDir, f), false);
            for (const f of run.songs) put(path.join(source.songDir, f), path.join(songDir, f), false);
            for (const f of run.replayedLogs) put(path.join(source.logDir, f), path.join(logDir, f), true);
            for (const f of run.replayedSongs) put(path.join(source.songDir, f), path.join(songDir, f), true);
            await load(logDir, songDir, true);
          }
          if (tamper !== undefined) await queryOnce(url, tamper);
          if ((await starDigest(url, columns)) === expectedDigest) return [];
          return differences(expected, await starRows(url, columns));
        } finally {
          for (const f of placed) rmSync(f, { force: true });
        }
      },
      async close() {
        await db.close();
        await rm(scratch, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await db.close();
    await rm(scratch, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Databases loaded at once by default: one more than the cores (at most 8,
 * well within the server's connections). A case waits on the server as much
 * as on node, and one thread runs every load: with one database per core a
 * core idled while both waited on node (200 real cases on 2 cores: 157 s with
 * two, 147 s with three). CONVERGENCE_WORKERS to try others.
 */
export function convergenceWorkers(env: NodeJS.ProcessEnv = process.env): number {
  const workers = Number(env['CONVERGENCE_WORKERS'] ?? Math.min(8, os.availableParallelism() + 1));
  if (!Number.isInteger(workers) || workers < 1)
    throw new Error(`CONVERGENCE_WORKERS: a whole number of 1 or more, not '${env['CONVERGENCE_WORKERS']}'`);
  return workers;
}

export interface CasesResult {
  /** Cases run to the end. */
  readonly ran: number;
  /** The first case found not to converge: its seed, and a message with its runs and the rows that differ. */
  readonly failure?: { readonly seed: number; readonly message: string };
}

/**
 * Cases `first`, `first + 1`, … (`count` of them) over `workers` new
 * migrated databases on the test server, each with its runner; stops at the
 * first case that does not converge. `progress` hears of every case that
 * ends. Shared by the test and `npm run fuzz -- --history`.
 */
export async function runCases(
  source: ConvergenceSource,
  opts: { first: number; count: number; workers: number; progress?: (ran: number) => void },
): Promise<CasesResult> {
  let next = 0;
  let ran = 0;
  let failure: CasesResult['failure'];
  /** Set when a worker fails outside a case (its database, its runner): the others stop at their next case. */
  let broken = false;
  const settled = await Promise.allSettled(
    Array.from({ length: Math.min(opts.workers, opts.count) }, async () => {
      try {
        const tdb = await createTestDatabase();
        try {
          const db = await tdb.open();
          await migrate(db, { direction: 'up', log: silentLogger }).finally(() => db.close());
          const runner = await convergenceRunner(source, tdb.url);
          try {
            while (next < opts.count && failure === undefined && !broken) {
              const c = convergenceCase(source, opts.first + next++);
              // A case that throws is a failing case too: its seed and its runs, with the error.
              const what = await runner.run(c).then(
                (diff) => (diff.length > 0 ? `differs from one full load:\n  ${diff.join('\n  ')}` : undefined),
                (err: unknown) => `failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
              );
              if (what !== undefined) failure ??= { seed: c.seed, message: `${describeCase(source, c)}\n${what}` };
              else {
                ran += 1;
                opts.progress?.(ran);
              }
            }
          } finally {
            await runner.close();
          }
        } finally {
          await tdb.drop();
        }
      } catch (err) {
        broken = true;
        throw err;
      }
    }),
  );
  const rejected = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw rejected.reason;
  return failure === undefined ? { ran } : { ran, failure };
}

/**
 * The Redshift plan through the Data API stand-in, sources in s3rver: each
 * case's deliveries go under a prefix of their own, each run is
 * `load --incremental` on the command line (manifests under
 * LOAD_MANIFEST_PREFIX), and the result is compared with one full load of
 * the same objects through the stand-in. A file delivered again is written
 * again with the same bytes (S3 gives it the same ETag: the ledger sees it
 * unchanged).
 */
export async function dataApiConvergence(
  source: ConvergenceSource,
  s3: TestS3,
  standIn: DataApiStandIn,
  buckets: { readonly data: string; readonly manifests: string },
  cases: readonly ConvergenceCase[],
): Promise<{ failure?: string; expected: Record<string, string[]> }> {
  const read = (dir: string, f: string) => readFile(path.join(dir, f));
  const put = async (prefix: string, dir: string, files: readonly string[]) => {
    const objects: [string, Buffer][] = [];
    for (const f of files) objects.push([`${prefix}${f.split(path.sep).join('/')}`, await read(dir, f)]);
    await s3.seed(buckets.data, objects);
  };
  /** A warehouse migrated through the stand-in, and the settings that load `prefix`'s objects into it. */
  const migratedWarehouse = async () => {
    const tdb = await createTestDatabase();
    const env = (prefix: string) => ({
      ...standIn.env(tdb.name),
      LOG_DATA: `s3://${buckets.data}/${prefix}log_data/`,
      SONG_DATA: `s3://${buckets.data}/${prefix}song_data/`,
      LOG_JSONPATH: `s3://${buckets.data}/meta/log_json_path.json`,
      LOAD_MANIFEST_PREFIX: `s3://${buckets.manifests}/${prefix}`,
    });
    const up = await runCli(['migrate', 'up'], env(''), { timeoutMs: 600_000 });
    if (up.code !== 0) throw new Error(`migrate up through the stand-in failed: ${up.stderr}`);
    return { tdb, env };
  };
  const load = async (env: Record<string, string>, args: readonly string[], what: string) => {
    const r = await runCli(['load', ...args], env, { timeoutMs: 600_000 });
    if (r.code !== 0) throw new Error(`${what} through the stand-in exited ${r.code}: ${r.stderr}`);
  };
  await s3.seed(buckets.data, [['meta/log_json_path.json', await readFile(source.jsonPath)]]);
  await put('full/log_data/', source.logDir, source.logFiles);
  await put('full/song_data/', source.songDir, source.songFiles);
  const full = await migratedWarehouse();
  // One warehouse serves every case, emptied between them like the PostgreSQL runner's (each case's objects sit under a prefix of its own).
  const inc = await migratedWarehouse().catch(async (err: unknown) => {
    await full.tdb.drop();
    throw err;
  });
  try {
    await load(full.env('full/'), [], 'the full load');
    const expected = await starRows(full.tdb.url);
    for (const [i, c] of cases.entries()) {
      const prefix = `case-${i}/`;
      await queryOnce(inc.tdb.url, RESET);
      for (const [n, run] of c.runs.entries()) {
        await put(`${prefix}log_data/`, source.logDir, [...run.logs, ...run.replayedLogs]);
        await put(`${prefix}song_data/`, source.songDir, [...run.songs, ...run.replayedSongs]);
        await load(inc.env(prefix), ['--incremental', '--allow-empty'], `run ${n + 1} of ${describeCase(source, c)}`);
      }
      const diff = differences(expected, await starRows(inc.tdb.url));
      if (diff.length > 0)
        return {
          expected,
          failure: `${describeCase(source, c)}\ndiffers from one full load:\n  ${diff.join('\n  ')}`,
        };
    }
    return { expected };
  } finally {
    await inc.tdb.drop();
    await full.tdb.drop();
  }
}
