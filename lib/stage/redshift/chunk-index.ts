/**
 * Where each line of a compacted chunk (compaction.ts) came from: chunk:line →
 * object:line, kept in memory for the run (two 32-bit numbers a line), so
 * that the rows a COPY of the chunks rejected (STL_LOAD_ERRORS /
 * SYS_LOAD_ERROR_DETAIL, load-errors.ts) name the original object and its
 * line, as an uncompacted COPY would have: a chunk holds one record a line,
 * so the line COPY reports is the record's, and the index gives the line of
 * the original object the record ended on.
 */
import type { RecordProblem } from '../../errors.ts';

class IntList {
  private data = new Int32Array(1024);
  length = 0;
  push(n: number): void {
    if (this.length === this.data.length) {
      const next = new Int32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = n;
  }
  at(i: number): number | undefined {
    return i >= 0 && i < this.length ? this.data[i] : undefined;
  }
}

interface ChunkLines {
  readonly objects: IntList;
  readonly lines: IntList;
}

export class ChunkIndex {
  private readonly chunks = new Map<string, ChunkLines>();

  /**
   * `objectUri`: a compacted object's URI by the number `add` is given (asked
   * of the listing when a line is looked up, not copied: issue 26).
   */
  constructor(private readonly objectUri: (object: number) => string | undefined) {}

  /** The next line of chunk `chunkUri` came from line `line` of object number `object`. */
  add(chunkUri: string, object: number, line: number): void {
    let c = this.chunks.get(chunkUri);
    if (!c) {
      c = { objects: new IntList(), lines: new IntList() };
      this.chunks.set(chunkUri, c);
    }
    c.objects.push(object);
    c.lines.push(line);
  }

  /** Lines written to a chunk. */
  linesOf(chunkUri: string): number {
    return this.chunks.get(chunkUri)?.lines.length ?? 0;
  }

  /** The object and line behind line `line` (1-based) of a chunk; undefined when the chunk or line is unknown. */
  lookup(chunkUri: string, line: number): { readonly file: string; readonly line: number } | undefined {
    const c = this.chunks.get(chunkUri);
    const object = c?.objects.at(line - 1);
    const original = c?.lines.at(line - 1);
    if (object === undefined || original === undefined) return undefined;
    const file = this.objectUri(object);
    return file === undefined ? undefined : { file, line: original };
  }

  /**
   * A rejected row as the original object's: its file and line replaced; a
   * row of no known chunk line is kept as Redshift said it.
   */
  translate(problem: RecordProblem): RecordProblem {
    const found = this.lookup(problem.file, problem.line);
    return found ? { ...problem, file: found.file, line: found.line } : problem;
  }
}
