/**
 * Converts a JSON value to a field of PostgreSQL's COPY text format, applying
 * the conversions Redshift's COPY makes for the column's type: a number into a
 * VARCHAR is its text; an empty string into a numeric column is NULL; VARCHAR
 * lengths count bytes. Returns an error message instead of a field when the
 * value cannot be loaded.
 */
import { EPOCH_MS_RANGE } from '../epoch-ms.ts';

export type StagingType = 'varchar' | 'smallint' | 'integer' | 'bigint' | 'double' | 'timestamp' | 'boolean';

export interface StagingColumn {
  readonly name: string;
  readonly type: StagingType;
  /** VARCHAR length in bytes (Redshift counts bytes). */
  readonly bytes?: number | undefined;
  /** Epoch milliseconds that the transforms convert to TIMESTAMP: only EPOCH_MS_RANGE is accepted. */
  readonly epochMs?: boolean | undefined;
}

export const NULL_FIELD = '\\N';

/** The values each integer type holds (bigint: what a JavaScript number holds exactly). */
export const INT_RANGE: Record<'smallint' | 'integer' | 'bigint', readonly [number, number]> = {
  smallint: [-32768, 32767],
  integer: [-2147483648, 2147483647],
  bigint: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

const NUMBER_TEXT = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;
const INTEGER_TEXT = /^\s*[+-]?\d+\s*$/;
// NUL is matched on purpose: PostgreSQL text cannot hold it, so it must be refused.
// eslint-disable-next-line no-control-regex
const SPECIAL = /[\\\n\r\t\u0000]/;

/** Text as a COPY text field: backslash, newline, carriage return and tab escaped. */
export function escapeText(s: string): string {
  if (!SPECIAL.test(s)) return s;
  return s.replace(/[\\\n\r\t]/g, (c) => (c === '\\' ? '\\\\' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\t'));
}

/** A surrogate code unit without its pair (with the u flag, a pair is one code point and does not match). */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** Why a string cannot be stored as text (a \ud800 escape with no pair would be stored as U+FFFD), or undefined. */
function loneSurrogate(s: string): string | undefined {
  const lone = LONE_SURROGATE.exec(s);
  return lone
    ? `a lone UTF-16 surrogate (\\u${lone[0].charCodeAt(0).toString(16)}), which UTF-8 cannot encode`
    : undefined;
}

/** A double as COPY text: the shortest text that reads back as the same number; -0 keeps its sign (String(-0) is "0"). */
const doubleText = (n: number): string => (Object.is(n, -0) ? '-0' : String(n));

function typeName(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'boolean') return 'a boolean';
  if (typeof v === 'number') return 'a number';
  return `a ${typeof v}`;
}

/** Why a value cannot be loaded (a class, so the common case allocates nothing). */
export class Unloadable {
  constructor(readonly reason: string) {}
}

/** A COPY text field, or why the value cannot be loaded. */
export type Converted = string | Unloadable;

const ok = (field: string): Converted => field;
const bad = (reason: string): Converted => new Unloadable(reason);

/**
 * numberText: the value's JSON text as written, when the value is a JSON
 * number. It is read in two cases only, so that both staging paths give the
 * same result whether or not they pass it: a number going into a VARCHAR
 * (stored as written: 12345678901234567890 keeps its digits, 1.50 its zero),
 * and a number that overflowed to ±Infinity (named as written in the error).
 */
/** The text without its trailing blanks (U+0020 only, like Redshift's RTRIM(value, ' ')). */
export function trimTrailingBlanks(s: string): string {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 0x20) end -= 1;
  return s.slice(0, end);
}

export function toCopyField(value: unknown, column: StagingColumn, numberText?: string): Converted {
  if (value === undefined || value === null) return ok(NULL_FIELD);
  // 1e400 parses to Infinity, which PostgreSQL would store as 'Infinity': refused for every type but text.
  if (typeof value === 'number' && !Number.isFinite(value) && column.type !== 'varchar') {
    return bad(
      `${numberText ?? String(value)} is out of range for ${column.type === 'double' ? 'DOUBLE PRECISION' : column.type.toUpperCase()}`,
    );
  }
  switch (column.type) {
    case 'varchar': {
      let s: string;
      if (typeof value === 'string') {
        // A \ud800 escape with no pair: UTF-8 cannot encode it (it would be stored as U+FFFD).
        const lone = loneSurrogate(value);
        if (lone) return bad(lone);
        s = value;
      } else if (typeof value === 'number') s = numberText ?? String(value);
      else if (typeof value === 'boolean') s = String(value);
      else {
        try {
          s = JSON.stringify(value);
        } catch {
          return bad('a value nested too deeply to store as text');
        }
      }
      const max = column.bytes ?? 65535;
      // Bytes are counted only when the text could be too long (3 bytes per UTF-16 unit at most).
      if (s.length * 3 > max) {
        const bytes = Buffer.byteLength(s, 'utf8');
        if (bytes > max) return bad(`value is ${bytes} bytes, longer than VARCHAR(${max}) (Redshift counts bytes)`);
      }
      // Trailing blanks are dropped, as on Redshift (lib/dialect/redshift/trailing-blanks.ts), where
      // they do not count in comparisons: both engines then compare the same values.
      if (s.endsWith(' ')) s = trimTrailingBlanks(s);
      // One scan for the common case: nothing to escape and no NUL.
      if (!SPECIAL.test(s)) return s;
      if (s.includes('\u0000')) return bad('a NUL character, which the warehouse cannot store');
      return escapeText(s);
    }
    case 'smallint':
    case 'integer':
    case 'bigint': {
      let n: number;
      if (typeof value === 'number') n = value;
      else if (typeof value === 'string') {
        if (value.trim() === '') return ok(NULL_FIELD);
        if (!INTEGER_TEXT.test(value)) return bad(`'${value.slice(0, 40)}' is not an integer`);
        n = Number(value);
      } else return bad(`expected a number, found ${typeName(value)}`);
      if (!Number.isInteger(n)) return bad(`${n} is not an integer`);
      const [lo, hi] = INT_RANGE[column.type];
      if (n < lo || n > hi) return bad(`${n} is out of range for ${column.type.toUpperCase()}`);
      if (column.epochMs && (n < EPOCH_MS_RANGE[0] || n > EPOCH_MS_RANGE[1])) {
        return bad(
          `${n} is not a TIMESTAMP the warehouse can hold (epoch milliseconds from ${EPOCH_MS_RANGE[0]}, 1 January 4713 BC, to ${EPOCH_MS_RANGE[1]}, 287396 AD)`,
        );
      }
      return ok(String(n));
    }
    case 'double': {
      if (typeof value === 'number') return ok(doubleText(value));
      if (typeof value === 'string') {
        if (value.trim() === '') return ok(NULL_FIELD);
        if (!NUMBER_TEXT.test(value)) return bad(`'${value.slice(0, 40)}' is not a number`);
        const n = Number(value);
        if (!Number.isFinite(n)) return bad(`${value} is out of range for DOUBLE PRECISION`);
        return ok(doubleText(n));
      }
      return bad(`expected a number, found ${typeName(value)}`);
    }
    case 'boolean': {
      if (typeof value === 'boolean') return ok(value ? 't' : 'f');
      if (typeof value === 'string' && value.trim() === '') return ok(NULL_FIELD);
      if (typeof value === 'string' && /^(t|f|true|false|1|0|y|n|yes|no)$/i.test(value.trim()))
        return ok(escapeText(value.trim()));
      if (value === 0 || value === 1) return ok(String(value));
      return bad(`expected a boolean, found ${typeName(value)}`);
    }
    case 'timestamp': {
      if (typeof value === 'string') {
        if (value.trim() === '') return ok(NULL_FIELD);
        const lone = loneSurrogate(value);
        if (lone) return bad(lone);
        if (Number.isNaN(Date.parse(value))) return bad(`'${value.slice(0, 40)}' is not a timestamp`);
        return ok(escapeText(value));
      }
      return bad(`expected a timestamp string, found ${typeName(value)}`);
    }
    default: {
      const never: never = column.type;
      return bad(`unsupported column type ${String(never)}`);
    }
  }
}
