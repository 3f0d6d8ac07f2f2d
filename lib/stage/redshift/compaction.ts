/**
 * Compaction: many small source objects staged on Redshift as a few large
 * gzip'd JSON Lines chunks, loaded by ONE `COPY … MANIFEST GZIP` per table.
 *
 * Why: Redshift's COPY pays for every S3 object (a GET and its set-up on a
 * slice), and "File types such as JSON … aren't automatically split": AWS
 * asks for files "of roughly equal size, from 1 MB to 1 GB after compression",
 * their number "a multiple of the number of slices in your cluster" (Amazon
 * Redshift Database Developer Guide, Loading data files,
 * https://docs.aws.amazon.com/redshift/latest/dg/c_best-practices-use-multiple-files.html;
 * Loading data from compressed and uncompressed files,
 * https://docs.aws.amazon.com/redshift/latest/dg/t_splitting-data-files.html).
 * Sparkify's song data is 385,252 objects of ~250 bytes: users report 42
 * minutes for that COPY on a 4-node dc2.large (8 slices), ~6.5 ms of cluster
 * time an object.
 *
 * When (shouldCompact): at least COMPACT_MIN_OBJECTS objects averaging under
 * 1 MB (AWS's lower bound for a load file). Below a thousand objects the
 * per-object cost is seconds at most (1,000 × 6.5 ms), about what compaction
 * itself costs (reading them, an upload, a manifest); the 30 log files of
 * the seed data are not compacted, the song files are. `--compact` /
 * `--no-compact` decide instead.
 *
 * How (compact): the objects are read COMPACT_CONCURRENCY at a time, in
 * order, within a byte budget (bounded memory); each record is put on one
 * line without being parsed (squeeze.ts: byte-exact values); the lines go
 * through gzip into a local temporary file per chunk (created in a folder of
 * its own, mkdtemp), which is uploaded to LOAD_STAGE_PREFIX and removed. The
 * chunk count is the smallest multiple of the slices whose chunks hold at
 * most CHUNK_MAX_BYTES uncompressed each (so at most 1 GB compressed); the
 * objects are dealt to the chunks in listing order by their listed size, so
 * the chunks are of roughly equal size. A manifest lists the chunks
 * ("mandatory": a missing chunk fails the COPY; Using a manifest to specify
 * data files, https://docs.aws.amazon.com/redshift/latest/dg/loading-data-files-using-manifest.html),
 * and the COPY reads them with GZIP ("The COPY operation reads each
 * compressed file and uncompresses the data as it loads", File compression
 * parameters, https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-file-compression.html).
 *
 * Errors: the chunk index (chunk-index.ts) turns the chunk and line COPY
 * reports into the original object and line.
 *
 * Clean-up: the chunks and the manifest are removed once the COPY is done,
 * whether the staging committed or failed (a failed COPY's rejected rows are
 * read and translated before; the chunks hold nothing the sources do not).
 * A process killed in between leaves them under LOAD_STAGE_PREFIX/<run id>/:
 * an S3 lifecycle rule on the prefix removes such leftovers (docs/redshift.md).
 */
import { once } from 'node:events';
import { createWriteStream, rmSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { constants, createGzip } from 'node:zlib';
import { noFaults, type FaultPoints } from '../../fault-points.ts';
import type { Logger } from '../../log.ts';
import type { SourceObject, SourceObjects, SourceReader } from '../../sources/source-objects.ts';
import { ChunkIndex } from './chunk-index.ts';
import { manifestBody } from './manifest.ts';
import { RecordSqueezer, type Squeezed } from './squeeze.ts';
import { stageUri, type StageStore } from './stage-store.ts';

/** Fewest objects compacted without --compact. */
export const COMPACT_MIN_OBJECTS = 1000;
/** Largest average object size compacted without --compact: AWS's smallest recommended load file. */
export const COMPACT_MAX_AVERAGE_BYTES = 1024 * 1024;
/** Most uncompressed bytes in one chunk: gzip never grows JSON text, so a chunk stays under 1 GB compressed. */
export const CHUNK_MAX_BYTES = 1024 * 1024 * 1024;
/** Objects read at once (GETs in flight), at most. */
export const COMPACT_CONCURRENCY = 64;
/** Bytes of objects read and not yet written, at most (one larger object is read alone). */
export const COMPACT_READ_BUDGET = 64 * 1024 * 1024;

/** The listed bytes of `objects`. */
function totalSize(objects: Iterable<Pick<SourceObject, 'size'>>): number {
  let n = 0;
  for (const o of objects) n += o.size;
  return n;
}

/** Whether a step's objects are compacted, and why (the dry run and the log say it). */
export function shouldCompact(
  objects: SourceObjects<Pick<SourceObject, 'size'>>,
  forced: boolean | undefined,
): { readonly compact: boolean; readonly why: string } {
  if (forced === true) return { compact: true, why: '--compact' };
  if (forced === false) return { compact: false, why: '--no-compact' };
  const bytes = totalSize(objects);
  const average = objects.length === 0 ? 0 : bytes / objects.length;
  const enough = objects.length >= COMPACT_MIN_OBJECTS;
  const small = average < COMPACT_MAX_AVERAGE_BYTES;
  return {
    compact: enough && small,
    why: `${objects.length} objects averaging ${Math.round(average)} bytes (compacted from ${COMPACT_MIN_OBJECTS} objects averaging under 1 MB)`,
  };
}

/** The dry run's words for the rule (nothing is listed then). */
export const COMPACTION_RULE = `compacted when the source has at least ${COMPACT_MIN_OBJECTS} objects averaging under 1 MB (--compact / --no-compact decide instead)`;

/** The smallest multiple of `slices` whose chunks hold at most CHUNK_MAX_BYTES each, never more chunks than objects. */
export function chunkCount(totalBytes: number, objects: number, slices: number): number {
  const perSlice = Math.max(1, Math.ceil(totalBytes / (slices * CHUNK_MAX_BYTES)));
  return Math.max(1, Math.min(slices * perSlice, objects));
}

/**
 * The first object of each chunk: objects dealt in order, a chunk closed once
 * it holds its share of the listed bytes (every chunk gets one object at least).
 */
export function chunkStarts(objects: SourceObjects<Pick<SourceObject, 'size'>>, count: number): number[] {
  const total = totalSize(objects);
  const starts = [0];
  let bytes = 0;
  for (let i = 0; i < objects.length && starts.length < count; i += 1) {
    bytes += (objects.at(i) as Pick<SourceObject, 'size'>).size;
    const left = objects.length - (i + 1);
    const chunksLeft = count - starts.length;
    if (left > 0 && (bytes >= (total * starts.length) / count || left === chunksLeft)) starts.push(i + 1);
  }
  return starts;
}

/** One chunk written. */
export interface Chunk {
  readonly uri: string;
  readonly objects: number;
  readonly records: number;
  readonly bytes: number;
  readonly compressedBytes: number;
}

export interface Compacted {
  readonly manifestUri: string;
  readonly chunks: readonly Chunk[];
  readonly index: ChunkIndex;
  readonly seconds: number;
  /** Removes the chunks and the manifest. */
  remove(): Promise<void>;
}

/** Reads one object through the squeezer. */
async function readSqueezed(reader: SourceReader, object: SourceObject): Promise<Squeezed> {
  const s = new RecordSqueezer(object.size);
  for await (const piece of await reader.open(object)) s.feed(piece);
  return s.end();
}

/**
 * The objects squeezed, yielded in order, `concurrency` read at once within
 * `budget` listed bytes. A read that fails fails the iteration when its turn
 * comes; the others are left to finish unobserved.
 */
export async function* readInOrder(
  reader: SourceReader,
  objects: SourceObjects,
  concurrency: number,
  budget: number = COMPACT_READ_BUDGET,
): AsyncGenerator<Squeezed> {
  const pending: { size: number; read: Promise<Squeezed> }[] = [];
  let next = 0;
  let inFlight = 0;
  while (next < objects.length || pending.length > 0) {
    while (next < objects.length && pending.length < concurrency) {
      const object = objects.at(next) as SourceObject;
      if (pending.length > 0 && inFlight + object.size > budget) break;
      const read = readSqueezed(reader, object);
      read.catch(() => undefined); // observed when its turn comes
      pending.push({ size: object.size, read });
      inFlight += object.size;
      next += 1;
    }
    const head = pending.shift() as { size: number; read: Promise<Squeezed> };
    inFlight -= head.size;
    yield await head.read;
  }
}

export interface CompactOptions {
  readonly reader: SourceReader;
  readonly store: StageStore;
  readonly objects: SourceObjects;
  /** Where this table's chunks go: LOAD_STAGE_PREFIX/<run id>/<table>/. */
  readonly prefix: string;
  readonly slices: number;
  readonly log: Logger;
  readonly concurrency?: number | undefined;
  /** Stops between objects (a signal) by throwing. */
  readonly assertRunning?: (() => void) | undefined;
  /** `compact:chunk-written`, after each chunk is written and its upload started (the tests stop a run there). */
  readonly faults?: FaultPoints | undefined;
}

/** Writes one chunk: its objects squeezed through gzip into `file`. */
async function writeChunk(
  lines: AsyncIterator<Squeezed>,
  count: number,
  first: number,
  file: string,
  uri: string,
  index: ChunkIndex,
  assertRunning: (() => void) | undefined,
): Promise<Omit<Chunk, 'uri' | 'compressedBytes'>> {
  // Level 1: the fastest; JSON text still shrinks several times, and the chunk's size is not what limits the COPY.
  const gzip = createGzip({ level: constants.Z_BEST_SPEED });
  const out = createWriteStream(file, { flags: 'wx', mode: 0o600 });
  gzip.pipe(out);
  let records = 0;
  let bytes = 0;
  try {
    for (let i = 0; i < count; i += 1) {
      assertRunning?.();
      const next = await lines.next();
      if (next.done) throw new Error('compaction: fewer objects read than listed');
      const { bytes: squeezed, lines: originalLines } = next.value;
      for (const line of originalLines) index.add(uri, first + i, line);
      records += originalLines.length;
      bytes += squeezed.length;
      if (!gzip.write(squeezed)) await once(gzip, 'drain');
    }
  } finally {
    gzip.end();
    await finished(out);
  }
  return { objects: count, records, bytes };
}

/** Compacts `objects` into chunks under `prefix` and writes their manifest. */
export async function compact(opts: CompactOptions): Promise<Compacted> {
  const start = process.hrtime.bigint();
  const { objects, store, prefix } = opts;
  const total = totalSize(objects);
  const starts = chunkStarts(objects, chunkCount(total, objects.length, opts.slices));
  const index = new ChunkIndex((i) => objects.at(i)?.uri);
  const chunks: Chunk[] = [];
  const written: string[] = [];
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sparkify-chunks-'));
  // The folder goes on every way out: `finally` below when compaction fails or a signal stops it, and this
  // hook when the process exits before that runs (a second signal, STOP_TIMEOUT_SECONDS after a first one,
  // a lost lock's bounded stop: process.exit skips pending finally blocks). Only SIGKILL leaves it.
  const removeOnExit = () => rmSync(dir, { recursive: true, force: true });
  process.once('exit', removeOnExit);
  const lines = readInOrder(opts.reader, objects, opts.concurrency ?? COMPACT_CONCURRENCY);
  const width = String(starts.length).length;
  const remove = async () => {
    if (written.length > 0) await store.remove(written.splice(0));
  };
  // One chunk uploads while the next is written.
  let upload: Promise<void> = Promise.resolve();
  try {
    for (let c = 0; c < starts.length; c += 1) {
      const first = starts[c] as number;
      const end = starts[c + 1] ?? objects.length;
      const name = `chunk-${String(c + 1).padStart(width, '0')}-of-${starts.length}.jsonl.gz`;
      const uri = stageUri(prefix, name);
      const file = path.join(dir, name);
      const chunk = await writeChunk(lines, end - first, first, file, uri, index, opts.assertRunning);
      const { size } = await stat(file);
      await upload;
      written.push(uri);
      upload = store.put(uri, { path: file, size }).then(() => rm(file));
      upload.catch(() => undefined); // awaited before the next chunk's upload, and after the last
      chunks.push({ uri, ...chunk, compressedBytes: size });
      await (opts.faults ?? noFaults).at('compact:chunk-written');
    }
    await upload;
    const manifestUri = stageUri(prefix, 'chunks.manifest');
    written.push(manifestUri);
    await store.put(
      manifestUri,
      manifestBody(chunks.map((c) => ({ uri: c.uri, size: c.compressedBytes, version: '' }))),
    );
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    return { manifestUri, chunks, index, seconds, remove };
  } catch (err) {
    // The upload in flight ends first: a chunk removed before its PUT completes would be written after all.
    await upload.catch(() => undefined);
    await remove().catch((e: unknown) =>
      opts.log.warn(`compaction: the chunks under ${prefix} could not be removed (${(e as Error).message})`),
    );
    throw err;
  } finally {
    await lines.return(undefined);
    await rm(dir, { recursive: true, force: true });
    process.off('exit', removeOnExit);
  }
}
