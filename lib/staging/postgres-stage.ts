/**
 * Staging on PostgreSQL: what Redshift's COPY … FORMAT AS JSON does, done by
 * this tool. Worker threads (one per core) read several objects at once and
 * convert their JSON records to COPY text; the main thread streams the bytes
 * into the table with COPY FROM STDIN, so parsing and the database's COPY run
 * on different cores. Small inputs are converted in the main thread (starting
 * workers would cost more than it saves). Memory stays bounded: batches are
 * acknowledged only once the COPY stream has taken them.
 */
import { once } from 'node:events';
import os from 'node:os';
import { finished } from 'node:stream/promises';
import { Worker } from 'node:worker_threads';
import type pg from 'pg';
import pgCopy from 'pg-copy-streams';
import { InputError, type RecordProblem } from '../errors.ts';
import type { SourceObject, SourceReader } from '../sources/source-objects.ts';
import { isS3Uri } from '../validate.ts';
import type { StagingColumn } from './copy-row.ts';
import type { JsonMapping } from './json-mapping.ts';
import { createObjectConverter } from './object-converter.ts';
import type { FromWorker, ToWorker, WorkerInit } from './stage-worker.ts';

export interface StageTarget {
  readonly table: string;
  readonly columns: readonly StagingColumn[];
  readonly source: string;
  readonly mapping: JsonMapping;
}

export interface StageProgress {
  readonly table: string;
  readonly objectsDone: number;
  readonly objectsTotal: number;
  readonly rows: number;
  readonly bytes: number;
}

export interface StageOptions {
  readonly reader: SourceReader;
  readonly region: string;
  /** Bad records skipped (and listed) before the load fails, like Redshift's MAXERROR. */
  readonly maxErrors: number;
  readonly onProgress?: ((p: StageProgress) => void) | undefined;
  /** Objects already listed (incremental loads pass the new ones only). */
  readonly objects?: readonly SourceObject[];
  /** Worker threads; 0 converts in the main thread. Default: by input size and cores. */
  readonly workers?: number;
}

export interface StageResult {
  readonly table: string;
  readonly objects: number;
  readonly rows: number;
  readonly bytes: number;
  readonly skipped: readonly RecordProblem[];
}

/** Below this much input, conversion stays in the main thread. */
const WORKER_THRESHOLD_BYTES = 16 * 1024 * 1024;
const WORKER_THRESHOLD_OBJECTS = 1000;

export function defaultWorkers(objects: readonly SourceObject[]): number {
  const bytes = objects.reduce((s, o) => s + o.size, 0);
  if (bytes < WORKER_THRESHOLD_BYTES && objects.length < WORKER_THRESHOLD_OBJECTS) return 0;
  return Math.max(1, Math.min(os.availableParallelism(), objects.length));
}

export async function stageIntoPostgres(client: pg.Client, target: StageTarget, options: StageOptions): Promise<StageResult> {
  const objects = options.objects ?? (await options.reader.list(target.source));
  const columnNames = target.columns.map((c) => c.name);
  const skipped: RecordProblem[] = [];
  let rows = 0;
  let bytes = 0;
  let objectsDone = 0;

  const copy = client.query(pgCopy.from(`COPY ${target.table} (${columnNames.join(', ')}) FROM STDIN`));
  let copyError: Error | undefined;
  copy.on('error', (err: Error) => {
    copyError = err;
  });
  const drained = () =>
    new Promise<void>((resolve, reject) => {
      const onDrain = () => {
        copy.off('error', onError);
        resolve();
      };
      const onError = (err: Error) => {
        copy.off('drain', onDrain);
        reject(err);
      };
      copy.once('drain', onDrain);
      copy.once('error', onError);
    });
  const write = async (chunk: string | Uint8Array): Promise<void> => {
    if (copyError) throw copyError;
    if (!copy.write(chunk)) await drained();
    if (copyError) throw copyError;
  };
  const report = (p: RecordProblem) => {
    skipped.push(p);
    if (skipped.length > options.maxErrors) {
      const first = skipped[0] as RecordProblem;
      const where = `${first.file}:${first.line}${first.field ? `, field ${first.field}` : ''}`;
      const more = skipped.length > 1 ? ` (${skipped.length} bad records; --max-errors ${options.maxErrors})` : '';
      throw new InputError(`${where}: ${first.reason}${more}`, skipped);
    }
  };
  const objectDone = (objectBytes: number) => {
    objectsDone += 1;
    bytes += objectBytes;
    options.onProgress?.({ table: target.table, objectsDone, objectsTotal: objects.length, rows, bytes });
  };

  const sink: RowSink = { write, report, addRows: (n) => (rows += n), objectDone };
  const workers = options.workers ?? defaultWorkers(objects);
  try {
    if (workers === 0) {
      await convertInline(objects, target, options.reader, sink);
    } else {
      await convertInWorkers(objects, target, options.region, workers, sink);
    }
    copy.end();
    await Promise.race([once(copy, 'finish'), once(copy, 'error').then(([e]) => Promise.reject(e as Error))]);
    if (copyError) throw copyError;
  } catch (err) {
    if (!copy.destroyed) copy.destroy(err as Error);
    // Let the server answer the aborted COPY before the caller rolls back.
    await finished(copy).catch(() => undefined);
    throw err;
  }
  return { table: target.table, objects: objects.length, rows, bytes, skipped };
}

/** Where both conversion paths hand their results: COPY bytes, bad records, counts. */
interface RowSink {
  write(chunk: string | Uint8Array): Promise<void>;
  report(p: RecordProblem): void;
  addRows(n: number): void;
  objectDone(bytes: number): void;
}

async function convertInline(
  objects: readonly SourceObject[],
  target: StageTarget,
  reader: SourceReader,
  sink: RowSink,
): Promise<void> {
  const convert = createObjectConverter(target);
  let next = 0;
  let aborted = false;
  const inFlight = objects.some((o) => isS3Uri(o.uri)) ? 16 : 4;
  await Promise.all(
    Array.from({ length: Math.min(inFlight, Math.max(objects.length, 1)) }, async () => {
      try {
        while (next < objects.length && !aborted) {
          const object = objects[next++] as SourceObject;
          const result = await convert(object.uri, await reader.open(object), {
            rows: async (text, count) => {
              sink.addRows(count);
              await sink.write(text);
            },
            problem: sink.report,
          });
          sink.objectDone(result.bytes);
        }
      } catch (err) {
        aborted = true;
        throw err;
      }
    }),
  );
}

async function convertInWorkers(
  objects: readonly SourceObject[],
  target: StageTarget,
  region: string,
  count: number,
  sink: RowSink,
): Promise<void> {
  const init: WorkerInit = { target, region, inFlight: objects.some((o) => isS3Uri(o.uri)) ? 16 : 2 };
  const pool = Array.from(
    { length: count },
    () =>
      new Worker(new URL('./stage-worker-entry.mjs', import.meta.url), {
        workerData: init,
        // A small old generation keeps each worker's memory flat whatever the input size.
        resourceLimits: { maxOldGenerationSizeMb: 96, maxYoungGenerationSizeMb: 32 },
      }),
  );
  let next = 0;
  // Batches are written in arrival order, one at a time; each is acknowledged once written.
  let writing: Promise<void> = Promise.resolve();
  try {
    await new Promise<void>((resolve, reject) => {
      const exited = new Set<Worker>();
      let failed = false;
      const fail = (err: unknown) => {
        if (!failed) {
          failed = true;
          reject(err);
        }
      };
      for (const worker of pool) {
        const post = (m: ToWorker) => worker.postMessage(m);
        worker.on('error', fail);
        worker.on('message', (m: FromWorker) => {
          if (failed) return;
          try {
            switch (m.type) {
              case 'want':
                if (next < objects.length) post({ type: 'task', object: objects[next++] as SourceObject });
                else post({ type: 'done' });
                break;
              case 'rows':
                sink.addRows(m.count);
                writing = writing.then(() => sink.write(new Uint8Array(m.buf))).then(() => post({ type: 'ack' }));
                writing.catch(fail);
                break;
              case 'problem':
                sink.report(m.problem);
                break;
              case 'object-done':
                sink.objectDone(m.bytes);
                break;
              case 'fatal':
                fail(m.input ? new InputError(m.message) : new Error(m.message));
                break;
              case 'exit':
                exited.add(worker);
                if (exited.size === pool.length) writing.then(() => resolve(), fail);
                break;
              default: {
                const never: never = m;
                throw new Error(`unknown worker message ${JSON.stringify(never)}`);
              }
            }
          } catch (err) {
            fail(err);
          }
        });
      }
    });
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
  }
}
