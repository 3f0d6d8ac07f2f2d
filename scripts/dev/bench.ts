/**
 * npm run bench: loads generated data at several sizes into PostgreSQL
 * (embedded by default, or DATABASE_URL) and compares, in the same run on the
 * same server, the tool's staging with PostgreSQL's own COPY FROM STDIN of the
 * same rows already converted to CSV (the baseline; the conversion is not
 * timed). Prints a Markdown table and writes it to bench-results/latest.md.
 * A benchmark, not a test: it asserts nothing.
 *
 *   npm run bench [-- --sizes small,100k,1m,files --rounds 3]
 */
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { pipeline as streamPipeline } from 'node:stream/promises';
import { pipeline } from '../../loaders/index.ts';
import { stageEvents } from '../../loaders/stage-events.ts';
import { stageSongs } from '../../loaders/stage-songs.ts';
import type { Connection } from '../../lib/db/connection.ts';
import { connectWire } from '../../lib/db/wire-connection.ts';
import { stagingColumns } from '../../lib/dialect/postgres/staging.ts';
import { toCopyField, Unloadable, type StagingColumn } from '../../lib/dialect/postgres/staging/copy-row.ts';
import { LEDGER_TABLE } from '../../lib/load/ledger.ts';
import { createLogger } from '../../lib/log.ts';
import { generate } from '../../lib/sample/generator.ts';
import { compileMapping, parseJsonPathsFile } from '../../lib/sources/json-mapping.ts';
import { JsonRecordSplitter } from '../../lib/sources/json-records.ts';
import { createSourceReader } from '../../lib/sources/source-objects.ts';
import { createScratchDatabase } from './scratch-database.ts';
import { startScratchServer, type ScratchServer } from './scratch-server.ts';
import { PROJECT_DIR, spawnCli } from './spawn-cli.ts';

const log = createLogger();
const argv = process.argv.slice(2);
const flag = (name: string) => {
  const i = argv.indexOf(`--${name}`);
  return i === -1 ? undefined : argv[i + 1];
};
const SIZES: Record<string, { events: number; songs: number; label: string }> = {
  // A small run that every larger one is measured against for linearity: what a run costs
  // whatever its size (start-up, connecting, committing, warming up the JIT) is in it too.
  small: { events: 10_000, songs: 200, label: '10k events (linearity reference)' },
  '100k': { events: 100_000, songs: 2_000, label: '100k events' },
  '1m': { events: 1_000_000, songs: 20_000, label: '1M events' },
  files: { events: 10_000, songs: 100_000, label: '100k song files' },
};
const sizes = (flag('sizes') ?? 'small,100k,1m,files').split(',');
const rounds = Number(flag('rounds') ?? 3);
const dataRoot = path.join(PROJECT_DIR, '.warehouse', 'bench-data');

interface Row {
  size: string;
  key: string;
  step: string;
  rows: number;
  mb: number;
  /** The baseline has a time and no process. */
  run: ToolRun | { seconds: number; workSeconds?: undefined; rssMb?: undefined };
  ratio: string;
}

/** The same rows as CSV, for the baseline (not timed). */
async function toCsv(source: string, mappingSetting: string, columns: StagingColumn[], out: string): Promise<{ rows: number; bytes: number }> {
  const reader = createSourceReader('us-west-2');
  const names = columns.map((c) => c.name);
  const mapping = mappingSetting === 'auto' ? ({ kind: 'auto', ignoreCase: false } as const) : parseJsonPathsFile((await import('node:fs')).readFileSync(mappingSetting, 'utf8'), mappingSetting, names);
  const pick = compileMapping(mapping, names);
  const stream = createWriteStream(out);
  let buf = '';
  let rows = 0;
  let bytes = 0;
  const csvField = (v: string) => (v === '\\N' ? '' : `"${v.replace(/\\t/g, '\t').replace(/\\n/g, '\n').replace(/\\r/g, '\r').replace(/\\\\/g, '\\').replace(/"/g, '""')}"`);
  for (const object of await reader.list(source)) {
    const chunks: Buffer[] = [];
    for await (const c of await reader.open(object)) chunks.push(Buffer.from(c));
    bytes += object.size;
    const splitter = new JsonRecordSplitter({
      record: ({ value }) => {
        const raw = pick(value);
        buf += `${raw.map((v, i) => { const f = toCopyField(v, columns[i] as StagingColumn); return f instanceof Unloadable ? '' : csvField(f); }).join(',')}\n`;
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

/**
 * PostgreSQL's own COPY of the CSV into a new table shaped like the staging
 * table and of the same kind (UNLOGGED when staging is): created in the
 * timed transaction, so a logged table skips WAL too (wal_level=minimal),
 * as staging does. COPY and COMMIT are timed.
 */
async function baselineCopy(client: Connection, table: string, csv: string): Promise<number> {
  const { rows } = await client.query<{ unlogged: boolean }>(`SELECT relpersistence = 'u' AS unlogged FROM pg_class WHERE oid = CAST($1 AS regclass)`, [table]);
  await client.query(`DROP TABLE IF EXISTS bench_${table}`);
  await client.query('BEGIN');
  await client.query(`CREATE ${rows[0]?.unlogged ? 'UNLOGGED ' : ''}TABLE bench_${table} (LIKE ${table})`);
  const start = process.hrtime.bigint();
  const copy = client.copyFromStdin;
  if (!copy) throw new Error('the baseline needs COPY FROM STDIN (PostgreSQL)');
  await streamPipeline(createReadStream(csv, { highWaterMark: 1 << 20 }), copy(`COPY bench_${table} FROM STDIN (FORMAT csv)`));
  await client.query('COMMIT');
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  await client.query(`DROP TABLE bench_${table}`);
  return seconds;
}

interface ToolRun {
  /** Wall time of the process, start-up included. */
  seconds: number;
  /** The command's own time, process start-up (node, tsx, loading modules) excluded. */
  workSeconds: number;
  rssMb: number;
}

function runTool(args: string[], env: Record<string, string>): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawnCli(args, { ...process.env, ...env, SPARKIFY_REPORT_RESOURCES: '1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      if (code !== 0) return reject(new Error(`load ${args.join(' ')} failed (${code}):\n${stderr}`));
      const m = /resources: (\{.*\})/.exec(stderr);
      const report = JSON.parse(m?.[1] ?? '{}') as { maxRssKb?: number; workSeconds?: number };
      const rssMb = (report.maxRssKb ?? NaN) / 1024;
      const workSeconds = report.workSeconds ?? NaN;
      resolve({ seconds, workSeconds, rssMb });
    });
  });
}

/** The middle value (the lower of the two middle ones for an even count). */
function middle(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? NaN;
}

/** The run with the median time; its peak RSS is the highest of all the runs'. */
function median(runs: readonly ToolRun[]): ToolRun {
  const mid = runs.find((r) => r.seconds === middle(runs.map((x) => x.seconds)));
  if (!mid) throw new Error('no runs');
  return { ...mid, rssMb: Math.max(...runs.map((r) => r.rssMb)) };
}

const LOADED_TABLES = [...pipeline.tables, LEDGER_TABLE];

async function main(): Promise<void> {
  let server: ScratchServer | undefined;
  let adminUrl = process.env['DATABASE_URL'];
  if (!adminUrl) {
    server = await startScratchServer('sparkify-bench', log);
    adminUrl = server.url;
  }
  const results: Row[] = [];
  let filesPerSecond: number | undefined;
  try {
    for (const key of sizes) {
      const size = SIZES[key];
      if (!size) throw new Error(`unknown size ${key} (choose from ${Object.keys(SIZES).join(', ')})`);
      const dir = path.join(dataRoot, key);
      if (!existsSync(path.join(dir, 'done'))) {
        log.info(`Generating ${size.label} (${size.songs} song files)…`);
        await rm(dir, { recursive: true, force: true });
        await generate({ events: size.events, songs: size.songs, seed: 1, out: dir });
        await writeFile(path.join(dir, 'done'), '');
      }
      const scratch = await createScratchDatabase(adminUrl, `bench_${key}`);
      const env = { DATABASE_URL: scratch.url, LOG_DATA: path.join(dir, 'log_data'), SONG_DATA: path.join(dir, 'song_data'), LOG_JSONPATH: path.join(dir, 'log_json_path.json') };
      try {
        await runTool(['migrate', 'up', '--quiet'], env);
        const client = await connectWire({ connectionString: env.DATABASE_URL });
        log.info(`${size.label}: converting to CSV for the baseline (not timed)…`);
        const events = await stagingColumns(client, stageEvents);
        const songs = await stagingColumns(client, stageSongs);
        const csvDir = await mkdtemp(path.join(os.tmpdir(), 'bench-csv-'));
        const ev = await toCsv(env.LOG_DATA, env.LOG_JSONPATH, events, path.join(csvDir, 'events.csv'));
        const so = await toCsv(env.SONG_DATA, 'auto', songs, path.join(csvDir, 'songs.csv'));
        await client.end();
        const rows = ev.rows + so.rows;
        const mb = (ev.bytes + so.bytes) / 1048576;
        // Every figure is the median of several rounds; each timed run starts after a CHECKPOINT,
        // so that no run pays for writing out the dirty pages of the one before.
        const baselines: number[] = [];
        const runs = { stage: [] as ToolRun[], transform: [] as ToolRun[], whole: [] as ToolRun[], again: [] as ToolRun[] };
        for (let round = 1; round <= rounds; round += 1) {
          log.info(`${size.label}: round ${round} of ${rounds}: baseline COPY, the tool's stage, transform, whole load…`);
          const db = await connectWire({ connectionString: env.DATABASE_URL });
          const settle = () => db.query('CHECKPOINT').catch(() => undefined);
          const empty = async () => {
            await db.query(`TRUNCATE ${LOADED_TABLES.join(', ')}`);
            await settle();
          };
          await settle();
          baselines.push((await baselineCopy(db, 'staging_events', path.join(csvDir, 'events.csv'))) + (await baselineCopy(db, 'staging_songs', path.join(csvDir, 'songs.csv'))));
          await empty();
          runs.stage.push(await runTool(['load', '--only', 'stage', '--quiet'], env));
          await settle();
          runs.transform.push(await runTool(['load', '--only', 'transform', '--quiet'], env));
          await empty();
          runs.whole.push(await runTool(['load', '--quiet'], env));
          await settle();
          runs.again.push(await runTool(['load', '--quiet'], env));
          await db.end();
        }
        await rm(csvDir, { recursive: true, force: true });
        const baseline = middle(baselines);
        const ratio = (r: ToolRun) => (r.seconds / baseline).toFixed(2);
        results.push({ size: size.label, key, step: 'baseline: COPY FROM STDIN (CSV)', rows, mb, run: { seconds: baseline }, ratio: '1.00' });
        const steps: [keyof typeof runs, string][] = [
          ['stage', 'stage (process start-up included)'],
          ['transform', 'transform (first run)'],
          ['whole', 'whole load (first run, empty warehouse)'],
          ['again', 'whole load (re-run, nothing new)'],
        ];
        for (const [name, step] of steps) {
          const run = median(runs[name]);
          results.push({ size: size.label, key, step, rows, mb, run, ratio: ratio(run) });
          if (key === 'files' && name === 'stage') filesPerSecond = size.songs / run.seconds;
        }
      } finally {
        await scratch.drop();
      }
    }
  } finally {
    await server?.stop();
    if (!argv.includes('--keep-data')) log.info(`Generated data kept in ${dataRoot} for the next run (delete it to regenerate).`);
  }
  const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${server ? 'embedded PostgreSQL' : 'DATABASE_URL'}`;
  const lines = [
    `Benchmark ${new Date().toISOString().slice(0, 10)} on ${machine}; each figure the median of ${rounds} rounds`,
    '',
    '| size | step | rows | input MB | seconds | rows/s | MB/s | ÷ baseline time | seconds after start-up | peak RSS MB |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...results.map(
      (r) =>
        `| ${r.size} | ${r.step} | ${r.rows} | ${r.mb.toFixed(1)} | ${r.run.seconds.toFixed(2)} | ${Math.round(r.rows / r.run.seconds)} | ${(r.mb / r.run.seconds).toFixed(1)} | ${r.ratio} | ${r.run.workSeconds === undefined ? '' : r.run.workSeconds.toFixed(2)} | ${r.run.rssMb === undefined ? '' : r.run.rssMb.toFixed(0)} |`,
    ),
    '',
    ...targets(results, filesPerSecond),
  ];
  const table = `${lines.join('\n')}\n`;
  process.stdout.write(table);
  await mkdir(path.join(PROJECT_DIR, 'bench-results'), { recursive: true });
  await writeFile(path.join(PROJECT_DIR, 'bench-results', 'latest.md'), table);
}

/** The targets, each with this run's figure. */
function targets(results: Row[], filesPerSecond: number | undefined): string[] {
  const find = (key: string, step: string) => results.find((r) => r.key === key && r.step.startsWith(step));
  const out = ['| target | figure | met |', '| --- | --- | --- |'];
  const add = (target: string, figure: string, met: boolean) => out.push(`| ${target} | ${figure} | ${met ? 'yes' : 'NO'} |`);
  const stage1m = find('1m', 'stage');
  const whole1m = find('1m', 'whole load (first');
  if (stage1m) add('stage time ≤ 1.25 × baseline at 1M events (start-up included)', `${stage1m.ratio} ×`, Number(stage1m.ratio) <= 1.25);
  if (whole1m) add('whole load (stage + transform) ≤ 3 × baseline at 1M events', `${whole1m.ratio} ×`, Number(whole1m.ratio) <= 3);
  const rss = Math.max(...results.map((r) => r.run.rssMb ?? 0));
  if (rss > 0) add('peak RSS of the loader < 256 MB at every size', `${rss.toFixed(0)} MB at most`, rss < 256);
  // Linearity: marginal rows/s, the rows beyond the 10k-event run over the time beyond it, so that
  // what every run costs (start-up, connecting, committing, the JIT warming up) is not counted as
  // per-row cost. A cost that grows linearly gives the same marginal rate at 100k and at 1M.
  for (const step of ['stage', 'whole load (first']) {
    const [small, mid, big] = [find('small', step), find('100k', step), find('1m', step)];
    if (small && mid && big) {
      const rate = (r: Row) => (r.rows - small.rows) / (r.run.seconds - small.run.seconds);
      const change = rate(big) / rate(mid) - 1;
      add(
        `${step.replace(' (first', '')}: rows/s at 1M within 20% of rows/s at 100k (marginal: beyond the 10k-event run)`,
        `${Math.round(rate(big))} vs ${Math.round(rate(mid))} rows/s (${change >= 0 ? '+' : ''}${(change * 100).toFixed(0)}%)`,
        Math.abs(change) <= 0.2,
      );
    }
  }
  if (filesPerSecond !== undefined) add('100k small song files from a local folder ≥ 5,000 files/s (stage, start-up included)', `${Math.round(filesPerSecond)} files/s`, filesPerSecond >= 5000);
  return out;
}

await main();
process.exit(0);
