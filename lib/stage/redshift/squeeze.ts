/**
 * The byte path of compaction (compaction.ts): the JSON records of one source
 * object put one to a line (JSON Lines) without parsing them. White space
 * outside strings is dropped (a pretty-printed song object becomes one line);
 * every other byte is copied as it is, so numbers keep their text ("1.50",
 * "1E+2") and strings their escapes: Redshift's COPY reads the same values
 * from the line as from the original object. Strings are followed byte by
 * byte: a quote preceded by a backslash does not end one ("a \"b\" c"), a
 * backslash escaped by another does not escape the quote after it ("c:\\").
 *
 * A record ends where its outermost { or [ closes. Characters outside any
 * record (which COPY rejects: "If COPY encounters any non–white-space
 * characters before locating a usable JSON structure, or between valid JSON
 * objects or arrays, COPY returns an error for each instance", Amazon
 * Redshift Database Developer Guide, COPY from JSON format,
 * https://docs.aws.amazon.com/redshift/latest/dg/copy-usage_notes-copy-from-json.html)
 * are kept up to the end of their line, as a line of their own, so the COPY
 * still rejects them; a record left open at the end of the object (truncated,
 * unbalanced) is ended there, so it cannot swallow the next object's records.
 * Each line written is reported with the original line it ends on (the line
 * COPY would have named: "The LINE_NUMBER column records the last line of the
 * JSON object that caused the error", copy-parameters-data-format), for the
 * chunk index (chunk-index.ts).
 */

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const NEWLINE = 0x0a;
const isBlank = (b: number) => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;

/** One object's bytes as JSON Lines, and for each line written the original line it ends on (1-based). */
export interface Squeezed {
  readonly bytes: Buffer;
  readonly lines: readonly number[];
}

/**
 * Squeezes one object's records, fed in pieces (a stream's chunks); `end()`
 * closes a record left open and returns the result.
 */
export class RecordSqueezer {
  private out: Buffer;
  private length = 0;
  private readonly lines: number[] = [];
  private line = 1;
  /** The line of the last byte written. */
  private lastLine = 1;
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** Characters outside a record: copied to the end of their line. */
  private junk = false;

  constructor(sizeHint = 1024) {
    this.out = Buffer.allocUnsafe(Math.max(64, sizeHint + 16));
  }

  private ensure(extra: number): void {
    if (this.length + extra <= this.out.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.out.length * 2, this.length + extra));
    this.out.copy(next, 0, 0, this.length);
    this.out = next;
  }

  private endLine(line = this.line): void {
    this.ensure(1);
    this.out[this.length++] = NEWLINE;
    this.lines.push(line);
  }

  feed(piece: Uint8Array): void {
    // At most one byte out per byte in, plus a newline per record ended (at most one per byte).
    this.ensure(piece.length * 2);
    const out = this.out;
    let n = this.length;
    for (let i = 0; i < piece.length; i += 1) {
      const b = piece[i] as number;
      if (this.inString) {
        if (b === NEWLINE) {
          // A raw newline in a string (not JSON): the line ends here as the original's does.
          this.length = n;
          this.endLine();
          n = this.length;
          this.line += 1;
          continue;
        }
        out[n++] = b;
        this.lastLine = this.line;
        if (this.escaped) this.escaped = false;
        else if (b === BACKSLASH) this.escaped = true;
        else if (b === QUOTE) this.inString = false;
        continue;
      }
      if (this.junk) {
        if (b === NEWLINE) {
          this.junk = false;
          this.length = n;
          this.endLine();
          n = this.length;
          this.line += 1;
        } else {
          out[n++] = b;
          this.lastLine = this.line;
        }
        continue;
      }
      if (isBlank(b)) {
        if (b === NEWLINE) this.line += 1;
        continue;
      }
      if (this.depth === 0 && b !== OPEN_BRACE && b !== OPEN_BRACKET) {
        this.junk = true;
        out[n++] = b;
        this.lastLine = this.line;
        continue;
      }
      out[n++] = b;
      this.lastLine = this.line;
      if (b === QUOTE) this.inString = true;
      else if (b === OPEN_BRACE || b === OPEN_BRACKET) this.depth += 1;
      else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
        this.depth -= 1;
        if (this.depth === 0) {
          this.length = n;
          this.endLine();
          n = this.length;
        }
      }
    }
    this.length = n;
  }

  /** The object's lines; a record or junk left open at the end is ended on the last line. */
  end(): Squeezed {
    if (this.junk || this.depth > 0 || this.inString) this.endLine(this.lastLine);
    this.junk = false;
    this.depth = 0;
    this.inString = false;
    this.escaped = false;
    return { bytes: this.out.subarray(0, this.length), lines: this.lines };
  }
}

/** Squeezes a whole object held in memory. */
export function squeezeRecords(bytes: Uint8Array): Squeezed {
  const s = new RecordSqueezer(bytes.length);
  s.feed(bytes);
  return s.end();
}
