/**
 * Runs one object's bytes through the staging converter (the byte fast path
 * or the JSON.parse path only) in chunks of a given size, and reads the COPY
 * text back as values: what PostgreSQL would store.
 */
import type { RecordProblem } from '../../lib/errors.ts';
import { CopyBuffer } from '../../lib/stage/postgres/copy-buffer.ts';
import type { StagingColumn } from '../../lib/stage/postgres/copy-row.ts';
import type { JsonMapping } from '../../lib/sources/json-mapping.ts';
import { createObjectConverter, type ConvertResult } from '../../lib/stage/postgres/object-converter.ts';

export interface Converted {
  readonly text: string;
  readonly problems: RecordProblem[];
  readonly result: ConvertResult;
}

/** chunkSizes: the size of each chunk in turn (the last one repeats). */
export async function convertBytes(
  columns: readonly StagingColumn[],
  mapping: JsonMapping,
  bytes: Buffer,
  fastPath: boolean,
  chunkSizes: number | readonly number[] = bytes.length,
): Promise<Converted> {
  const sizes = typeof chunkSizes === 'number' ? [chunkSizes] : chunkSizes;
  const out = new CopyBuffer(64);
  const problems: RecordProblem[] = [];
  let text = '';
  const chunks: Buffer[] = [];
  for (let i = 0, n = 0; i < bytes.length; n += 1) {
    const size = Math.max(sizes[Math.min(n, sizes.length - 1)] ?? 1, 1);
    chunks.push(bytes.subarray(i, i + size));
    i += size;
  }
  const result = await createObjectConverter({ columns, mapping }, { fastPath })('input.json', chunks, {
    out,
    flushIfFull: async () => {
      text += Buffer.from(out.take().bytes).toString('utf8');
    },
    problem: (p) => problems.push(p),
  });
  text += Buffer.from(out.take().bytes).toString('utf8');
  return { text, problems, result };
}

const ESCAPES: Record<string, string> = { '\\': '\\', n: '\n', r: '\r', t: '\t', b: '\b', f: '\f', v: '\v' };

/** One COPY text field as the text PostgreSQL reads from it (null for \N). */
export function copyFieldText(field: string): string | null {
  return field === '\\N' ? null : field.replace(/\\(.)/g, (_m, c: string) => ESCAPES[c] ?? c);
}

/** The rows of COPY text as arrays of field texts (null for \N). */
export function copyRows(text: string): (string | null)[][] {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\t').map(copyFieldText));
}
