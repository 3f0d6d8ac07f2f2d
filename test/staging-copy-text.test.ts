// JSON string escapes through the staging converter's COPY text into a real
// PostgreSQL: every escape stores what JSON.parse decodes, on the byte fast
// path and the JSON.parse path alike. In particular `\/`: the fast path
// writes a plain `/`, but passing `\/` through undecoded would store the same
// value (COPY text reads a backslash before a character without a meaning of
// its own as that character: PostgreSQL's COPY, "File Formats", Text Format),
// so that change is equivalent, and this test says so by passing either way.
// Trailing blanks are dropped on both paths.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import test from 'ava';
import type { JsonMapping } from '../lib/sources/json-mapping.ts';
import type { StagingColumn } from '../lib/stage/postgres/copy-row.ts';
import { convertBytes } from './helpers/convert.ts';
import { createTestDatabase } from './helpers/database.ts';

const COLUMNS: StagingColumn[] = [
  { name: 'id', type: 'integer' },
  { name: 's', type: 'varchar', bytes: 64 },
];
const AUTO: JsonMapping = { kind: 'auto', ignoreCase: false };
const VALUES = [
  'a\\/b',
  '\\/',
  'end\\/',
  '\\\\/',
  '\\\\\\/',
  'tab\\tnew\\nline',
  'quote\\"',
  'back\\\\slash',
  'é\\u00e9\\/',
  'bell\\b\\f\\r',
  'plain  ',
  'slash\\/  ',
];

test('escaped strings store what JSON.parse decodes, \\/ included, on both converter paths', async (t) => {
  const tdb = await createTestDatabase();
  t.teardown(() => tdb.drop());
  const input = Buffer.from(`${VALUES.map((v, i) => `{"id":${i},"s":"${v}"}`).join('\n')}\n`, 'utf8');
  // Trailing blanks are dropped when staging (docs/redshift.md, "Where the engines differ").
  const expected = VALUES.map((v, i) => ({ id: i, s: (JSON.parse(`"${v}"`) as string).replace(/ +$/, '') }));
  const db = await tdb.open();
  t.teardown(() => db.close());
  const conn = await db.connect();
  t.teardown(() => conn.end());
  await conn.query('CREATE TABLE staged (id INTEGER, s VARCHAR(64))');
  const copy = conn.copyFromStdin;
  if (!copy) throw new Error('no COPY FROM STDIN on this connection');
  for (const fastPath of [true, false]) {
    const converted = await convertBytes(COLUMNS, AUTO, input, fastPath);
    t.deepEqual(converted.problems, []);
    await conn.query('TRUNCATE staged');
    await pipeline(Readable.from([converted.text]), copy('COPY staged (id, s) FROM STDIN'));
    t.deepEqual(
      (await conn.query<{ id: number; s: string }>('SELECT id, s FROM staged ORDER BY id')).rows,
      expected,
      fastPath ? 'byte fast path' : 'JSON.parse path',
    );
  }
});
