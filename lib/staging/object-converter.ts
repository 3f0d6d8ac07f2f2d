/**
 * Turns one source object's bytes into rows of COPY text: decode UTF-8, split
 * JSON records, map fields, convert each value as Redshift's COPY would. Used
 * by the staging worker threads and, for small inputs, in the main thread.
 */
import type { RecordProblem } from '../errors.ts';
import { toCopyField, Unloadable, type StagingColumn } from './copy-row.ts';
import { compileMapping, fieldName, type JsonMapping } from './json-mapping.ts';
import { JsonRecordSplitter } from './json-records.ts';

export interface ConvertTarget {
  readonly columns: readonly StagingColumn[];
  readonly mapping: JsonMapping;
}

/** Rows are handed over in batches of about this many characters. */
export const BATCH_CHARS = 256 * 1024;
const REPLACEMENT = '\ufffd';
const LITERAL_REPLACEMENT = Buffer.from(REPLACEMENT, 'utf8');

function countLiteralReplacements(bytes: Uint8Array): number {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
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

export interface ObjectSink {
  /** A batch of complete rows (COPY text format) and how many rows it holds. */
  rows(text: string, count: number): Promise<void>;
  /** A bad record; throwing from here stops the conversion. */
  problem(p: RecordProblem): void;
}

export function createObjectConverter(target: ConvertTarget): (uri: string, chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, sink: ObjectSink) => Promise<{ rows: number; bytes: number }> {
  const names = target.columns.map((c) => c.name);
  const pick = compileMapping(target.mapping, names);
  const columns = target.columns;
  const width = columns.length;

  return async (uri, chunks, sink) => {
    let out = '';
    let pendingRows = 0;
    let rows = 0;
    let bytes = 0;
    let invalidUtf8 = false;
    const splitter = new JsonRecordSplitter({
      record: ({ value, line }) => {
        const raw = pick(value);
        let row = '';
        for (let i = 0; i < width; i += 1) {
          const v = raw[i];
          if (invalidUtf8 && typeof v === 'string' && v.includes(REPLACEMENT)) {
            sink.problem({ file: uri, line, field: fieldName(target.mapping, names, i), reason: 'invalid UTF-8 byte sequence' });
            return;
          }
          const field = toCopyField(v, columns[i] as StagingColumn);
          if (field instanceof Unloadable) {
            sink.problem({ file: uri, line, field: fieldName(target.mapping, names, i), reason: field.reason, value: preview(v) });
            return;
          }
          row = i === 0 ? field : `${row}\t${field}`;
        }
        out += `${row}\n`;
        pendingRows += 1;
      },
      problem: (p) => sink.problem({ ...p, file: uri }),
    });
    // ignoreBOM keeps a byte-order mark in the text, so it is reported (Redshift's COPY does not expect one).
    const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
    const flush = async () => {
      const text = out;
      const count = pendingRows;
      out = '';
      pendingRows = 0;
      rows += count;
      await sink.rows(text, count);
    };
    for await (const chunk of chunks) {
      bytes += chunk.byteLength;
      const text = decoder.decode(chunk, { stream: true });
      if (!invalidUtf8 && text.includes(REPLACEMENT) && countChar(text, REPLACEMENT) > countLiteralReplacements(chunk)) invalidUtf8 = true;
      splitter.push(text);
      if (out.length >= BATCH_CHARS) await flush();
    }
    splitter.push(decoder.decode());
    splitter.end();
    if (out.length > 0) await flush();
    return { rows, bytes };
  };
}
