// Issue 27: a small local file is read in three calls (open, one read of its listed size plus a byte,
// close) instead of readFileSync's four. A file that changed size after it was listed is still read whole.
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { createSourceReader } from '../lib/sources/source-objects.ts';

async function bytesOf(chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of chunks) parts.push(Buffer.from(c));
  return Buffer.concat(parts).toString('utf8');
}

test('small local files read as listed, grown, shrunk and empty: every byte they hold when read', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'small-files-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const record = '{"song_id": "SOAAA", "title": "A"}\n';
  writeFileSync(path.join(dir, 'a-same.json'), record);
  writeFileSync(path.join(dir, 'b-grown.json'), record);
  writeFileSync(path.join(dir, 'c-shrunk.json'), record + record);
  writeFileSync(path.join(dir, 'd-empty.json'), '');
  const reader = createSourceReader('us-west-2');
  const objects = await reader.list(dir);
  t.deepEqual(
    [...objects].map((o) => [path.basename(o.uri), o.size]),
    [
      ['a-same.json', record.length],
      ['b-grown.json', record.length],
      ['c-shrunk.json', 2 * record.length],
      ['d-empty.json', 0],
    ],
  );
  appendFileSync(path.join(dir, 'b-grown.json'), 'x'.repeat(70_000) + '\n');
  writeFileSync(path.join(dir, 'c-shrunk.json'), record);
  const read = await Promise.all([...objects].map(async (o) => bytesOf(await reader.open(o))));
  t.deepEqual(read, [record, `${record}${'x'.repeat(70_000)}\n`, record, '']);
});
