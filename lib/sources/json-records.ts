/**
 * Splits a stream of JSON text into records the way Redshift's COPY … JSON
 * reads them: one object per record, records concatenated with only white
 * space between them (JSON Lines, minified or pretty-printed objects, several
 * objects per file). Tracks line numbers so that every problem names its line.
 */
import type { RecordProblem } from '../errors.ts';
import { printable } from '../printable.ts';
import { syntaxErrorOffset } from './json-source-text.ts';

/** Redshift's limit for one JSON object. */
export const MAX_RECORD_BYTES = 4 * 1024 * 1024;

export interface JsonRecord {
  readonly value: Record<string, unknown>;
  /** Line where the record starts (1-based). */
  readonly line: number;
  /** The record's JSON text (what JSON.parse forgets is read back from it: numbers as written). */
  readonly text: string;
}

export interface RecordSink {
  record(r: JsonRecord): void;
  /** A bad record; the splitter resumes at the next line. */
  problem(p: Omit<RecordProblem, 'file'>): void;
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);

function describeChar(c: string): string {
  if (c === '\u0000') return 'a NUL byte';
  if (c === '\ufeff') return 'a byte-order mark (U+FEFF)';
  if (c === '[') return "a JSON array ('[')";
  return `'${c}'`;
}

export class JsonRecordSplitter {
  private buf = '';
  /** Line number of buf[0]. */
  private line: number;

  /** firstLine: the line number of the first text pushed (when an object is split part-way). */
  constructor(
    private readonly sink: RecordSink,
    firstLine = 1,
  ) {
    this.line = firstLine;
  }

  /** True while dropping the rest of an oversized record's line. */
  private skipping = false;

  push(text: string): void {
    if (this.skipping) {
      const nl = text.indexOf('\n');
      if (nl === -1) return;
      this.skipping = false;
      this.line += 1;
      text = text.slice(nl + 1);
    }
    this.buf = this.buf.length === 0 ? text : this.buf + text;
    this.drain(false);
  }

  end(): void {
    this.drain(true);
  }

  private countLines(from: number, to: number): number {
    let n = 0;
    let i = this.buf.indexOf('\n', from);
    while (i !== -1 && i < to) {
      n += 1;
      i = this.buf.indexOf('\n', i + 1);
    }
    return n;
  }

  /** Drops the rest of the current line after a bad record. */
  private skipLine(pos: number, final: boolean): number | undefined {
    const nl = this.buf.indexOf('\n', pos);
    if (nl === -1) return final ? this.buf.length : undefined;
    return nl + 1;
  }

  private drain(final: boolean): void {
    const buf = this.buf;
    let pos = 0;
    let line = this.line;
    const consume = (to: number) => {
      line += this.countLines(pos, to);
      pos = to;
    };
    /**
     * Drops the rest of a bad record's line from `from` on. False when the line
     * has not fully arrived: nothing is kept, and the rest of it is dropped as it comes.
     */
    const dropLine = (from: number): boolean => {
      const next = this.skipLine(from, final);
      if (next === undefined) {
        // Lines counted before the buffer is dropped (countLines reads this.buf).
        this.line = line + this.countLines(pos, buf.length);
        this.buf = '';
        this.skipping = true;
        return false;
      }
      consume(next);
      return true;
    };
    for (;;) {
      // White space between records.
      while (pos < buf.length && WS.has(buf.charCodeAt(pos))) {
        if (buf.charCodeAt(pos) === 0x0a) line += 1;
        pos += 1;
      }
      if (pos >= buf.length) break;
      const c = buf[pos] as string;
      if (c !== '{') {
        const isValueStart = c === '[' || c === '"' || /[-0-9tfn]/.test(c);
        this.sink.problem({
          line,
          reason: isValueStart
            ? `expected a JSON object, found ${c === '[' ? 'a JSON array' : 'a JSON scalar'}`
            : `expected a JSON object, found ${describeChar(c)}`,
        });
        if (!dropLine(pos)) return;
        continue;
      }
      // Fast path: the rest of the line is exactly one object (JSON Lines, minified files).
      const nl = buf.indexOf('\n', pos);
      const lineEnd = nl === -1 ? (final ? buf.length : -1) : nl;
      if (lineEnd !== -1) {
        let end = lineEnd;
        while (end > pos && WS.has(buf.charCodeAt(end - 1))) end -= 1;
        if (buf.charCodeAt(end - 1) === 0x7d) {
          const text = buf.slice(pos, end);
          const value = tryParse(text);
          if (value !== undefined) {
            this.emit(value, line, text);
            consume(lineEnd);
            continue;
          }
        }
      }
      // Slow path: scan for the end of the object (pretty-printed or several per line).
      const end = scanObject(buf, pos);
      if (end === -1) {
        if (buf.length - pos > MAX_RECORD_BYTES) {
          this.sink.problem({
            line,
            reason: `a JSON object larger than ${MAX_RECORD_BYTES / 1024 / 1024} MB (Redshift's limit for one record)`,
          });
          if (!dropLine(pos + MAX_RECORD_BYTES)) return;
          continue;
        }
        if (final) {
          this.sink.problem({ line, reason: 'truncated JSON: the object starting here never ends' });
          consume(buf.length);
        }
        break;
      }
      const text = buf.slice(pos, end);
      const value = tryParse(text);
      if (value === undefined) {
        const detail = parseErrorOf(text);
        this.sink.problem({
          line: line + this.countLines(pos, pos + detail.offset),
          reason: `invalid JSON: ${detail.message}`,
        });
        if (!dropLine(end)) return;
        continue;
      }
      this.emit(value, line, text);
      consume(end);
    }
    this.buf = buf.slice(pos);
    this.line = line;
  }

  private emit(value: unknown, line: number, text: string): void {
    if (text.length > MAX_RECORD_BYTES) {
      // Named by its last line, as every record problem (lib/stage/postgres/object-converter.ts).
      this.sink.problem({
        line: line + (text.match(/\n/g)?.length ?? 0),
        reason: `a JSON object larger than ${MAX_RECORD_BYTES / 1024 / 1024} MB (Redshift's limit for one record)`,
      });
      return;
    }
    this.sink.record({ value: value as Record<string, unknown>, line, text });
  }
}

function tryParse(text: string): unknown {
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * JSON.parse's message and the offset of the error. Node 20 names no position
 * for an unexpected token, and quotes the whole text instead (a pretty-printed
 * record over many lines): the quote is dropped and the offset found by
 * jsonc-parser, so the problem names the line of the error itself.
 */
function parseErrorOf(text: string): { message: string; offset: number } {
  try {
    JSON.parse(text);
    return { message: 'not a JSON object', offset: 0 };
  } catch (err) {
    const message = (err as Error).message
      .replace(/^JSON\.parse: /, '')
      .replace(/, (\.\.\.)?"[\s\S]*"(\.\.\.)? is not valid JSON$/, '');
    const m = / at position (\d+)/.exec(message);
    const offset = m ? Number(m[1]) : (syntaxErrorOffset(text) ?? 0);
    return { message: printable(message.replace(/ in JSON at position \d+.*$/s, '')), offset };
  }
}

/** Index just past the object starting at `start`, or -1 when the text ends first. */
function scanObject(buf: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < buf.length; i += 1) {
    const c = buf.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i += 1; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) depth += 1;
    else if (c === 0x7d || c === 0x5d) {
      depth -= 1;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}
