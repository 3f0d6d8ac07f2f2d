/**
 * Staging on PostgreSQL: what Redshift's COPY … FORMAT AS JSON does, done by
 * this tool. Lists the source objects, reads several at once, splits and maps
 * their JSON records, converts each field as Redshift would, and streams the
 * rows into the table with COPY FROM STDIN. Memory stays bounded: rows are
 * written in small batches and the COPY stream's back-pressure is respected.
 */
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import type pg from 'pg';
import pgCopy from 'pg-copy-streams';
import { InputError, type RecordProblem } from '../errors.ts';
import type { SourceObject, SourceReader } from '../sources/source-objects.ts';
import { toCopyField, type StagingColumn } from './copy-row.ts';
import { compileMapping, fieldName, type JsonMapping } from './json-mapping.ts';
import { JsonRecordSplitter } from './json-records.ts';

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
  /** Bad records skipped (and listed) before the load fails, like Redshift's MAXERROR. */
  readonly maxErrors: number;
  /** Objects read at once. */
  readonly concurrency?: number;
  readonly onProgress?: (p: StageProgress) => void;
  /** Objects already listed (incremental loads pass the new ones only). */
  readonly objects?: readonly SourceObject[];
}

export interface StageResult {
  readonly table: string;
  readonly objects: number;
  readonly rows: number;
  readonly bytes: number;
  readonly skipped: readonly RecordProblem[];
}

const BATCH_CHARS = 256 * 1024;
const REPLACEMENT = '\ufffd';
const LITERAL_REPLACEMENT = Buffer.from(REPLACEMENT, 'utf8');

function countLiteralReplacements(bytes: Uint8Array): number {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let n = 0;
  let i = buf.indexOf(LITERAL_REPLACEMENT);
  while (i !== -1) {
    n += 1;
    i = buf.indexOf(LITERAL_REPLACEMENT, i + 3);
  }
  return n;
}

function countChar(text: string, c: string): number {
  let n = 0;
  let i = text.indexOf(c);
  while (i !== -1) {
    n += 1;
    i = text.indexOf(c, i + 1);
  }
  return n;
}

/** A short text of a bad value for the error message (never throws). */
function preview(v: unknown): string {
  if (typeof v === 'string') return v.slice(0, 200);
  try {
    return (JSON.stringify(v) ?? String(v)).slice(0, 200);
  } catch {
    return '(too deeply nested to show)';
  }
}

export async function stageIntoPostgres(client: pg.Client, target: StageTarget, options: StageOptions): Promise<StageResult> {
  const { reader, maxErrors } = options;
  const objects = options.objects ?? (await reader.list(target.source));
  const columnNames = target.columns.map((c) => c.name);
  const pick = compileMapping(target.mapping, columnNames);
  const skipped: RecordProblem[] = [];
  let rows = 0;
  let bytes = 0;
  let objectsDone = 0;

  const copy = client.query(pgCopy.from(`COPY ${target.table} (${columnNames.join(', ')}) FROM STDIN`));
  let copyError: Error | undefined;
  copy.on('error', (err: Error) => {
    copyError = err;
  });
  const write = async (chunk: string): Promise<void> => {
    if (copyError) throw copyError;
    if (!copy.write(chunk)) await Promise.race([once(copy, 'drain'), once(copy, 'error')]);
    if (copyError) throw copyError;
  };

  const report = (p: RecordProblem) => {
    skipped.push(p);
    if (skipped.length > maxErrors) {
      const first = skipped[0] as RecordProblem;
      const where = `${first.file}:${first.line}${first.field ? `, field ${first.field}` : ''}`;
      const more = skipped.length > 1 ? ` (${skipped.length} bad records; --max-errors ${maxErrors})` : '';
      throw new InputError(`${where}: ${first.reason}${more}`, skipped);
    }
  };

  const processObject = async (object: SourceObject): Promise<void> => {
    let out = '';
    let invalidUtf8 = false;
    const splitter = new JsonRecordSplitter({
      record: ({ value, line }) => {
        const raw = pick(value);
        let row = '';
        for (let i = 0; i < raw.length; i += 1) {
          const v = raw[i];
          const column = target.columns[i] as StagingColumn;
          if (invalidUtf8 && typeof v === 'string' && v.includes(REPLACEMENT)) {
            report({ file: object.uri, line, field: fieldName(target.mapping, columnNames, i), reason: 'invalid UTF-8 byte sequence' });
            return;
          }
          const c = toCopyField(v, column);
          if (!c.ok) {
            report({
              file: object.uri,
              line,
              field: fieldName(target.mapping, columnNames, i),
              reason: c.reason,
              value: preview(v),
            });
            return;
          }
          row = i === 0 ? c.field : `${row}\t${c.field}`;
        }
        out += `${row}\n`;
        rows += 1;
      },
      problem: (p) => report({ ...p, file: object.uri }),
    });
    // ignoreBOM keeps a byte-order mark in the text, so it is reported (Redshift's COPY does not expect one).
    const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
    for await (const chunk of await reader.open(object)) {
      bytes += chunk.byteLength;
      const text = decoder.decode(chunk, { stream: true });
      if (!invalidUtf8 && text.includes(REPLACEMENT) && countChar(text, REPLACEMENT) > countLiteralReplacements(chunk)) {
        invalidUtf8 = true;
      }
      splitter.push(text);
      if (out.length >= BATCH_CHARS) {
        const batch = out;
        out = '';
        await write(batch);
      }
    }
    splitter.push(decoder.decode());
    splitter.end();
    if (out.length > 0) await write(out);
    objectsDone += 1;
    options.onProgress?.({ table: target.table, objectsDone, objectsTotal: objects.length, rows, bytes });
  };

  let aborted = false;
  try {
    let next = 0;
    const workers = Array.from({ length: Math.min(options.concurrency ?? 16, Math.max(objects.length, 1)) }, async () => {
      while (next < objects.length && !aborted) {
        const object = objects[next] as SourceObject;
        next += 1;
        await processObject(object);
      }
    });
    await Promise.all(workers);
    copy.end();
    await Promise.race([once(copy, 'finish'), once(copy, 'error').then(([e]) => Promise.reject(e as Error))]);
    if (copyError) throw copyError;
  } catch (err) {
    aborted = true;
    if (!copy.destroyed) copy.destroy(err as Error);
    // Let the server answer the aborted COPY before the caller rolls back.
    await finished(copy).catch(() => undefined);
    throw err;
  }
  return { table: target.table, objects: objects.length, rows, bytes, skipped };
}
