/**
 * A growable byte buffer of COPY text rows. Both conversion paths append to
 * it (the byte fast path and the JSON.parse path); the caller takes full
 * batches out without a copy.
 */
export class CopyBuffer {
  private buf: Buffer;
  /** Bytes written. */
  length = 0;
  /** Complete rows written. */
  rows = 0;
  /**
   * The object whose rows are being written: set by the converter before each
   * synchronous stretch of writing (objects converted at once share the buffer).
   */
  source = '';
  /** Each row's origin (its object and the record's last line), so a row the server refuses can be named without its text. */
  private sources: string[] = [];
  private lines: number[] = [];

  constructor(private readonly initialBytes = 512 * 1024) {
    this.buf = Buffer.allocUnsafeSlow(initialBytes);
  }

  /** The buffer to write into, with room for n more bytes at `length`. */
  reserve(n: number): Buffer {
    if (this.length + n > this.buf.length) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.length + n));
      this.buf.copy(bigger, 0, 0, this.length);
      this.buf = bigger;
    }
    return this.buf;
  }

  writeString(s: string): void {
    const buf = this.reserve(s.length * 3);
    this.length += buf.write(s, this.length, 'utf8');
  }

  /** A row is complete: it came from the record ending at `line` of `source`. */
  endRow(line: number, source: string = this.source): void {
    this.rows += 1;
    this.lines.push(line);
    this.sources.push(source);
  }

  /** The rows written so far (the buffer itself is handed over, not copied), their origins, and a new buffer. */
  take(): { bytes: Uint8Array; rows: number; origins: RowOrigins } {
    const bytes = this.buf.subarray(0, this.length);
    const rows = this.rows;
    const origins = { sources: this.sources, lines: this.lines };
    this.buf = Buffer.allocUnsafeSlow(this.initialBytes);
    this.length = 0;
    this.rows = 0;
    this.sources = [];
    this.lines = [];
    return { bytes, rows, origins };
  }
}

/** Where each row of a batch came from: row i is the record ending at lines[i] of sources[i]. */
export interface RowOrigins {
  readonly sources: readonly string[];
  readonly lines: readonly number[];
}
