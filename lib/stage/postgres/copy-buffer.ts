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

  /** The rows written so far (the buffer itself is handed over, not copied), and a new buffer. */
  take(): { bytes: Uint8Array; rows: number } {
    const bytes = this.buf.subarray(0, this.length);
    const rows = this.rows;
    this.buf = Buffer.allocUnsafeSlow(this.initialBytes);
    this.length = 0;
    this.rows = 0;
    return { bytes, rows };
  }
}
