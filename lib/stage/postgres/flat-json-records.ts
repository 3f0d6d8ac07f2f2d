/**
 * The fast path of staging: JSON objects that hold only top-level scalar
 * fields (Sparkify's log and song files: JSON Lines, or one pretty-printed
 * object per file) are converted straight from UTF-8 bytes to COPY text
 * bytes, without building JavaScript strings or objects. The scanner is
 * strict JSON: anything it does not accept (nested values, a syntax error, a
 * byte-order mark, text between objects) stops it at the start of that
 * record, and the caller hands the rest of the object to the JSON.parse path
 * (object-converter.ts), which reports errors exactly. A field whose
 * conversion is not a plain byte copy (a \u escape, a number in exponent
 * form, a value too long…) goes through JSON.parse and toCopyField on its
 * own, so both paths load the same values and report the same problems.
 */
import { MAX_RECORD_BYTES } from '../../sources/json-records.ts';
import { INT_RANGE, toCopyField, Unloadable, type StagingColumn } from './copy-row.ts';
import type { CopyBuffer } from './copy-buffer.ts';
import type { JsonMapping } from '../../sources/json-mapping.ts';
import { EPOCH_MS_RANGE } from '../epoch-ms.ts';
import { T_ABSENT, T_BOOLEAN, T_NULL, T_NUMBER, T_STRING } from '../../sources/drift.ts';

/** What a field's value token is. */
const NONE = 0;
const STRING = 1; // no escapes
const ESCAPED_STRING = 2;
const INTEGER = 3; // JSON number without fraction or exponent
const DECIMAL = 4; // with a fraction, no exponent
const EXPONENT = 5;
const TRUE = 6;
const FALSE = 7;
const NULL = 8;

/** The JSON type (lib/sources/drift.ts) of each kind, for a RecordObserver. */
const KIND_TYPES = Uint8Array.from([
  T_ABSENT,
  T_STRING,
  T_STRING,
  T_NUMBER,
  T_NUMBER,
  T_NUMBER,
  T_BOOLEAN,
  T_BOOLEAN,
  T_NULL,
]);

/** How a column's value is written: the column types grouped by conversion. */
const AS_TEXT = 0;
const AS_INTEGER = 1;
const AS_DOUBLE = 2;
const AS_BOOLEAN = 3;
const AS_TIMESTAMP = 4;
const TYPE_CODES = {
  varchar: AS_TEXT,
  smallint: AS_INTEGER,
  integer: AS_INTEGER,
  bigint: AS_INTEGER,
  double: AS_DOUBLE,
  boolean: AS_BOOLEAN,
  timestamp: AS_TIMESTAMP,
} as const;

// The bytes the scanner looks for (ASCII), by name.
const TAB = 0x09;
const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const SPACE = 0x20;
const QUOTE = 0x22;
const PLUS = 0x2b;
const COMMA = 0x2c;
const MINUS = 0x2d;
const DOT = 0x2e;
const SLASH = 0x2f;
const ZERO = 0x30;
const NINE = 0x39;
const COLON = 0x3a;
const UPPER_A = 0x41;
const UPPER_E = 0x45;
const UPPER_F = 0x46;
const UPPER_N = 0x4e;
const BACKSLASH = 0x5c;
const LOWER_A = 0x61;
const LOWER_E = 0x65;
const LOWER_F = 0x66;
const LOWER_L = 0x6c;
const LOWER_N = 0x6e;
const LOWER_R = 0x72;
const LOWER_S = 0x73;
const LOWER_T = 0x74;
const LOWER_U = 0x75;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const NULL_FIELD = [BACKSLASH, UPPER_N]; // \N
/** scan() results other than an index. */
const INCOMPLETE = -1;
const INVALID = -2;

export interface FlatRecordsProblem {
  readonly line: number;
  readonly column: number;
  readonly reason: string;
  readonly value: unknown;
}

export interface FlatRecordsResult {
  /**
   * Where the scan ended: `end`; or the start of a record that goes on past
   * `end` (not final: the caller passes it again with more input); or the
   * start of the record it could not handle.
   */
  readonly pos: number;
  /** Line number at `pos`. */
  readonly line: number;
  /** Rows written to the buffer. */
  readonly rows: number;
  /** True when a record needs the JSON.parse path (from `pos` on). */
  readonly stopped: boolean;
}

/** Told of each record the scan read whole (schema drift: lib/sources/drift.ts), before it is converted. */
export interface FlatRecordObserver {
  /** types[i]: the JSON type code of column i's key in the record starting on `line`. */
  record(line: number, types: Uint8Array): void;
  /** A key no column maps, on its own line. */
  unmapped(line: number, key: string, type: number): void;
}

/**
 * Converts the records in src[start, end). `end` must not split a UTF-8
 * sequence (callers end at a newline); `final` says nothing follows.
 */
export type FlatRecordsConverter = (
  src: Buffer,
  start: number,
  end: number,
  line: number,
  final: boolean,
  out: CopyBuffer,
  problem: (p: FlatRecordsProblem) => void,
  observe?: FlatRecordObserver,
) => FlatRecordsResult;

/** The keys a record's fields are found under, when every column is a top-level key. */
function topLevelKeys(mapping: JsonMapping, columns: readonly string[]): string[] | undefined {
  if (mapping.kind === 'auto') return mapping.ignoreCase ? undefined : [...columns];
  const keys: string[] = [];
  for (const path of mapping.paths) {
    if (path.length !== 1 || typeof path[0] !== 'string') return undefined;
    keys.push(path[0]);
  }
  return keys;
}

const isDigit = (c: number) => c >= ZERO && c <= NINE;
const isWs = (c: number) => c === SPACE || c === TAB || c === CARRIAGE_RETURN || c === NEWLINE;
const isHex = (c: number) => isDigit(c) || (c >= UPPER_A && c <= UPPER_F) || (c >= LOWER_A && c <= LOWER_F);
/** JSON's escapes other than \u: " \ / b f n r t. */
const SIMPLE_ESCAPE = new Uint8Array(256);
for (const c of '"\\/bfnrt') SIMPLE_ESCAPE[c.charCodeAt(0)] = 1;

/** Returns the fast path for this mapping, or undefined when it needs nested paths or case folding. */
export function createFlatRecordsConverter(
  columns: readonly StagingColumn[],
  mapping: JsonMapping,
): FlatRecordsConverter | undefined {
  const keys = topLevelKeys(
    mapping,
    columns.map((c) => c.name),
  );
  if (!keys) return undefined;
  const width = columns.length;
  const keyBytes = keys.map((k) => Buffer.from(k, 'utf8'));
  const typeCodes = Uint8Array.from(columns.map((c) => TYPE_CODES[c.type]));
  const maxBytes = Int32Array.from(columns.map((c) => c.bytes ?? 65535));
  // The integers copied as written: the type's range, narrowed to EPOCH_MS_RANGE for a ts (others go to toCopyField, which says why).
  const lo = Float64Array.from(
    columns.map((c) =>
      c.type in INT_RANGE
        ? Math.max(INT_RANGE[c.type as keyof typeof INT_RANGE][0], c.epochMs ? EPOCH_MS_RANGE[0] : -Infinity)
        : 0,
    ),
  );
  const hi = Float64Array.from(
    columns.map((c) =>
      c.type in INT_RANGE
        ? Math.min(INT_RANGE[c.type as keyof typeof INT_RANGE][1], c.epochMs ? EPOCH_MS_RANGE[1] : Infinity)
        : 0,
    ),
  );
  const kinds = new Uint8Array(width);
  const starts = new Int32Array(width);
  const ends = new Int32Array(width);
  const types = new Uint8Array(width);
  /** The keys no column maps in the record last scanned: start, end, kind and newlines before it, four numbers each. */
  const unmapped: number[] = [];
  let guess = 0;

  /** The column whose key is src[start, end), or -1 (fields no column maps are ignored, as COPY does). */
  const matchKey = (src: Buffer, start: number, end: number): number => {
    const len = end - start;
    for (let n = 0; n < width; n += 1) {
      const col = (guess + n) % width;
      const key = keyBytes[col] as Buffer;
      if (key.length !== len) continue;
      let i = 0;
      while (i < len && key[i] === src[start + i]) i += 1;
      if (i === len) {
        guess = col + 1 === width ? 0 : col + 1;
        return col;
      }
    }
    return -1;
  };

  /** Newlines inside the record last scanned. */
  let newlines = 0;
  const skipWs = (src: Buffer, i: number, limit: number): number => {
    while (i < limit) {
      const c = src[i] as number;
      if (c === NEWLINE) newlines += 1;
      else if (c !== SPACE && c !== TAB && c !== CARRIAGE_RETURN) break;
      i += 1;
    }
    return i;
  };

  /**
   * Scans the record at src[pos] ('{'): the index just past its '}' when it
   * is one flat JSON object; INCOMPLETE when the input ends first; INVALID.
   * One function on purpose: split into scanKey/scanString/scanNumber/
   * scanValue helpers it read a little better but converted measurably
   * slower (figures in docs/performance.md), so it stays whole.
   */
  const scan = (src: Buffer, pos: number, limit: number): number => {
    kinds.fill(NONE);
    newlines = 0;
    unmapped.length = 0;
    let i = pos + 1;
    i = skipWs(src, i, limit);
    if (i < limit && src[i] === CLOSE_BRACE) {
      i += 1;
    } else {
      for (;;) {
        if (i >= limit) return INCOMPLETE;
        if (src[i] !== QUOTE) return INVALID;
        const keyStart = i + 1;
        let j = keyStart;
        for (;;) {
          if (j >= limit) return INCOMPLETE;
          const c = src[j] as number;
          if (c === QUOTE) break;
          if (c === BACKSLASH || c < SPACE) return INVALID;
          j += 1;
        }
        const col = matchKey(src, keyStart, j);
        const keyEnd = j;
        const keyNewlines = newlines;
        i = j + 1;
        i = skipWs(src, i, limit);
        if (i >= limit) return INCOMPLETE;
        if (src[i] !== COLON) return INVALID;
        i += 1;
        i = skipWs(src, i, limit);
        if (i >= limit) return INCOMPLETE;
        const c = src[i] as number;
        const tokenStart = i;
        let kind: number;
        if (c === QUOTE) {
          kind = STRING;
          j = i + 1;
          for (;;) {
            if (j >= limit) return INCOMPLETE;
            const d = src[j] as number;
            if (d === QUOTE) break;
            if (d === BACKSLASH) {
              const e = j + 1 < limit ? (src[j + 1] as number) : 0;
              if (e === LOWER_U) {
                if (j + 5 >= limit) return INCOMPLETE;
                for (let h = j + 2; h < j + 6; h += 1) if (!isHex(src[h] as number)) return INVALID;
                j += 6;
              } else if (SIMPLE_ESCAPE[e] === 1) j += 2;
              else return INVALID;
              kind = ESCAPED_STRING;
              continue;
            }
            if (d < SPACE) return INVALID;
            j += 1;
          }
          i = j + 1;
        } else if (c === MINUS || isDigit(c)) {
          j = c === MINUS ? i + 1 : i;
          if (j >= limit) return INCOMPLETE;
          if (src[j] === ZERO) j += 1;
          else if (isDigit(src[j] as number)) while (j < limit && isDigit(src[j] as number)) j += 1;
          else return INVALID;
          kind = INTEGER;
          if (j < limit && src[j] === DOT) {
            kind = DECIMAL;
            const from = (j += 1);
            while (j < limit && isDigit(src[j] as number)) j += 1;
            if (j === from) return INVALID;
          }
          if (j < limit && (src[j] === LOWER_E || src[j] === UPPER_E)) {
            kind = EXPONENT;
            j += 1;
            if (j < limit && (src[j] === PLUS || src[j] === MINUS)) j += 1;
            const from = j;
            while (j < limit && isDigit(src[j] as number)) j += 1;
            if (j === from) return INVALID;
          }
          i = j;
        } else if (i + 5 > limit && (c === LOWER_T || c === LOWER_F || c === LOWER_N)) {
          return INCOMPLETE;
        } else if (
          c === LOWER_T &&
          i + 3 < limit &&
          src[i + 1] === LOWER_R &&
          src[i + 2] === LOWER_U &&
          src[i + 3] === LOWER_E
        ) {
          kind = TRUE;
          i += 4;
        } else if (
          c === LOWER_F &&
          i + 4 < limit &&
          src[i + 1] === LOWER_A &&
          src[i + 2] === LOWER_L &&
          src[i + 3] === LOWER_S &&
          src[i + 4] === LOWER_E
        ) {
          kind = FALSE;
          i += 5;
        } else if (
          c === LOWER_N &&
          i + 3 < limit &&
          src[i + 1] === LOWER_U &&
          src[i + 2] === LOWER_L &&
          src[i + 3] === LOWER_L
        ) {
          kind = NULL;
          i += 4;
        } else {
          return INVALID; // nested objects and arrays, or not JSON
        }
        // A repeated key: the last value wins, as with JSON.parse.
        if (col !== -1) {
          kinds[col] = kind;
          starts[col] = tokenStart;
          ends[col] = i;
        } else unmapped.push(keyStart, keyEnd, kind, keyNewlines);
        i = skipWs(src, i, limit);
        if (i >= limit) return INCOMPLETE;
        if (src[i] === COMMA) {
          i += 1;
          i = skipWs(src, i, limit);
          continue;
        }
        if (src[i] === CLOSE_BRACE) {
          i += 1;
          break;
        }
        return INVALID;
      }
    }
    return i;
  };

  /** Digits of an integer (optional minus, no leading zero, at most 15 digits) as a number; NaN otherwise. */
  const plainInteger = (src: Buffer, start: number, end: number): number => {
    let i = start;
    const negative = src[i] === MINUS;
    if (negative) i += 1;
    const digits = end - i;
    if (digits < 1 || digits > 15 || (digits > 1 && src[i] === ZERO)) return NaN;
    let n = 0;
    for (; i < end; i += 1) {
      const d = (src[i] as number) - ZERO;
      if (d < 0 || d > 9) return NaN;
      n = n * 10 + d;
    }
    return negative ? -n : n;
  };

  /** Tells the observer of the record just scanned (starting on `line`). */
  const observeRecord = (observe: FlatRecordObserver, src: Buffer, line: number) => {
    for (let col = 0; col < width; col += 1) types[col] = KIND_TYPES[kinds[col] as number] as number;
    observe.record(line, types);
    for (let u = 0; u < unmapped.length; u += 4) {
      const key = src.toString('utf8', unmapped[u] as number, unmapped[u + 1] as number);
      observe.unmapped(line + (unmapped[u + 3] as number), key, KIND_TYPES[unmapped[u + 2] as number] as number);
    }
  };

  return (src, start, end, line, final, out, problem, observe) => {
    let pos = start;
    let rows = 0;
    for (;;) {
      // White space between records.
      while (pos < end && isWs(src[pos] as number)) {
        if (src[pos] === NEWLINE) line += 1;
        pos += 1;
      }
      if (pos >= end) break;
      if (src[pos] !== OPEN_BRACE) return { pos, line, rows, stopped: true };
      const i = pos;
      const recordEnd = scan(src, i, Math.min(end, i + MAX_RECORD_BYTES));
      if (recordEnd === INVALID || (recordEnd === INCOMPLETE && (final || end - i >= MAX_RECORD_BYTES)))
        return { pos, line, rows, stopped: true };
      if (recordEnd === INCOMPLETE) return { pos, line, rows, stopped: false };
      if (observe) observeRecord(observe, src, line);

      // The row: every byte of the record at most twice (escapes), plus separators and \N.
      const bound = 2 * (recordEnd - i) + 3 * width + 1;
      const rowStart = out.length;
      let buf = out.reserve(bound);
      let at = rowStart;
      let bad: FlatRecordsProblem | undefined;
      for (let col = 0; col < width; col += 1) {
        if (col > 0) buf[at++] = TAB;
        const kind = kinds[col] as number;
        if (kind === NONE || kind === NULL) {
          buf[at++] = NULL_FIELD[0] as number;
          buf[at++] = NULL_FIELD[1] as number;
          continue;
        }
        const s = starts[col] as number;
        const e = ends[col] as number;
        let done = false;
        switch (typeCodes[col]) {
          case AS_TEXT: {
            // VARCHAR: a string's bytes (the raw length bounds the decoded length), or a number's JSON text as written.
            const max = maxBytes[col] as number;
            const textStart = at;
            if (kind === STRING && e - s - 2 <= max) {
              for (let k = s + 1; k < e - 1; k += 1) buf[at++] = src[k] as number;
              done = true;
            } else if (kind === ESCAPED_STRING && e - s - 2 <= max) {
              const fieldStart = at;
              done = true;
              for (let k = s + 1; k < e - 1; k += 1) {
                const c = src[k] as number;
                if (c !== BACKSLASH) {
                  buf[at++] = c;
                  continue;
                }
                const x = src[++k] as number;
                if (x === QUOTE || x === SLASH) buf[at++] = x;
                else if (x === LOWER_U) {
                  at = fieldStart; // \u: JSON.parse decodes it
                  done = false;
                  break;
                } else {
                  // \\ \b \f \n \r \t mean the same in COPY text.
                  buf[at++] = BACKSLASH;
                  buf[at++] = x;
                }
              }
            } else if ((kind === INTEGER || kind === DECIMAL || kind === EXPONENT) && e - s <= max) {
              for (let k = s; k < e; k += 1) buf[at++] = src[k] as number;
              done = true;
            }
            // Trailing blanks dropped, as toCopyField does (a blank byte is never part of a longer UTF-8 character).
            if (done) while (at > textStart && buf[at - 1] === SPACE) at -= 1;
            break;
          }
          case AS_INTEGER: {
            // SMALLINT, INTEGER, BIGINT: a plain integer, as a number or a string; "" is NULL.
            const from = kind === INTEGER ? s : kind === STRING ? s + 1 : -1;
            const to = kind === INTEGER ? e : e - 1;
            if (from === -1) break;
            if (from === to) {
              buf[at++] = NULL_FIELD[0] as number;
              buf[at++] = NULL_FIELD[1] as number;
              done = true;
              break;
            }
            const n = plainInteger(src, from, to);
            if (n >= (lo[col] as number) && n <= (hi[col] as number)) {
              for (let k = from; k < to; k += 1) buf[at++] = src[k] as number;
              done = true;
            }
            break;
          }
          case AS_DOUBLE: {
            // DOUBLE PRECISION: a number without exponent (cannot overflow) is copied as written; "" is NULL.
            if ((kind === INTEGER || kind === DECIMAL) && e - s <= 64 && !(src[s] === MINUS && src[s + 1] === ZERO)) {
              for (let k = s; k < e; k += 1) buf[at++] = src[k] as number;
              done = true;
            } else if (kind === STRING && e - s === 2) {
              buf[at++] = NULL_FIELD[0] as number;
              buf[at++] = NULL_FIELD[1] as number;
              done = true;
            }
            break;
          }
          case AS_BOOLEAN: {
            if (kind === TRUE || kind === FALSE) {
              buf[at++] = kind === TRUE ? LOWER_T : LOWER_F;
              done = true;
            }
            break;
          }
          default:
            break;
        }
        if (done) continue;
        // Anything else: the value as JSON.parse reads it, converted by the same rules as the other path.
        const token = src.toString('utf8', s, e);
        const value: unknown = JSON.parse(token);
        const field = toCopyField(
          value,
          columns[col] as StagingColumn,
          kind >= INTEGER && kind <= EXPONENT ? token : undefined,
        );
        if (field instanceof Unloadable) {
          // The record's last line, as Redshift names it (object-converter.ts).
          bad = { line: line + newlines, column: col, reason: field.reason, value };
          break;
        }
        out.length = at;
        out.writeString(field);
        buf = out.reserve(bound);
        at = out.length;
      }
      if (bad) {
        out.length = rowStart;
        problem(bad);
      } else {
        buf[at++] = NEWLINE;
        out.length = at;
        out.endRow(line + newlines);
        rows += 1;
      }
      pos = recordEnd;
      line += newlines;
    }
    return { pos, line, rows, stopped: false };
  };
}
