/**
 * Which lines of an object hold bytes that are not UTF-8, for the JSON.parse
 * path: its decoder turns them into U+FFFD, and a field with U+FFFD on such a
 * line is reported as invalid UTF-8 (a U+FFFD written in the file as its
 * three valid bytes is text like any other). A character whose bytes are
 * split between two reads is joined with the rest of it before it is checked.
 */
import { isUtf8 } from 'node:buffer';

const NEWLINE = 0x0a;

/** Where the last, incomplete, UTF-8 sequence of `b` starts (b.length when it ends complete). */
function completeEnd(b: Uint8Array): number {
  for (let i = b.length - 1; i >= Math.max(0, b.length - 3); i -= 1) {
    const c = b[i] as number;
    if (c < 0x80) return b.length; // ASCII: complete
    if (c >= 0xc0) {
      const needed = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
      return b.length - i < needed ? i : b.length;
    }
    // A continuation byte: look further back for its lead.
  }
  return b.length;
}

export class Utf8Lines {
  /** The first bytes of a character that the next chunk completes. */
  private carry: Buffer = Buffer.alloc(0);
  /** Line number at the start of `carry` (or of the next chunk). */
  private line: number;
  private readonly bad = new Set<number>();

  constructor(firstLine: number) {
    this.line = firstLine;
  }

  push(chunk: Uint8Array): void {
    const data =
      this.carry.length > 0
        ? Buffer.concat([this.carry, chunk])
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const end = completeEnd(data);
    this.check(data.subarray(0, end));
    this.carry = Buffer.from(data.subarray(end));
  }

  /** The input has ended: a character left incomplete is invalid. */
  end(): void {
    if (this.carry.length > 0) this.bad.add(this.line);
    this.carry = Buffer.alloc(0);
  }

  /** Whether any line from `first` to `last` holds invalid UTF-8. */
  anyIn(first: number, last: number): boolean {
    if (this.bad.size === 0) return false;
    for (const line of this.bad) if (line >= first && line <= last) return true;
    return false;
  }

  get seen(): boolean {
    return this.bad.size > 0;
  }

  private check(bytes: Buffer): void {
    if (isUtf8(bytes)) {
      for (let i = bytes.indexOf(NEWLINE); i !== -1; i = bytes.indexOf(NEWLINE, i + 1)) this.line += 1;
      return;
    }
    // Rare: find the lines at fault (a newline always ends a sequence, valid or not).
    let start = 0;
    for (;;) {
      const nl = bytes.indexOf(NEWLINE, start);
      const stop = nl === -1 ? bytes.length : nl;
      if (!isUtf8(bytes.subarray(start, stop))) this.bad.add(this.line);
      if (nl === -1) break;
      this.line += 1;
      start = nl + 1;
    }
  }
}
