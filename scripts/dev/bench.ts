/**
 * npm run bench: loads generated data (Sparkify's formats and quirks, see
 * lib/sample/generator.ts) at several sizes into PostgreSQL and compares, in
 * the same run on the same server, the tool against the physical limit of that
 * database: the server's own `COPY … FROM 'file'` of the same rows as CSV
 * (falling back to psql's `\copy`, the server's own client, when the role may
 * not read server files; the table says which). The old baseline, node
 * streaming the CSV through pg-copy-streams, is kept as a second reference row.
 * Each tool run is a separate `npm run load` process; the table gives its
 * time, the CPU seconds of the node process and of the server (backends and
 * helpers) during it, and its peak RSS. Prints a Markdown table with every
 * target and whether it was met, and writes it to bench-results/latest.md.
 * A benchmark, not a test: it asserts nothing.
 *
 *   npm run bench -- --help
 */
import { spawn } from 'node:child_process';
import {
  closeSync,
  createReadStream,
  createWriteStream,
  existsSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
} from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { pipeline as streamPipeline } from 'node:stream/promises';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { pipeline } from '../../loaders/index.ts';
import { stageEvents } from '../../loaders/stage-events.ts';
import { stageSongs } from '../../loaders/stage-songs.ts';
import type { Connection } from '../../lib/db/connection.ts';
import { connectWire } from '../../lib/db/wire-connection.ts';
import { stagingColumns } from '../../lib/stage/postgres/staging.ts';
import { toCopyField, Unloadable, type StagingColumn } from '../../lib/stage/postgres/copy-row.ts';
import { LEDGER_TABLE } from '../../lib/stage/ledger.ts';
import { createLogger } from '../../lib/log.ts';
import { FULL_SIZE, generate } from '../../lib/sample/generator.ts';
import { compileMapping, parseJsonPathsFile } from '../../lib/sources/json-mapping.ts';
import { JsonRecordSplitter } from '../../lib/sources/json-records.ts';
import { createSourceReader } from '../../lib/sources/source-objects.ts';
import { pg15Available, pg15Bin, startPg15Server } from './pg15-server.ts';
import { spawnDataApiStandIn } from '../../test/support/data-api-stand-in/spawn.ts';
import { startS3Proxy } from '../../test/support/s3-proxy.ts';
import { objectsOfFolder, startS3StoreStandIn } from '../../test/support/s3-store-stand-in.ts';
import { createScratchDatabase } from '../../test/support/scratch-database.ts';
import { startScratchServer, type ScratchServer } from '../../test/support/scratch-server.ts';
import { PROJECT_DIR, spawnCli } from '../../test/support/spawn-cli.ts';

const log = createLogger();

interface Size {
  readonly events: number;
  readonly songs: number;
  readonly label: string;
  /** Staged from s3:// through a latency-injecting proxy (stage only, no baseline). */
  readonly s3?: true;
  /** The full set (benchFull): local, s3:// and the Redshift path with compaction. */
  readonly full?: true;
  /** Sizes a run of this one needs as references (linearity). */
  readonly needs?: readonly string[];
  /** Peak RSS only: a full load, then a no-op --incremental load (no baseline, one round). */
  readonly memory?: true;
}
const SIZES: Record<string, Size> = {
  // The smallest run: mostly what a run costs whatever its size (start-up, connecting,
  // committing, warming up the JIT).
  small: { events: 10_000, songs: 200, label: '10k events' },
  // The linearity reference of 2m and 10m: their song files (and 1m's), 10k events. Marginal
  // rows/s measured from it are per event alone; from `small` (200 song files) the 1M run's
  // 19,800 more song files would count as per-event cost at 1M and far less at 10M.
  base: { events: 10_000, songs: 20_000, label: '10k events, 20k song files (linearity reference of 2M and 10M)' },
  '100k': { events: 100_000, songs: 2_000, label: '100k events' },
  '1m': { events: 1_000_000, songs: 20_000, label: '1M events' },
  '2m': { events: 2_000_000, songs: 20_000, label: '2M events', needs: ['base', '1m'] },
  '10m': { events: 10_000_000, songs: 20_000, label: '10M events', needs: ['base', '1m'] },
  files: { events: 10_000, songs: 100_000, label: '100k song files' },
  s3: { events: 1_000, songs: 20_000, label: '20k song files from s3://', s3: true },
  // On demand: today's udacity-dend at full size (generate --full), issue 27's targets.
  full: {
    events: FULL_SIZE.events,
    songs: FULL_SIZE.songs,
    label: `today's udacity-dend at full size (${FULL_SIZE.songs} song objects)`,
    full: true,
  },
  // On demand (~4 GB of inodes, ~3 minutes to generate): memory bounded by the batch, not the
  // object count (issue 26): the listing, the ledger comparison and the ledger write at 1M objects.
  '1m-files': {
    events: 1_000,
    songs: 1_000_000,
    label: '1M song files (peak RSS: full load, no-op --incremental)',
    memory: true,
  },
};
const DEFAULT_SIZES = ['small', '100k', '1m', 'files', 's3'];
/** The full size's stages (`--full-parts`): PostgreSQL from the local folder, from s3://, the compacted Redshift path. */
const FULL_PARTS = ['local', 's3', 'redshift'];
const SERVER_KINDS = ['embedded', 'pg15', 'url'] as const;
type ServerKind = (typeof SERVER_KINDS)[number];

function list(value: string, choices: readonly string[], flag: string): string[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = items.filter((s) => !choices.includes(s));
  if (items.length === 0 || unknown.length > 0)
    throw new Error(
      `--${flag}: unknown ${unknown.map((u) => `'${u}'`).join(', ') || 'empty list'} (choose from ${choices.join(', ')})`,
    );
  return items;
}
function wholeNumber(value: string, flag: string, min: number): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < min)
    throw new Error(`--${flag}: expected a whole number ≥ ${min}, got '${value}'`);
  return Number(value);
}

function parseArgs() {
  const defaultServers = process.env['DATABASE_URL'] ? 'url' : pg15Available() ? 'embedded,pg15' : 'embedded';
  const argv = yargs(hideBin(process.argv))
    .scriptName('npm run bench --')
    .usage(
      '$0 [--sizes LIST] [--rounds N] [--servers LIST]\n\n' +
        'Loads generated data in Sparkify’s formats at each size and compares the tool with the server’s own ' +
        'COPY of the same rows as CSV, in the same run. Prints a Markdown table with every target and whether it ' +
        'was met (also written to bench-results/latest.md). Generated data is kept in .warehouse/bench-data.',
    )
    .option('sizes', {
      type: 'string',
      default: DEFAULT_SIZES.join(','),
      describe: `comma-separated, from ${Object.keys(SIZES).join(', ')} (2m, 10m: on demand, ~0.9 and ~4.5 GB of JSON; each adds base and 1m as references; full: on demand, today's 385,252 song objects, about 10 minutes, best with --rounds 1 --servers embedded; 1m-files: on demand, the peak RSS of a full and a no-op --incremental load of 1M song files against 256 MB)`,
    })
    .option('rounds', { type: 'string', default: '3', describe: 'rounds per size; each figure is the median' })
    .option('servers', {
      type: 'string',
      default: defaultServers,
      describe: `comma-separated, from embedded (our tuned embedded PostgreSQL), pg15 (an untuned PostgreSQL 15 started from ${pg15Bin()}, or PG15_BIN), url (DATABASE_URL)`,
    })
    .option('full-songs', {
      type: 'string',
      default: String(FULL_SIZE.songs),
      describe:
        'song objects of the full size (fewer, to try its steps while developing; kept in .warehouse/bench-data/full-N)',
    })
    .option('full-parts', {
      type: 'string',
      default: FULL_PARTS.join(','),
      describe: `which of the full size's stages to run, comma-separated, from ${FULL_PARTS.join(', ')} (redshift, the compacted Redshift path, takes about 6 minutes)`,
    })
    .option('cpu-prof', {
      type: 'string',
      describe:
        'write a V8 CPU profile of every tool process into this folder (node --cpu-prof; open in Chrome DevTools)',
    })
    .option('s3-latency-ms', {
      type: 'string',
      default: '40',
      describe: 'latency the proxy in front of s3rver adds to every request (the s3 size)',
    })
    .check((a) => {
      list(a.sizes, Object.keys(SIZES), 'sizes');
      wholeNumber(a.rounds, 'rounds', 1);
      const servers = list(a.servers, SERVER_KINDS, 'servers');
      if (servers.includes('url') && !process.env['DATABASE_URL']) throw new Error('--servers url needs DATABASE_URL');
      if (servers.includes('pg15') && !pg15Available())
        throw new Error(
          `--servers pg15: no PostgreSQL 15 in ${pg15Bin()} (apt-get install postgresql-15, or set PG15_BIN)`,
        );
      wholeNumber(a['s3-latency-ms'], 's3-latency-ms', 0);
      wholeNumber(a['full-songs'], 'full-songs', 1);
      list(a['full-parts'], FULL_PARTS, 'full-parts');
      return true;
    })
    .strict()
    .version(false)
    .help()
    .fail((message, err) => {
      process.stderr.write(`error: ${message ?? err?.message}\nRun with --help for usage.\n`);
      process.exit(2);
    })
    .parseSync();
  const sizes = list(argv.sizes, Object.keys(SIZES), 'sizes');
  for (const key of [...sizes])
    for (const need of SIZES[key]?.needs ?? []) if (!sizes.includes(need)) sizes.unshift(need);
  const order = Object.keys(SIZES);
  return {
    sizes: [...new Set(sizes)].sort((a, b) => order.indexOf(a) - order.indexOf(b)),
    rounds: Number(argv.rounds),
    servers: list(argv.servers, SERVER_KINDS, 'servers') as ServerKind[],
    s3LatencyMs: Number(argv['s3-latency-ms']),
    cpuProf: argv['cpu-prof'],
    fullSongs: Number(argv['full-songs']),
    fullParts: list(argv['full-parts'], FULL_PARTS, 'full-parts'),
  };
}

const dataRoot = path.join(PROJECT_DIR, '.warehouse', 'bench-data');
/** `--cpu-prof DIR`: every tool process writes a V8 CPU profile there. */
let cpuProfDir: string | undefined;

interface Row {
  server: string;
  size: string;
  key: string;
  step: string;
  rows: number;
  mb: number;
  /** Wall time; for a tool run, of the whole process. */
  seconds: number;
  /** A tool run's time once its modules were loaded (process start-up excluded). */
  workSeconds?: number;
  nodeCpu?: number;
  serverCpu?: number;
  rssMb?: number;
  /** Time (after start-up, for a tool run) ÷ the limit's time. */
  ratio?: number;
  /** 1-minute load average when the size's rounds began. */
  load: number;
}

/** The same rows as CSV, for the baselines (not timed). */
async function toCsv(
  source: string,
  mappingSetting: string,
  columns: StagingColumn[],
  out: string,
): Promise<{ rows: number; bytes: number }> {
  const reader = createSourceReader('us-west-2');
  const names = columns.map((c) => c.name);
  const mapping =
    mappingSetting === 'auto'
      ? ({ kind: 'auto', ignoreCase: false } as const)
      : parseJsonPathsFile(readFileSync(mappingSetting, 'utf8'), mappingSetting, names);
  const pick = compileMapping(mapping, names);
  const stream = createWriteStream(out);
  let buf = '';
  let rows = 0;
  let bytes = 0;
  const csvField = (v: string) =>
    v === '\\N'
      ? ''
      : `"${v.replace(/\\t/g, '\t').replace(/\\n/g, '\n').replace(/\\r/g, '\r').replace(/\\\\/g, '\\').replace(/"/g, '""')}"`;
  for (const object of await reader.list(source)) {
    const chunks: Buffer[] = [];
    for await (const c of await reader.open(object)) chunks.push(Buffer.from(c));
    bytes += object.size;
    const splitter = new JsonRecordSplitter({
      record: ({ value }) => {
        const raw = pick(value);
        buf += `${raw
          .map((v, i) => {
            const f = toCopyField(v, columns[i] as StagingColumn);
            return f instanceof Unloadable ? '' : csvField(f);
          })
          .join(',')}\n`;
        rows += 1;
      },
      problem: () => undefined,
    });
    splitter.push(Buffer.concat(chunks).toString('utf8'));
    splitter.end();
    if (buf.length > 1 << 20) {
      if (!stream.write(buf)) await once(stream, 'drain');
      buf = '';
    }
  }
  stream.end(buf);
  await once(stream, 'finish');
  return { rows, bytes };
}

// ---- CPU accounting (Linux /proc; clock ticks of 1/100 s) ----

function statFields(pid: number | 'self'): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "pid (comm)": the 3rd field of stat(5) is index 0 here.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}
const ticks = (f: string[] | undefined, ...i: number[]) => (f ? i.reduce((s, k) => s + Number(f[k]), 0) / 100 : 0);
/** CPU seconds of this process's children that have ended (cutime + cstime). */
const endedChildrenCpu = () => ticks(statFields('self'), 13, 14);

/** CPU seconds of a local server: the postmaster, its live children and the children it has reaped. */
function serverCpu(postmaster: number | undefined): number | undefined {
  if (postmaster === undefined) return undefined;
  const own = statFields(postmaster);
  if (!own) return undefined;
  let total = ticks(own, 11, 12, 13, 14);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const f = statFields(Number(entry));
    if (f && Number(f[1]) === postmaster) total += ticks(f, 11, 12);
  }
  return total;
}

/** The postmaster's pid when the server runs on this machine (else its CPU is not measured). */
async function findPostmaster(db: Connection, url: string): Promise<number | undefined> {
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(new URL(url).hostname)) return undefined;
  const { rows } = await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  const backend = statFields(rows[0]?.pid ?? -1);
  const parent = backend ? Number(backend[1]) : undefined;
  const comm = parent === undefined ? '' : readFileSync(`/proc/${parent}/comm`, 'utf8').trim();
  return comm === 'postgres' || comm === 'postmaster' ? parent : undefined;
}

// ---- the limit and the reference ----

const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;

async function withBenchTable(db: Connection, table: string, copy: (target: string) => Promise<void>): Promise<number> {
  const { rows } = await db.query<{ unlogged: boolean }>(
    `SELECT relpersistence = 'u' AS unlogged FROM pg_class WHERE oid = CAST($1 AS regclass)`,
    [table],
  );
  const target = `bench_${table}`;
  await db.query(`DROP TABLE IF EXISTS ${target}`);
  // Created in the timed transaction, so a logged table skips WAL too (wal_level=minimal), as staging does.
  await db.query('BEGIN');
  try {
    await db.query(`CREATE ${rows[0]?.unlogged ? 'UNLOGGED ' : ''}TABLE ${target} (LIKE ${table})`);
    const start = process.hrtime.bigint();
    await copy(target);
    await db.query('COMMIT');
    return Number(process.hrtime.bigint() - start) / 1e9;
  } catch (err) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    await db.query(`DROP TABLE IF EXISTS ${target}`);
  }
}

/** The server reads the CSV file itself: the fastest way into this database. */
const serverSideCopy = (db: Connection, table: string, csv: string) =>
  withBenchTable(db, table, (target) =>
    db.query(`COPY ${target} FROM ${literal(csv)} (FORMAT csv)`).then(() => undefined),
  );

/** node streams the CSV through pg-copy-streams (the bench's old baseline). */
const nodeClientCopy = (db: Connection, table: string, csv: string) =>
  withBenchTable(db, table, async (target) => {
    const copy = db.copyFromStdin;
    if (!copy) throw new Error('the reference needs COPY FROM STDIN (PostgreSQL)');
    await streamPipeline(
      createReadStream(csv, { highWaterMark: 1 << 20 }),
      copy(`COPY ${target} FROM STDIN (FORMAT csv)`),
    );
  });

/** psql's \copy (the server's own client) into a table made as above, when the server may not read the file. */
function psqlCopy(url: string, table: string, csv: string): Promise<number> {
  const psql = path.join(pg15Bin(), 'psql');
  return new Promise((resolve, reject) => {
    const target = `bench_${table}`;
    const start = process.hrtime.bigint();
    const child = spawn(
      psql,
      [
        url,
        '-qX',
        '-v',
        'ON_ERROR_STOP=1',
        '-c',
        `DROP TABLE IF EXISTS ${target}`,
        '-c',
        'BEGIN',
        '-c',
        `CREATE UNLOGGED TABLE ${target} (LIKE ${table})`,
        '-c',
        `\\copy ${target} from ${literal(csv)} (format csv)`,
        '-c',
        'COMMIT',
        '-c',
        `DROP TABLE ${target}`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(Number(process.hrtime.bigint() - start) / 1e9)
        : reject(new Error(`psql \\copy failed: ${stderr}`)),
    );
  });
}

// ---- tool runs ----

interface ToolRun {
  seconds: number;
  workSeconds: number;
  rssMb: number;
  /** The peak of the heap's used bytes (sampled every 200 ms by the loader; scripts/cli.ts). */
  heapUsedMb: number;
  nodeCpu: number;
  serverCpu: number | undefined;
  /** The load's own report: seconds per step. */
  steps: Record<string, number>;
  stderr: string;
}

async function runTool(args: string[], env: Record<string, string>, postmaster: number | undefined): Promise<ToolRun> {
  const cpu0 = endedChildrenCpu();
  const server0 = serverCpu(postmaster);
  const start = process.hrtime.bigint();
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
    (resolve, reject) => {
      const child = spawnCli(
        args,
        {
          ...process.env,
          ...env,
          SPARKIFY_REPORT_RESOURCES: '1',
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        },
        cpuProfDir ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] } : {},
      );
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', reject);
      child.on('close', (c) => resolve({ code: c, stdout: out, stderr: err }));
    },
  );
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (code !== 0) throw new Error(`load ${args.join(' ')} failed (${code}):\n${stderr}`);
  // Let the server reap the run's backend, so its CPU is counted.
  await new Promise((r) => setTimeout(r, 150));
  const report = JSON.parse(/resources: (\{.*\})/.exec(stderr)?.[1] ?? '{}') as {
    maxRssKb?: number;
    workSeconds?: number;
    heapUsedKb?: number;
  };
  const steps: Record<string, number> = {};
  for (const m of stdout.matchAll(/^(\S[^|\n]*?)\s*\|\s*\d+\s*\|\s*([\d.]+)\s*\|/gm))
    steps[m[1] as string] = Number(m[2]);
  const server1 = serverCpu(postmaster);
  return {
    seconds,
    workSeconds: report.workSeconds ?? NaN,
    rssMb: (report.maxRssKb ?? NaN) / 1024,
    heapUsedMb: (report.heapUsedKb ?? NaN) / 1024,
    nodeCpu: endedChildrenCpu() - cpu0,
    serverCpu: server0 === undefined || server1 === undefined ? undefined : server1 - server0,
    steps,
    stderr,
  };
}

/** The middle value (the lower of the two middle ones for an even count). */
function middle(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? NaN;
}

/** The run with the median time after start-up; its peak RSS is the highest of all the runs'. */
function median(runs: readonly ToolRun[]): ToolRun {
  const mid = runs.find((r) => r.workSeconds === middle(runs.map((x) => x.workSeconds)));
  if (!mid) throw new Error('no runs');
  return { ...mid, rssMb: Math.max(...runs.map((r) => r.rssMb)) };
}

const LOADED_TABLES = [...pipeline.tables, LEDGER_TABLE];

interface Server {
  kind: ServerKind;
  label: string;
  url: string;
  version: string;
  handle?: ScratchServer;
}

async function startServer(kind: ServerKind): Promise<Server> {
  const handle =
    kind === 'embedded'
      ? await startScratchServer('sparkify-bench', log)
      : kind === 'pg15'
        ? await startPg15Server(log)
        : undefined;
  const url = handle?.url ?? (process.env['DATABASE_URL'] as string);
  const db = await connectWire({ connectionString: url });
  const { rows } = await db.query<{ v: string }>(`SELECT current_setting('server_version') AS v`);
  await db.end();
  const version = (rows[0]?.v ?? '?').split(' ')[0] as string;
  const label =
    kind === 'embedded'
      ? `embedded PostgreSQL ${version} (tuned)`
      : kind === 'pg15'
        ? `PostgreSQL ${version} (Debian, untuned)`
        : `DATABASE_URL (PostgreSQL ${version})`;
  return { kind, label, url, version, ...(handle ? { handle } : {}) };
}

/** Generated data for a size, made once and kept. */
async function dataFor(key: string, size: Size): Promise<string> {
  const dir = path.join(dataRoot, key);
  if (!existsSync(path.join(dir, 'done'))) {
    log.info(`Generating ${size.label} (${size.songs} song files)…`);
    await rm(dir, { recursive: true, force: true });
    await generate(
      size.full
        ? { ...FULL_SIZE, songs: size.songs, seed: 1, out: dir }
        : { events: size.events, songs: size.songs, seed: 1, out: dir },
    );
    await writeFile(path.join(dir, 'done'), '');
  }
  return dir;
}

interface Csv {
  dir: string;
  rows: number;
  mb: number;
}

/** The same rows as CSV, made once per size and kept beside its data (the server reads them from there). */
async function csvFor(dir: string, env: Record<string, string>, db: Connection): Promise<Csv> {
  const csvDir = path.join(dir, 'csv');
  const meta = path.join(csvDir, 'done.json');
  if (!existsSync(meta)) {
    log.info(`Converting ${dir} to CSV for the baselines (not timed)…`);
    await mkdir(csvDir, { recursive: true });
    const ev = await toCsv(
      env['LOG_DATA'] as string,
      env['LOG_JSONPATH'] as string,
      await stagingColumns(db, stageEvents),
      path.join(csvDir, 'events.csv'),
    );
    const so = await toCsv(
      env['SONG_DATA'] as string,
      'auto',
      await stagingColumns(db, stageSongs),
      path.join(csvDir, 'songs.csv'),
    );
    await writeFile(meta, JSON.stringify({ rows: ev.rows + so.rows, mb: (ev.bytes + so.bytes) / 1048576 }));
  }
  return { dir: csvDir, ...(JSON.parse(await readFile(meta, 'utf8')) as { rows: number; mb: number }) };
}

/** A directory entry's folder: `parentPath` from Node 20.12, `path` before (engines allows 20.11). */
const direntFolder = (d: import('node:fs').Dirent): string => d.parentPath ?? (d as unknown as { path: string }).path;

/**
 * Reads every file under `dir` once, untimed, so that the tool's JSON and the
 * limit's CSV are both read from memory in the timed runs. Without it the
 * first stage of a size read its files from disk when a larger size had just
 * pushed them out of the page cache (the 20k song files: 6 s instead of 1.4 s),
 * while the limit's CSV, just read by the reference, was in memory.
 */
function warmPageCache(dir: string): void {
  const buffer = Buffer.allocUnsafe(1024 * 1024);
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[]) {
    if (!entry.isFile()) continue;
    const fd = openSync(path.join(direntFolder(entry), entry.name), 'r');
    try {
      while (readSync(fd, buffer, 0, buffer.length, null) > 0);
    } finally {
      closeSync(fd);
    }
  }
}

async function benchSize(
  server: Server,
  key: string,
  size: Size,
  rounds: number,
  results: Row[],
  notes: string[],
): Promise<void> {
  const dir = await dataFor(key, size);
  const scratch = await createScratchDatabase(server.url, `bench_${key}`);
  const env = {
    DATABASE_URL: scratch.url,
    LOG_DATA: path.join(dir, 'log_data'),
    SONG_DATA: path.join(dir, 'song_data'),
    LOG_JSONPATH: path.join(dir, 'log_json_path.json'),
  };
  try {
    await runTool(['migrate', 'up', '--quiet'], env, undefined);
    const db = await connectWire({ connectionString: env.DATABASE_URL });
    const postmaster = await findPostmaster(db, env.DATABASE_URL);
    if (postmaster === undefined) notes.push(`${server.label}: not on this machine, so its CPU is not measured.`);
    const csv = await csvFor(dir, env, db);
    warmPageCache(dir);
    const load = os.loadavg()[0] ?? NaN;
    const row = (step: string, r: Omit<Row, 'server' | 'size' | 'key' | 'step' | 'rows' | 'mb' | 'load'>) => ({
      server: server.label,
      size: size.label,
      key,
      step,
      rows: csv.rows,
      mb: csv.mb,
      load,
      ...r,
    });
    const settle = () => db.query('CHECKPOINT').catch(() => undefined);
    const empty = async () => {
      await db.query(`TRUNCATE ${LOADED_TABLES.join(', ')}`);
      await settle();
    };
    // Every figure is the median of several rounds; each timed run starts after a CHECKPOINT,
    // so that no run pays for writing out the dirty pages of the one before.
    const limit: { seconds: number; serverCpu: number | undefined }[] = [];
    const reference: { seconds: number; serverCpu: number | undefined; nodeCpu: number }[] = [];
    let limitKind = 'server-side COPY FROM file';
    const runs = { stage: [] as ToolRun[], transform: [] as ToolRun[], whole: [] as ToolRun[], again: [] as ToolRun[] };
    for (let round = 1; round <= rounds; round += 1) {
      log.info(
        `${server.label}, ${size.label}: round ${round} of ${rounds}: the limit, the reference, the tool's stage, transform, whole load, re-run…`,
      );
      await settle();
      let s0 = serverCpu(postmaster);
      let seconds: number;
      try {
        if (limitKind !== 'server-side COPY FROM file') throw new Error(limitKind);
        seconds =
          (await serverSideCopy(db, 'staging_events', path.join(csv.dir, 'events.csv'))) +
          (await serverSideCopy(db, 'staging_songs', path.join(csv.dir, 'songs.csv')));
      } catch (err) {
        if (limitKind === 'server-side COPY FROM file') {
          limitKind = existsSync(path.join(pg15Bin(), 'psql'))
            ? "psql's \\copy (client-side)"
            : 'COPY FROM STDIN from node (client-side)';
          notes.push(
            `${server.label}: the server may not read the CSV file (${(err as Error).message.split('\n')[0]}); the limit is ${limitKind}.`,
          );
        }
        seconds = limitKind.startsWith('psql')
          ? (await psqlCopy(env.DATABASE_URL, 'staging_events', path.join(csv.dir, 'events.csv'))) +
            (await psqlCopy(env.DATABASE_URL, 'staging_songs', path.join(csv.dir, 'songs.csv')))
          : (await nodeClientCopy(db, 'staging_events', path.join(csv.dir, 'events.csv'))) +
            (await nodeClientCopy(db, 'staging_songs', path.join(csv.dir, 'songs.csv')));
      }
      await new Promise((r) => setTimeout(r, 150));
      const s1 = serverCpu(postmaster);
      limit.push({ seconds, serverCpu: s0 === undefined || s1 === undefined ? undefined : s1 - s0 });
      await settle();
      s0 = serverCpu(postmaster);
      const c0 = process.cpuUsage();
      const ref =
        (await nodeClientCopy(db, 'staging_events', path.join(csv.dir, 'events.csv'))) +
        (await nodeClientCopy(db, 'staging_songs', path.join(csv.dir, 'songs.csv')));
      const c1 = process.cpuUsage(c0);
      await new Promise((r) => setTimeout(r, 150));
      const s2 = serverCpu(postmaster);
      reference.push({
        seconds: ref,
        serverCpu: s0 === undefined || s2 === undefined ? undefined : s2 - s0,
        nodeCpu: (c1.user + c1.system) / 1e6,
      });
      await empty();
      runs.stage.push(await runTool(['load', '--only', 'stage', '--quiet'], env, postmaster));
      await settle();
      runs.transform.push(await runTool(['load', '--only', 'transform', '--quiet'], env, postmaster));
      await empty();
      runs.whole.push(await runTool(['load', '--quiet'], env, postmaster));
      await settle();
      runs.again.push(await runTool(['load', '--quiet'], env, postmaster));
    }
    await db.end();
    const lim = limit.find((l) => l.seconds === middle(limit.map((x) => x.seconds))) as (typeof limit)[number];
    const refRun = reference.find(
      (l) => l.seconds === middle(reference.map((x) => x.seconds)),
    ) as (typeof reference)[number];
    results.push(
      row(`limit: ${limitKind} (CSV)`, {
        seconds: lim.seconds,
        ...(lim.serverCpu === undefined ? {} : { serverCpu: lim.serverCpu }),
        ratio: 1,
      }),
    );
    results.push(
      row('reference: COPY FROM STDIN from node (CSV; the old baseline)', {
        seconds: refRun.seconds,
        nodeCpu: refRun.nodeCpu,
        ...(refRun.serverCpu === undefined ? {} : { serverCpu: refRun.serverCpu }),
        ratio: refRun.seconds / lim.seconds,
      }),
    );
    const steps: [keyof typeof runs, string][] = [
      ['stage', 'stage'],
      ['transform', 'transform (first run)'],
      ['whole', 'whole load (first run, empty warehouse)'],
      ['again', 'whole load (re-run, nothing new)'],
    ];
    for (const [name, step] of steps) {
      const run = median(runs[name]);
      results.push(
        row(step, {
          seconds: run.seconds,
          workSeconds: run.workSeconds,
          nodeCpu: run.nodeCpu,
          ...(run.serverCpu === undefined ? {} : { serverCpu: run.serverCpu }),
          rssMb: run.rssMb,
          ratio: run.workSeconds / lim.seconds,
        }),
      );
      if (name === 'whole' && key !== 'small') {
        const slowest = Object.entries(run.steps)
          .filter(([s]) => !s.startsWith('stage'))
          .sort((a, b) => b[1] - a[1])[0];
        if (slowest)
          notes.push(
            `${server.label}, ${size.label}: the slowest transform step of the whole load is ${slowest[0]}, ${slowest[1].toFixed(2)} s (${(slowest[1] / lim.seconds).toFixed(2)} × the limit).`,
          );
      }
    }
  } finally {
    await scratch.drop();
  }
}

/**
 * Small song files from s3:// through a proxy that holds every request
 * `latencyMs`, in front of s3rver (stage only); the timed rounds get the
 * object bytes s3rver gave in an untimed first round, replayed by the proxy.
 */
async function benchS3(
  server: Server,
  key: string,
  size: Size,
  rounds: number,
  latencyMs: number,
  results: Row[],
): Promise<void> {
  const dir = await dataFor(key, size);
  const store = path.join(dataRoot, `${key}-s3rver`);
  await mkdir(store, { recursive: true });
  const s3rver = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: store });
  const endpoint = `http://127.0.0.1:${((await s3rver.run()) as { port: number }).port}`;
  const credentials = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-west-2' };
  const proxy = await startS3Proxy(endpoint, { latencyMs, replay: true });
  const scratch = await createScratchDatabase(server.url, `bench_${key}`);
  try {
    if (!existsSync(path.join(store, 'uploaded'))) {
      log.info(`Uploading ${size.label} to s3rver (once; kept in ${store})…`);
      const client = new S3Client({
        endpoint,
        region: 'us-west-2',
        forcePathStyle: true,
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      });
      await client.send(new CreateBucketCommand({ Bucket: 'bench' })).catch(() => undefined);
      const files = (readdirSync(dir, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
        .filter((d) => d.isFile() && d.name.endsWith('.json'))
        .map((d) => path.join(direntFolder(d), d.name));
      let next = 0;
      await Promise.all(
        Array.from({ length: 32 }, async () => {
          while (next < files.length) {
            const f = files[next++] as string;
            await client.send(
              new PutObjectCommand({
                Bucket: 'bench',
                Key: path.relative(dir, f).split(path.sep).join('/'),
                Body: await readFile(f),
              }),
            );
          }
        }),
      );
      client.destroy();
      await writeFile(path.join(store, 'uploaded'), '');
    }
    const env = {
      ...credentials,
      DATABASE_URL: scratch.url,
      AWS_ENDPOINT_URL_S3: proxy.url,
      LOG_DATA: 's3://bench/log_data/',
      SONG_DATA: 's3://bench/song_data/',
      LOG_JSONPATH: 's3://bench/log_json_path.json',
    };
    await runTool(['migrate', 'up', '--quiet'], env, undefined);
    const load = os.loadavg()[0] ?? NaN;
    // An untimed round first: the proxy records s3rver's answers and replays them in the timed rounds.
    log.info(`${size.label}: a first, untimed round through s3rver…`);
    await runTool(['load', '--only', 'stage', '--quiet'], env, undefined);
    const runs: ToolRun[] = [];
    for (let round = 1; round <= rounds; round += 1) {
      log.info(`${size.label} (${latencyMs} ms a request): round ${round} of ${rounds}: the tool's stage…`);
      runs.push(await runTool(['load', '--only', 'stage', '--quiet'], env, undefined));
    }
    const run = median(runs);
    const objects = size.songs + 31; // the song files, 30 log files and the JSONPaths file
    results.push({
      server: server.label,
      size: `${size.label} (${latencyMs} ms a request, S3_MAX_CONCURRENCY ${process.env['S3_MAX_CONCURRENCY'] || 'default'})`,
      key,
      step: 'stage',
      rows: objects,
      mb: NaN,
      seconds: run.seconds,
      workSeconds: run.workSeconds,
      nodeCpu: run.nodeCpu,
      rssMb: run.rssMb,
      load,
    });
  } finally {
    await scratch.drop();
    await proxy.close();
    await s3rver.close();
  }
}

/** Issue 27's figures of the full set, each with its target (rendered under the table). */
const fullTargets: { target: string; figure: string; met: boolean | undefined; load: number }[] = [];

/**
 * Today's udacity-dend at full size (385,252 one-record song objects, 30 log
 * files; generated once into .warehouse/bench-data/full and kept), on the
 * first server, one after another:
 * 1. PostgreSQL staging from the local folder;
 * 2. PostgreSQL staging from s3://, from the store stand-in
 *    (test/support/s3-store-stand-in.ts: s3rver cannot list 385k keys in
 *    reasonable time, nor by delimiter) holding every request `latencyMs`;
 * 3. the Redshift path through the Data API stand-in with compaction (--compact):
 *    the compaction's time and chunks, the stand-in COPY's GETs, and the S3
 *    requests against the uncompacted path's (one GET per object, as
 *    test/redshift-compaction.test.ts measures at 20k objects: not run here,
 *    it would take the stand-in 385,252 GETs).
 */
async function benchFull(
  server: Server,
  key: string,
  size: Size,
  rounds: number,
  latencyMs: number,
  parts: readonly string[],
  results: Row[],
): Promise<void> {
  const dir = await dataFor(size.songs === FULL_SIZE.songs ? key : `${key}-${size.songs}`, size);
  const objects = size.songs + FULL_SIZE.days + 1; // the song objects, the log files and the JSONPaths file
  const row = (label: string, run: ToolRun, load: number): Row => ({
    server: server.label,
    size: `${size.label}: ${label}`,
    key,
    step: 'stage',
    rows: objects,
    mb: NaN,
    seconds: run.seconds,
    workSeconds: run.workSeconds,
    nodeCpu: run.nodeCpu,
    rssMb: run.rssMb,
    load,
  });
  const add = (target: string, figure: string, met: boolean | undefined, load: number) =>
    fullTargets.push({ target, figure, met, load });
  /** Each part's staged rows, as one digest (the issue's "rows identical across paths"). */
  const staged = new Map<string, string>();
  const digestOf = async (url: string, name: string) => staged.set(name, await stagedDigest(url));
  /** `load --only stage` `rounds` times into a migrated database (`before`: after the migration): the median run (the highest RSS) and the load average when they began. */
  const stageRounds = async (env: Record<string, string>, what: string, before?: () => void) => {
    await runTool(['migrate', 'up', '--quiet'], env, undefined);
    before?.();
    const load = os.loadavg()[0] ?? NaN;
    const runs: ToolRun[] = [];
    for (let round = 1; round <= rounds; round += 1) {
      log.info(`${size.label}, ${what}: round ${round} of ${rounds}: the tool's stage…`);
      runs.push(await runTool(['load', '--only', 'stage', '--quiet'], env, undefined));
    }
    return { run: median(runs), load };
  };
  /** The RSS target, after a part's speed target (its "…" continues that line). */
  const addRss = (run: ToolRun, load: number) =>
    add(
      '…peak RSS ≤ 256 MB',
      `${run.rssMb.toFixed(0)} MB (heap used at most ${run.heapUsedMb.toFixed(0)} MB)`,
      run.rssMb <= 256,
      load,
    );

  /** A part that fails is reported as such; the others' figures are kept. `which`: its --full-parts name. */
  const part = async (which: string, name: string, run: () => Promise<void>) => {
    if (!parts.includes(which)) return;
    try {
      await run();
    } catch (err) {
      log.warn(`${size.label}, ${name}: failed: ${(err as Error).message}`);
      add(`${name}`, `failed: ${(err as Error).message.split('\n').slice(0, 3).join(' ').slice(0, 300)}`, false, NaN);
    }
  };

  // 1. Local folder.
  await part('local', 'local folder', async () => {
    const local = await createScratchDatabase(server.url, `bench_${key}_local`);
    try {
      const env = {
        DATABASE_URL: local.url,
        LOG_DATA: path.join(dir, 'log-data'),
        SONG_DATA: path.join(dir, 'song-data'),
        LOG_JSONPATH: path.join(dir, 'log_json_path.json'),
      };
      const { run, load } = await stageRounds(env, 'local folder', () => warmPageCache(dir));
      results.push(row('local folder', run, load));
      add(
        `${size.songs} local song files staged on PostgreSQL in ≤ 15 s (stage time once started)`,
        `${run.workSeconds.toFixed(1)} s (${Math.round(size.songs / run.workSeconds)} files/s)`,
        run.workSeconds <= 15,
        load,
      );
      addRss(run, load);
      await digestOf(local.url, 'local');
    } finally {
      await local.drop();
    }
  });

  // 2 and 3: from s3://, every request held latencyMs.
  if (!parts.includes('s3') && !parts.includes('redshift')) return;
  log.info(`${size.label}: reading the set into the S3 store stand-in…`);
  const store = await startS3StoreStandIn(
    { 'bench-full': objectsOfFolder(dir).filter(([k]) => !k.startsWith('csv/') && k !== 'done'), 'bench-stage': [] },
    { latencyMs },
  );
  const credentials = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-west-2' };
  const sources = {
    ...credentials,
    AWS_ENDPOINT_URL_S3: store.url,
    LOG_DATA: 's3://bench-full/log-data/',
    SONG_DATA: 's3://bench-full/song-data/',
    LOG_JSONPATH: 's3://bench-full/log_json_path.json',
  };
  try {
    await part('s3', 's3://', async () => {
      const scratch = await createScratchDatabase(server.url, `bench_${key}_s3`);
      try {
        const env = { ...sources, DATABASE_URL: scratch.url };
        const { run, load } = await stageRounds(env, `s3:// (${latencyMs} ms a request)`);
        const concurrency = process.env['S3_MAX_CONCURRENCY'] || 'default';
        results.push(row(`s3:// (${latencyMs} ms a request, S3_MAX_CONCURRENCY ${concurrency})`, run, load));
        const perSecond = objects / run.workSeconds;
        add(
          `objects staged from s3:// at ${latencyMs} ms a request ≥ 2,500 objects/s`,
          `${Math.round(perSecond)} objects/s (${objects} objects in ${run.workSeconds.toFixed(1)} s, listing included)`,
          perSecond >= 2500,
          load,
        );
        addRss(run, load);
        await digestOf(scratch.url, 's3://');
      } finally {
        await scratch.drop();
      }
    });

    // 3. Redshift through the Data API stand-in, compacted.
    await part('redshift', 'Redshift path, compacted', async () => {
      const standIn = await spawnDataApiStandIn(server.url, {
        ...credentials,
        AWS_ENDPOINT_URL_S3: store.url,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      });
      const rs = await createScratchDatabase(server.url, `bench_${key}_rs`);
      try {
        const env = {
          ...sources,
          DATABASE_URL: `redshift-data://cluster:sparkify-cluster/${new URL(rs.url).pathname.slice(1)}`,
          AWS_ENDPOINT_URL_REDSHIFT_DATA: standIn.endpoint,
          IAM_ROLE_ARN: 'arn:aws:iam::123456789012:role/sparkify-redshift-s3-read',
          LOAD_STAGE_PREFIX: 's3://bench-stage/runs/',
          // The stand-in runs a COPY of 385k rows in its one process, answering nothing meanwhile (a
          // cluster answers the lock's keep-alive during a COPY): waits long enough for it.
          PG_KEEPALIVE_SECONDS: '1800',
          DATA_API_REQUEST_TIMEOUT_SECONDS: '1800',
        };
        await runTool(['migrate', 'up', '--quiet'], env, undefined);
        const load = os.loadavg()[0] ?? NaN;
        const before = { ...store.counts };
        log.info(`${size.label}, Redshift path (Data API stand-in), compacted: the tool's stage…`);
        const run = await runTool(['load', '--only', 'stage', '--compact'], env, undefined);
        const requests = (c: typeof store.counts) => c.list + c.delimitedList + c.get + c.put + c.delete + c.other;
        const compactedRequests = requests(store.counts) - requests(before);
        results.push(row('Redshift path, compacted (Data API stand-in)', run, load));
        const m =
          /Staging staging_songs: compacted (\d+) objects into (\d+) chunks for (\d+) slices .* in ([\d.]+) s/.exec(
            run.stderr,
          );
        const copies = (
          (await (await fetch(`${standIn.endpoint}/stand-in/copies`)).json()) as {
            copies: { table: string; gets: number; rows: number }[];
          }
        ).copies;
        const songsCopy = copies.filter((c) => c.table === 'staging_songs').at(-1);
        const chunks = Number(m?.[2] ?? NaN);
        add(
          'compaction of the song objects (time; chunks, a multiple of the slices)',
          m ? `${m[4]} s; ${chunks} chunks for ${m[3]} slices (${m[1]} objects)` : 'not reported',
          undefined,
          load,
        );
        const gets = songsCopy?.gets ?? NaN;
        add('the stand-in COPY’s GETs for the songs ≤ 16 (at 8 slices)', `${gets}`, gets <= 16, load);
        // The uncompacted COPY makes one GET per object and lists the prefix, 1,000 keys a page.
        const uncompacted = size.songs + Math.ceil(size.songs / 1000);
        add(
          'S3 requests of the songs COPY, compacted ÷ uncompacted',
          `${gets} ÷ ${uncompacted} = ${(gets / uncompacted).toExponential(2)}`,
          undefined,
          load,
        );
        add(
          '…and of the whole compacted stage (the tool reading every object, writing the chunks, the COPYs) ÷ uncompacted',
          `${compactedRequests} ÷ ${uncompacted + FULL_SIZE.days + 1} = ${(compactedRequests / (uncompacted + FULL_SIZE.days + 1)).toFixed(2)}`,
          undefined,
          load,
        );
        // The stand-in's warehouse is a PostgreSQL database on the same server: its staged rows read directly.
        await digestOf(rs.url, 'Redshift (compacted)');
      } finally {
        await rs.drop();
        await standIn.close();
      }
    });
  } finally {
    await store.close();
    if (staged.size > 1) {
      const digests = new Set(staged.values());
      add(
        `the same staged rows on every path (${[...staged.keys()].join(', ')})`,
        digests.size === 1
          ? `identical: ${[...digests][0] ?? ''}`
          : [...staged].map(([k, d]) => `${k} ${d}`).join('; '),
        digests.size === 1,
        NaN,
      );
    }
  }
}

/**
 * The staging tables' rows as one digest: each table's row count and the MD5 of its rows' text in order
 * (computed by the server), so that paths that staged the same rows give the same text.
 */
async function stagedDigest(url: string): Promise<string> {
  const db = await connectWire({ connectionString: url });
  try {
    const out: string[] = [];
    for (const table of ['staging_events', 'staging_songs']) {
      const { rows } = await db.query<{ n: string; md5: string | null }>(
        `SELECT COUNT(*) AS n, MD5(STRING_AGG(CAST((r.*) AS TEXT), E'\\n' ORDER BY CAST((r.*) AS TEXT) COLLATE "C")) AS md5 FROM ${table} AS r`,
      );
      out.push(`${table} ${rows[0]?.n ?? '?'} rows, md5 ${(rows[0]?.md5 ?? '').slice(0, 12)}`);
    }
    return out.join(', ');
  } finally {
    await db.end();
  }
}

function machine(servers: readonly Server[]): string {
  const cpu = os.cpus();
  return `${cpu.length} × ${cpu[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; servers: ${servers.map((s) => s.label).join(', ')}`;
}

const fmt = (n: number | undefined, digits = 2) => (n === undefined || Number.isNaN(n) ? '' : n.toFixed(digits));

/**
 * Peak RSS of a full load of many small song files, then of an --incremental
 * load that finds nothing new (the listing, the ledger compared in SQL, the
 * ledger written): one round each, times for context only.
 */
async function benchMemory(server: Server, key: string, size: Size, results: Row[]): Promise<void> {
  const dir = await dataFor(key, size);
  const scratch = await createScratchDatabase(server.url, `bench_${key.replace(/\W/g, '_')}`);
  const env = {
    DATABASE_URL: scratch.url,
    LOG_DATA: path.join(dir, 'log_data'),
    SONG_DATA: path.join(dir, 'song_data'),
    LOG_JSONPATH: path.join(dir, 'log_json_path.json'),
    // Memory is measured, not the lock: listing and reading 1M local files is synchronous work
    // that can hold the event loop past the default 30 s keep-alive deadline on a loaded machine.
    PG_KEEPALIVE_SECONDS: '600',
  };
  try {
    await runTool(['migrate', 'up', '--quiet'], env, undefined);
    const objects = size.songs + 30; // the song files and 30 log files
    for (const [step, args] of [
      ['whole load (first run, empty warehouse)', ['load', '--quiet']],
      ['load --incremental (nothing new)', ['load', '--incremental', '--quiet']],
    ] as const) {
      const load = os.loadavg()[0] ?? NaN;
      log.info(`${server.label}, ${size.label}: ${step}…`);
      const run = await runTool([...args], env, undefined);
      results.push({
        server: server.label,
        size: size.label,
        key,
        step,
        rows: objects,
        mb: NaN,
        seconds: run.seconds,
        workSeconds: run.workSeconds,
        nodeCpu: run.nodeCpu,
        rssMb: run.rssMb,
        load,
      });
    }
  } finally {
    await scratch.drop();
  }
}

async function main(): Promise<void> {
  const options = parseArgs();
  cpuProfDir = options.cpuProf ? path.resolve(options.cpuProf) : undefined;
  if (options.fullSongs !== FULL_SIZE.songs) {
    const full = SIZES['full'] as Size;
    SIZES['full'] = {
      ...full,
      songs: options.fullSongs,
      label: `the full size's layout with ${options.fullSongs} song objects`,
    };
  }
  const started = new Date();
  const servers: Server[] = [];
  const results: Row[] = [];
  const notes: string[] = [];
  const latest = path.join(PROJECT_DIR, 'bench-results', 'latest.md');
  await mkdir(path.dirname(latest), { recursive: true });
  try {
    for (const kind of options.servers) servers.push(await startServer(kind));
    for (const key of options.sizes) {
      const size = SIZES[key] as Size;
      for (const server of servers) {
        if (size.full) {
          if (server === servers[0])
            await benchFull(server, key, size, options.rounds, options.s3LatencyMs, options.fullParts, results);
        } else if (size.s3) {
          // Latency-bound, not server-bound: once, on the first server.
          if (server === servers[0]) await benchS3(server, key, size, options.rounds, options.s3LatencyMs, results);
        } else if (size.memory) {
          // Memory, not time: once, on the first server.
          if (server === servers[0]) await benchMemory(server, key, size, results);
        } else {
          await benchSize(server, key, size, options.rounds, results, notes);
        }
        // What is measured so far, in case a long run is stopped.
        await writeFile(latest, render(started, options.rounds, servers, results, notes));
      }
    }
  } finally {
    for (const s of servers) await s.handle?.stop();
    log.info(`Generated data kept in ${dataRoot} for the next run (delete it to regenerate).`);
  }
  const table = render(started, options.rounds, servers, results, notes);
  process.stdout.write(table);
  await writeFile(latest, table);
}

function render(
  started: Date,
  rounds: number,
  servers: readonly Server[],
  results: Row[],
  notes: readonly string[],
): string {
  const header = [
    `Benchmark started ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC on ${machine(servers)}; each figure the median of ${rounds} rounds.`,
    `Ratios: the tool's time once started (node and module loading excluded) ÷ the limit's time, on the same server in the same run. CPU: seconds used by the loading node process and by the server (backends and helper processes) during the step. Load: the 1-minute load average when the size began.`,
  ];
  const lines = [
    ...header,
    '',
    '| server | size | step | rows | input MB | seconds | seconds once started | rows/s | ÷ limit | node CPU s | server CPU s | peak RSS MB | load |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...results.map(
      (r) =>
        `| ${r.server} | ${r.size} | ${r.step} | ${r.rows} | ${fmt(r.mb, 1)} | ${fmt(r.seconds)} | ${fmt(r.workSeconds)} | ${Math.round(r.rows / (r.workSeconds ?? r.seconds))} | ${fmt(r.ratio)} | ${fmt(r.nodeCpu)} | ${fmt(r.serverCpu)} | ${fmt(r.rssMb, 0)} | ${fmt(r.load, 1)} |`,
    ),
    '',
    ...targets(results, servers),
    '',
    ...notes.map((n) => `- ${n}`),
  ];
  return `${lines.join('\n')}\n`;
}

/** The issue's targets (issue 18), each with this run's figure and whether it was met. */
function targets(results: Row[], servers: readonly Server[]): string[] {
  const out = ['| target | server | figure | met | load |', '| --- | --- | --- | --- | ---: |'];
  /** met: undefined for a figure given as context, with no target of its own. */
  const add = (target: string, server: string, figure: string, met: boolean | undefined, load: number) =>
    out.push(
      `| ${target} | ${server} | ${figure} | ${met === undefined ? '–' : met ? 'yes' : 'NO'} | ${fmt(load, 1)} |`,
    );
  for (const server of servers) {
    const find = (key: string, step: string) =>
      results.find((r) => r.server === server.label && r.key === key && r.step.startsWith(step));
    const stageTarget = server.kind === 'embedded' ? 1.3 : 1.5;
    const stage1m = find('1m', 'stage');
    if (stage1m?.ratio !== undefined)
      add(
        `stage at 1M events ≤ ${stageTarget} × the limit`,
        server.label,
        `${stage1m.ratio.toFixed(2)} × (node ${fmt(stage1m.nodeCpu, 1)} s CPU, server ${fmt(stage1m.serverCpu, 1)} s)`,
        stage1m.ratio <= stageTarget,
        stage1m.load,
      );
    const whole1m = find('1m', 'whole load (first');
    if (whole1m?.ratio !== undefined)
      add(
        'whole load (stage + transforms) at 1M events ≤ 3 × the limit',
        server.label,
        `${whole1m.ratio.toFixed(2)} ×`,
        whole1m.ratio <= 3,
        whole1m.load,
      );
    // Linearity: marginal rows/s, the rows beyond the 10k-event run with the same 20k song files
    // (`base`) over the time beyond it, so that what every run costs (start-up, connecting,
    // committing, the JIT warming up, the song files) is not counted as per-row cost. A cost that
    // grows linearly gives the same marginal rate at 1M and at 10M.
    for (const big of ['2m', '10m']) {
      for (const step of ['stage', 'whole load (first']) {
        const [small, mid, large] = [find('base', step), find('1m', step), find(big, step)];
        if (!small || !mid || !large) continue;
        const rate = (r: Row) =>
          (r.rows - small.rows) / ((r.workSeconds ?? r.seconds) - (small.workSeconds ?? small.seconds));
        const change = rate(large) / rate(mid) - 1;
        add(
          `${step.replace(' (first', '')}: marginal rows/s at ${big.toUpperCase()} within 15% of 1M`,
          server.label,
          `${Math.round(rate(large))} vs ${Math.round(rate(mid))} rows/s (${change >= 0 ? '+' : ''}${(change * 100).toFixed(0)}%)`,
          Math.abs(change) <= 0.15,
          large.load,
        );
        // Context: the same ratio to the limit at both sizes means the tool scales as the server's own COPY does.
        if (large.ratio !== undefined && mid.ratio !== undefined) {
          add(
            `${step.replace(' (first', '')}: ÷ limit at ${big.toUpperCase()} and at 1M (context)`,
            server.label,
            `${large.ratio.toFixed(2)} × and ${mid.ratio.toFixed(2)} ×`,
            undefined,
            large.load,
          );
        }
        if (large.rssMb !== undefined)
          add(
            `${step.replace(' (first', '')}: peak RSS at ${big.toUpperCase()} ≤ 256 MB`,
            server.label,
            `${large.rssMb.toFixed(0)} MB`,
            large.rssMb <= 256,
            large.load,
          );
      }
    }
    for (const big of ['2m', '10m']) {
      const [mid, large] = [find('1m', 'limit'), find(big, 'limit')];
      if (!mid || !large) continue;
      const perRow = (r: Row) => r.rows / r.seconds;
      const change = perRow(large) / perRow(mid) - 1;
      add(
        `the limit's own rows/s at ${big.toUpperCase()} against 1M (context: the machine's scaling)`,
        server.label,
        `${Math.round(perRow(large))} vs ${Math.round(perRow(mid))} rows/s (${change >= 0 ? '+' : ''}${(change * 100).toFixed(0)}%)`,
        undefined,
        large.load,
      );
    }
    const files = find('files', 'stage');
    if (files) {
      const perSecond = (SIZES['files'] as Size).songs / (files.workSeconds ?? files.seconds);
      add(
        '100k small song files from a local folder ≥ 5,000 files/s (stage)',
        server.label,
        `${Math.round(perSecond)} files/s`,
        perSecond >= 5000,
        files.load,
      );
    }
    for (const r of results.filter((x) => x.server === server.label && SIZES[x.key]?.memory))
      add(
        `${r.size}: ${r.step}: peak RSS ≤ 256 MB`,
        server.label,
        `${fmt(r.rssMb, 0)} MB (${fmt(r.workSeconds, 0)} s once started)`,
        (r.rssMb ?? Infinity) <= 256,
        r.load,
      );
    const rss = Math.max(
      0,
      ...results
        .filter((r) => r.server === server.label && r.key !== '10m' && r.key !== '2m' && !SIZES[r.key]?.memory)
        .map((r) => r.rssMb ?? 0),
    );
    if (rss > 0)
      add(
        'peak RSS of the loader ≤ 256 MB at every other size',
        server.label,
        `${rss.toFixed(0)} MB at most`,
        rss <= 256,
        NaN,
      );
  }
  for (const f of fullTargets)
    add(f.target, results.find((r) => r.key === 'full')?.server ?? '', f.figure, f.met, f.load);
  const s3 = results.find((r) => r.key === 's3');
  if (s3) {
    const perSecond = s3.rows / (s3.workSeconds ?? s3.seconds);
    add(
      'small files from s3:// at 40 ms a request ≥ 1,000 objects/s staged',
      s3.server,
      `${Math.round(perSecond)} objects/s (${s3.rows} objects)`,
      perSecond >= 1000,
      s3.load,
    );
    add(
      '…with memory bounded: peak RSS ≤ 256 MB',
      s3.server,
      `${fmt(s3.rssMb, 0)} MB`,
      (s3.rssMb ?? Infinity) <= 256,
      s3.load,
    );
  }
  return out;
}

await main();
process.exit(0);
