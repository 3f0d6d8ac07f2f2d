// Values that the staging conversion must refuse or keep exactly, on both
// paths (the byte fast path and the JSON.parse path) and at any chunk size:
// a ts the transforms cannot turn into a TIMESTAMP, numbers that overflow to
// ±Infinity, numbers going into VARCHAR (their JSON text as written), UTF-8
// split by a read boundary, lone surrogates, and the line of a parse error
// inside a pretty-printed record.
import test from 'ava';
import type { StagingColumn } from '../lib/stage/postgres/copy-row.ts';
import type { JsonMapping } from '../lib/sources/json-mapping.ts';
import { EPOCH_MS_RANGE } from '../lib/stage/epoch-ms.ts';
import { convertBytes, copyRows } from './helpers/convert.ts';

const COLUMNS: StagingColumn[] = [
  { name: 's', type: 'varchar', bytes: 64 },
  { name: 'i', type: 'integer' },
  { name: 'd', type: 'double' },
  { name: 'ts', type: 'bigint', epochMs: true },
];
const AUTO: JsonMapping = { kind: 'auto', ignoreCase: false };

/** Both paths, whole and byte by byte: the same rows and problems each time. */
async function both(t: import('ava').ExecutionContext, input: string | Buffer, mapping: JsonMapping = AUTO) {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const first = await convertBytes(COLUMNS, mapping, bytes, false);
  for (const fast of [true, false]) {
    for (const size of [bytes.length, 1, 2, 3]) {
      const r = await convertBytes(COLUMNS, mapping, bytes, fast, size);
      t.deepEqual(copyRows(r.text), copyRows(first.text), `${fast ? 'fast' : 'JSON.parse'} path, chunks of ${size}`);
      t.deepEqual(r.problems, first.problems, `${fast ? 'fast' : 'JSON.parse'} path, chunks of ${size}`);
    }
  }
  return { rows: copyRows(first.text), problems: first.problems };
}

test('bug 2: a ts outside the TIMESTAMP range is a bad record naming file, line and field; the range ends are accepted', async (t) => {
  const [lo, hi] = EPOCH_MS_RANGE;
  const { rows, problems } = await both(
    t,
    [
      `{"s":"ok","ts":1541105830796}`,
      `{"s":"far past","ts":-1000000000000000}`,
      `{"s":"as text","ts":"-1000000000000000"}`,
      `{"s":"first","ts":${lo}}`,
      `{"s":"before first","ts":${lo - 1}}`,
      `{"s":"last","ts":${hi}}`,
      '',
    ].join('\n'),
  );
  t.deepEqual(
    rows.map((r) => [r[0], r[3]]),
    [
      ['ok', '1541105830796'],
      ['first', String(lo)],
      ['last', String(hi)],
    ],
  );
  t.deepEqual(
    problems.map((p) => [p.file, p.line, p.field]),
    [
      ['input.json', 2, 'ts'],
      ['input.json', 3, 'ts'],
      ['input.json', 5, 'ts'],
    ],
  );
  t.regex(problems[0]?.reason ?? '', /-1000000000000000 is not a TIMESTAMP the warehouse can hold/);
});

test('the accepted ts range, as literals (not read from EPOCH_MS_RANGE): 1 January 4713 BC 00:00 UTC to 2^53 − 1 ms', async (t) => {
  // -210863520000000 ms = -4712-01-01T00:00:00Z (ISO year -4712 is 4713 BC); 9007199254740991 = Number.MAX_SAFE_INTEGER.
  const { rows, problems } = await both(
    t,
    [
      '{"s":"lowest","ts":-210863520000000}',
      '{"s":"below","ts":-210863520000001}',
      '{"s":"highest","ts":9007199254740991}',
      '{"s":"above","ts":9007199254740992}',
      '',
    ].join('\n'),
  );
  t.deepEqual(
    rows.map((r) => r[0]),
    ['lowest', 'highest'],
  );
  t.deepEqual(
    problems.map((p) => [p.line, p.field]),
    [
      [2, 'ts'],
      [4, 'ts'],
    ],
  );
});

test('bug 3: a number that overflows to Infinity is refused, naming the field (1e400, -1e400; 1e308 is kept)', async (t) => {
  const { rows, problems } = await both(
    t,
    ['{"d":1e400}', '{"d":-1E+400}', '{"i":1e400}', '{"d":1e308}', '{"d":"1e400"}', ''].join('\n'),
  );
  t.deepEqual(
    rows.map((r) => r[2]),
    ['1e+308'],
  );
  t.deepEqual(
    problems.map((p) => [p.line, p.field]),
    [
      [1, 'd'],
      [2, 'd'],
      [3, 'i'],
      [5, 'd'],
    ],
  );
  t.regex(problems[0]?.reason ?? '', /1e400 is out of range for DOUBLE PRECISION/);
  t.regex(problems[2]?.reason ?? '', /1e400 is out of range for INTEGER/);
});

test('bug 5: a number going into a VARCHAR is its JSON text exactly as written', async (t) => {
  const numbers = [
    '12345678901234567890',
    '1.50',
    '-0',
    '1E+2',
    '1e400',
    '0.1000000000000000055511151231257827',
    '-12.5e-3',
  ];
  const { rows, problems } = await both(t, `${numbers.map((n) => `{"s":${n}}`).join('\n')}\n`);
  t.deepEqual(problems, []);
  t.deepEqual(
    rows.map((r) => r[0]),
    numbers,
  );
  // Through a nested JSONPath and a duplicate key (the last one wins) on the JSON.parse path too.
  const nested: JsonMapping = { kind: 'paths', source: 'p.json', paths: [['a', 'b'], ['i'], ['d'], ['ts']] };
  const r = await both(t, '{"a":{"b":1,"b":12345678901234567890.0},"i":1}\n', nested);
  t.deepEqual(
    r.rows.map((row) => row[0]),
    ['12345678901234567890.0'],
  );
});

test('bug 4: UTF-8 split by a read boundary is decoded on the JSON.parse path (a literal U+FFFD is not invalid UTF-8)', async (t) => {
  // Line 1 (a nested value) sends the object down the JSON.parse path.
  const input = '{"x":[1]}\n{"s":"a\ufffdb é € 😀"}\n{"s":"\ufffd"}\n';
  const { rows, problems } = await both(t, input);
  t.deepEqual(problems, []);
  t.deepEqual(
    rows.map((r) => r[0]),
    [null, 'a\ufffdb é € 😀', '\ufffd'],
  );
  // The bytes that really are invalid are still reported, on their line.
  const bad = Buffer.concat([
    Buffer.from(input),
    Buffer.from('{"s":"x'),
    Buffer.from([0xc3, 0x28]),
    Buffer.from('"}\n'),
  ]);
  const r = await both(t, bad);
  t.deepEqual(
    r.problems.map((p) => [p.line, p.field, p.reason]),
    [[4, 's', 'invalid UTF-8 byte sequence']],
  );
});

test('a lone surrogate (\\ud800) is a bad record naming its field, not a silent U+FFFD', async (t) => {
  const { rows, problems } = await both(t, '{"s":"a\\ud800b"}\n{"s":"pair \\ud83d\\ude00"}\n{"s":"\\udc00"}\n');
  t.deepEqual(
    rows.map((r) => r[0]),
    ['pair 😀'],
  );
  t.deepEqual(
    problems.map((p) => [p.line, p.field]),
    [
      [1, 's'],
      [3, 's'],
    ],
  );
  t.regex(problems[0]?.reason ?? '', /lone UTF-16 surrogate/);
});

test('a parse error inside a pretty-printed record names the line of the error, without the record in the message', async (t) => {
  for (const [text, line] of [
    ['{\n  "s": "a",\n  "i": x,\n  "d": 1\n}\n', 3],
    ['{\n  "s": "a",\n  "i": 1,\n  "d": tru\n}\n', 4],
    ['{\n  "s": "a",\n  "i": [1,\n 2,,3]\n}\n', 4],
    ['{\n  "s": "a",\n  "i": 1,\n}\n', 4],
  ] as const) {
    const { problems } = await both(t, text);
    t.is(problems.length, 1, text);
    t.is(problems[0]?.line, line, text);
    t.notRegex(problems[0]?.reason ?? '', /\n|is not valid JSON/, text);
  }
});
