/**
 * Turns one source object's bytes into rows of COPY text, as Redshift's COPY
 * would read them. Lines go through the byte fast path (flat-json-records.ts)
 * while it accepts them; from the first line it does not, the rest of the
 * object goes through the general path: decode UTF-8, split JSON records
 * (lib/sources/json-records.ts), JSON.parse, map fields, convert each value
 * (copy-row.ts). copy-from-stdin.ts runs it for every object it stages.
 */
import { isUtf8 } from 'node:buffer';
import type { RecordProblem } from '../../errors.ts';
import type { CopyBuffer } from './copy-buffer.ts';
import { toCopyField, Unloadable, type StagingColumn } from './copy-row.ts';
import { createFlatRecordsConverter, type FlatRecordsConverter, type FlatRecordsProblem } from './flat-json-records.ts';
import { compileMapping, fieldName, sourcePathOf, type JsonMapping } from '../../sources/json-mapping.ts';
import { JsonRecordSplitter, MAX_RECORD_BYTES } from '../../sources/json-records.ts';
import { numberTextAt } from '../../sources/json-source-text.ts';
import { Utf8Lines } from './utf8-lines.ts';
import { gzipRefusal } from '../../sources/compressed.ts';
import type { RecordObserver } from '../../sources/drift.ts';

export interface ConvertTarget {
  readonly columns: readonly StagingColumn[];
  readonly mapping: JsonMapping;
  /** Told of every record read, before it is converted (schema drift, lib/sources/drift.ts). */
  readonly observer?: RecordObserver | undefined;
}

/** Rows are handed over in batches of about this many bytes. */
export const BATCH_BYTES = 256 * 1024;
const REPLACEMENT = '\ufffd';

/** Newlines in a record's text. */
function newlines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n += 1;
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
  /** Where rows are written (shared by the objects converted at once; rows are written whole). */
  readonly out: CopyBuffer;
  /** Called after each chunk: hands the buffer on once it holds BATCH_BYTES or more. */
  flushIfFull(): Promise<void>;
  /** A bad record; throwing from here stops the conversion. */
  problem(p: RecordProblem): void;
}

export type ObjectConverter = (
  uri: string,
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  sink: ObjectSink,
) => Promise<ConvertResult>;

export interface ConvertResult {
  readonly rows: number;
  readonly bytes: number;
  /** The line from which the general path converted the object (undefined: all by the fast path). */
  readonly generalFrom: number | undefined;
}

const NEWLINE = 0x0a;

const asBuffer = (chunk: Uint8Array): Buffer =>
  Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);

/** fastPath: false converts everything through the general path (tests compare the two). */
export function createObjectConverter(target: ConvertTarget, options: { fastPath?: boolean } = {}): ObjectConverter {
  const names = target.columns.map((c) => c.name);
  const pick = compileMapping(target.mapping, names);
  const pathOf = sourcePathOf(target.mapping, names);
  const columns = target.columns;
  const width = columns.length;
  const fast = options.fastPath === false ? undefined : createFlatRecordsConverter(columns, target.mapping);
  const observer = target.observer;

  /** The general path for the rest of an object, from line `firstLine` on. */
  const generalPath = (uri: string, firstLine: number, sink: ObjectSink) => {
    let rows = 0;
    const utf8 = new Utf8Lines(firstLine);
    const splitter = new JsonRecordSplitter(
      {
        record: ({ value, line, text }) => {
          observer?.parsedRecord(uri, line, text, value);
          const raw = pick(value);
          // A record is named by its last line, as Redshift's STL_LOAD_ERRORS.line_number ("the last line of
          // the JSON object that caused the error": copy-parameters-data-format.html#copy-json-data-file), so
          // both engines name a pretty-printed record the same way (issue 28, point 7).
          const last = line + newlines(text);
          const invalidUtf8 = utf8.seen && utf8.anyIn(line, last);
          let row = '';
          for (let i = 0; i < width; i += 1) {
            const v = raw[i];
            const column = columns[i] as StagingColumn;
            if (invalidUtf8 && typeof v === 'string' && v.includes(REPLACEMENT)) {
              sink.problem({
                file: uri,
                line: last,
                field: fieldName(target.mapping, names, i),
                reason: 'invalid UTF-8 byte sequence',
              });
              return;
            }
            // The JSON text of a number, where toCopyField reads it (a VARCHAR, or ±Infinity).
            const path =
              typeof v === 'number' && (column.type === 'varchar' || !Number.isFinite(v))
                ? pathOf(value, i)
                : undefined;
            const field = toCopyField(v, column, path ? numberTextAt(text, path) : undefined);
            if (field instanceof Unloadable) {
              sink.problem({
                file: uri,
                line: last,
                field: fieldName(target.mapping, names, i),
                reason: field.reason,
                value: preview(v),
              });
              return;
            }
            row = i === 0 ? field : `${row}\t${field}`;
          }
          sink.out.writeString(`${row}\n`);
          sink.out.endRow(last, uri);
          rows += 1;
        },
        problem: (p) => sink.problem({ ...p, file: uri }),
      },
      firstLine,
    );
    // ignoreBOM keeps a byte-order mark in the text, so it is reported (Redshift's COPY does not expect one).
    const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
    return {
      push(chunk: Uint8Array) {
        utf8.push(chunk);
        splitter.push(decoder.decode(chunk, { stream: true }));
      },
      end() {
        utf8.end();
        splitter.push(decoder.decode());
        splitter.end();
        return rows;
      },
    };
  };

  return async (uri, chunks, sink) => {
    let rows = 0;
    let bytes = 0;
    let line = 1;
    let generalFrom: number | undefined;
    const toGeneral = () => {
      generalFrom = line;
      return generalPath(uri, line, sink);
    };
    let general: ReturnType<typeof generalPath> | undefined = fast ? undefined : toGeneral();
    /** The general path once it has taken over (read through a call: fastPath sets it). */
    const generalTaken = () => general;
    /** Input the fast path has not taken yet: a record that goes on in the next chunk. */
    let pending: Buffer | undefined;
    const onProblem = (p: FlatRecordsProblem) =>
      sink.problem({
        file: uri,
        line: p.line,
        field: fieldName(target.mapping, names, p.column),
        reason: p.reason,
        value: preview(p.value),
      });
    const observe = observer && {
      record: (at: number, types: Uint8Array) => observer.flatRecord(uri, at, types),
      unmapped: (at: number, key: string, type: number) => observer.flatUnmapped(uri, at, key, type),
    };
    /** src through the fast path up to `end` (past a newline, or all when final); what it does not take goes to the general path. */
    const fastPath = (fastConvert: FlatRecordsConverter, src: Buffer, end: number, final: boolean) => {
      sink.out.source = uri;
      const r = isUtf8(src.subarray(0, end))
        ? fastConvert(src, 0, end, line, final, sink.out, onProblem, observe)
        : { pos: 0, line, rows: 0, stopped: true };
      rows += r.rows;
      line = r.line;
      if (r.stopped) {
        pending = undefined;
        general = toGeneral();
        general.push(src.subarray(r.pos));
      } else {
        pending = r.pos < src.length ? src.subarray(r.pos) : undefined;
        // A record larger than COPY takes: the general path reports it.
        if (pending && pending.length > MAX_RECORD_BYTES + 1) {
          general = toGeneral();
          general.push(pending);
          pending = undefined;
        }
      }
    };
    for await (const chunk of chunks) {
      if (bytes === 0 && chunk.byteLength > 0) {
        const gzip = gzipRefusal(uri, chunk);
        if (gzip) throw gzip;
      }
      bytes += chunk.byteLength;
      if (general || !fast) {
        (general ??= toGeneral()).push(chunk);
      } else {
        let data = asBuffer(chunk);
        if (pending) {
          // A record cut by the previous chunk's end: joined with this chunk's first line
          // only (JSON Lines), so that the chunk itself is not copied; with all of the
          // chunk when the record goes on past that line, or the line past the chunk.
          const nl = data.indexOf(NEWLINE);
          if (nl === -1) data = Buffer.concat([pending, data]);
          else {
            const joined = Buffer.concat([pending, data.subarray(0, nl + 1)]);
            data = data.subarray(nl + 1);
            pending = undefined;
            fastPath(fast, joined, joined.length, false);
            const rest = pending as Buffer | undefined;
            if (rest) data = Buffer.concat([rest, data]);
          }
          pending = undefined;
        }
        const taken = generalTaken();
        if (taken) taken.push(data);
        else fastPath(fast, data, data.lastIndexOf(NEWLINE) + 1, false);
      }
      await sink.flushIfFull();
    }
    if (fast && pending && !general) fastPath(fast, pending, pending.length, true);
    if (general) rows += general.end();
    await sink.flushIfFull();
    return { rows, bytes, generalFrom };
  };
}
