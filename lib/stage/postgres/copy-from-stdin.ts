/**
 * Streams one staging table's source objects into COPY FROM STDIN. Several objects are read at once and their JSON records
 * converted to COPY text (object-converter.ts), which is streamed into the
 * table with COPY FROM STDIN: conversion runs in this process while the
 * database's COPY runs in its own, so both cores are busy. One thread is
 * enough: the byte fast path converts faster than PostgreSQL's COPY takes
 * rows (measured by `npm run bench`), and worker threads only added memory.
 * Memory stays bounded: conversion waits whenever the COPY stream is full.
 */
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import { InputError, describeProblem, type RecordProblem } from '../../errors.ts';
import type { SourceObject, SourceObjects, SourceReader } from '../../sources/source-objects.ts';
import { DEFAULT_S3_MAX_CONCURRENCY } from '../../config/config.ts';
import { isS3Uri } from '../../config/s3-uri.ts';
import type { StagingColumn } from './copy-row.ts';
import type { JsonMapping } from '../../sources/json-mapping.ts';
import { CopyBuffer, type RowOrigins } from './copy-buffer.ts';
import { BATCH_BYTES, createObjectConverter, type ObjectSink } from './object-converter.ts';
import type { StageProgress } from '../strategy.ts';
import type { RecordObserver } from '../../sources/drift.ts';

export interface StageTarget {
  readonly table: string;
  readonly columns: readonly StagingColumn[];
  readonly source: string;
  readonly mapping: JsonMapping;
  /** Told of every record (schema drift). */
  readonly observer?: RecordObserver | undefined;
}

export interface StageOptions {
  readonly reader: SourceReader;
  /** Bad records skipped (and listed) before the load fails, like Redshift's MAXERROR. */
  readonly maxErrors: number;
  readonly onProgress?: ((p: StageProgress) => void) | undefined;
  /** Objects already listed (incremental loads pass the new ones only). */
  readonly objects?: SourceObjects;
}

export interface StageResult {
  readonly table: string;
  readonly objects: number;
  readonly rows: number;
  readonly bytes: number;
  readonly skipped: readonly RecordProblem[];
}

export async function copyIntoTable(
  copyFromStdin: (sql: string) => Writable,
  target: StageTarget,
  options: StageOptions,
): Promise<StageResult> {
  const objects = options.objects ?? (await options.reader.list(target.source));
  const columnNames = target.columns.map((c) => c.name);
  const skipped: RecordProblem[] = [];
  let rows = 0;
  let bytes = 0;
  let objectsDone = 0;

  const copy = copyFromStdin(`COPY ${target.table} (${columnNames.join(', ')}) FROM STDIN`);
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
  const write = async (chunk: Uint8Array): Promise<void> => {
    if (copyError) throw copyError;
    if (!copy.write(chunk)) await drained();
    if (copyError) throw copyError;
  };
  const report = (p: RecordProblem) => {
    skipped.push(p);
    if (skipped.length > options.maxErrors) {
      const first = skipped[0] as RecordProblem;
      const more = skipped.length > 1 ? ` (${skipped.length} bad records; --max-errors ${options.maxErrors})` : '';
      throw new InputError(`${describeProblem(first, { value: false })}${more}`, skipped);
    }
  };
  const objectDone = (objectBytes: number) => {
    objectsDone += 1;
    bytes += objectBytes;
    options.onProgress?.({ table: target.table, objectsDone, objectsTotal: objects.length, rows, bytes });
  };

  const origins = new RecentOrigins();
  const sink: RowSink = {
    write,
    report,
    addRows: (n, batch) => {
      origins.add(rows + 1, batch);
      rows += n;
    },
    objectDone,
  };
  try {
    await convert(objects, target, options.reader, sink);
    copy.end();
    await Promise.race([once(copy, 'finish'), once(copy, 'error').then(([e]) => Promise.reject(e as Error))]);
    if (copyError) throw copyError;
    options.onProgress?.({ table: target.table, objectsDone, objectsTotal: objects.length, rows, bytes, done: true });
  } catch (err) {
    if (!copy.destroyed) copy.destroy(err as Error);
    // Let the server answer the aborted COPY before the caller rolls back.
    await finished(copy).catch(() => undefined);
    throw withoutRow(err, target.table, origins);
  }
  return { table: target.table, objects: objects.length, rows, bytes, skipped };
}

/** Where converted rows go: COPY bytes, bad records, counts. */
interface RowSink {
  write(chunk: Uint8Array): Promise<void>;
  report(p: RecordProblem): void;
  /** `n` rows of `origins` go to the COPY next. */
  addRows(n: number, origins: RowOrigins): void;
  objectDone(bytes: number): void;
}

/**
 * The origins of the rows sent last: a row the server refuses is one it has
 * received, at most the socket's and the server's buffers behind the rows sent
 * (a few batches); older batches are forgotten, so memory stays bounded.
 */
class RecentOrigins {
  private static readonly KEPT = 64;
  private readonly batches: { firstRow: number; origins: RowOrigins }[] = [];
  add(firstRow: number, origins: RowOrigins): void {
    this.batches.push({ firstRow, origins });
    if (this.batches.length > RecentOrigins.KEPT) this.batches.shift();
  }
  /** `file:line` of COPY row `row` (1-based), when it is still known. */
  of(row: number): string | undefined {
    const batch = this.batches.findLast((b) => b.firstRow <= row);
    const i = batch ? row - batch.firstRow : -1;
    if (!batch || i >= batch.origins.lines.length) return undefined;
    return `${batch.origins.sources[i]}:${batch.origins.lines[i]}`;
  }
}

/** PostgreSQL's CONTEXT of a refused COPY row: `COPY staging_events, line 3, column location: "<value>"` or `…, line 3: "<row>"`. */
const COPY_CONTEXT = /^COPY [^,]+, line (\d+)(?:, column ([^:]+))?/;

/**
 * A COPY the server refused, without the staged row: its CONTEXT (the row or
 * the value) and DETAIL ("Failing row contains (…)") carry names, locations
 * and user agents. The row is named by the source file and line it came from,
 * and the column when the server names one; the SQLSTATE is kept, so the
 * caller still sees a statement the server refused (SqlError).
 */
function withoutRow(err: unknown, table: string, origins: RecentOrigins): unknown {
  const e = err as Error & {
    code?: unknown;
    where?: unknown;
    detail?: unknown;
    constraint?: unknown;
    column?: unknown;
  };
  if (!(err instanceof Error) || typeof e.code !== 'string') return err;
  const context = typeof e.where === 'string' ? COPY_CONTEXT.exec(e.where) : null;
  if (!context && e.detail === undefined) return err;
  const row = context ? Number(context[1]) : undefined;
  const column = context?.[2] ?? (typeof e.column === 'string' ? e.column : undefined);
  const origin = row === undefined ? undefined : origins.of(row);
  // Messages of the data exceptions end with the value (`invalid input syntax for type integer: "x"`): cut it.
  const message = e.message.replace(/: ".*"$/s, '');
  const where = [
    origin ? `the record at ${origin}` : row !== undefined ? `COPY row ${row}` : 'a row',
    column ? `column ${column}` : undefined,
    origin && row !== undefined ? `COPY row ${row}` : undefined,
  ].filter(Boolean);
  const refused = new Error(
    `${table}: ${where.join(', ')}: ${message} (the row is not shown: it may hold personal data)`,
  );
  return Object.assign(refused, { code: e.code });
}

async function convert(
  objects: SourceObjects,
  target: StageTarget,
  reader: SourceReader,
  sink: RowSink,
): Promise<void> {
  const convertObject = createObjectConverter(target);
  const out = new CopyBuffer();
  const flush = async () => {
    const { bytes, rows, origins } = out.take();
    sink.addRows(rows, origins);
    await sink.write(bytes);
  };
  const objectSink: ObjectSink = {
    out,
    flushIfFull: async () => {
      if (out.length >= BATCH_BYTES) await flush();
    },
    problem: sink.report,
  };
  let next = 0;
  let aborted = false;
  // s3:// objects are latency-bound: many in flight (S3_MAX_CONCURRENCY); local files are not.
  // One source's objects are all s3:// or all local.
  const first = objects.at(0);
  const inFlight = first && isS3Uri(first.uri) ? (reader.s3Concurrency ?? DEFAULT_S3_MAX_CONCURRENCY) : 4;
  await Promise.all(
    Array.from({ length: Math.min(inFlight, Math.max(objects.length, 1)) }, async () => {
      try {
        while (next < objects.length && !aborted) {
          const rank = next++;
          // Made from the compact listing as it is read (lib/sources/object-list.ts).
          const object = objects.at(rank) as SourceObject;
          target.observer?.objectOpened?.(object.uri, rank);
          try {
            const result = await convertObject(object.uri, await reader.open(object), objectSink);
            sink.objectDone(result.bytes);
          } finally {
            target.observer?.objectClosed?.(object.uri);
          }
        }
      } catch (err) {
        aborted = true;
        throw err;
      }
    }),
  );
  if (out.length > 0) await flush();
}
