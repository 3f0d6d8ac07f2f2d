// The byte fast path (flat-json-records.ts) and the general JSON.parse path
// (object-converter.ts) give the same rows and report the same problems, on
// tricky input, whatever the chunk boundaries, and on Sparkify's real files
// (which the fast path must convert entirely by itself).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import type { StagingColumn } from '../lib/stage/postgres/copy-row.ts';
import type { JsonMapping } from '../lib/sources/json-mapping.ts';
import { sharedSparkify } from './helpers/cli.ts';
import { convertBytes } from './helpers/convert.ts';

const COLUMNS: StagingColumn[] = [
  { name: 's', type: 'varchar', bytes: 12 },
  { name: 'i', type: 'integer' },
  { name: 'small', type: 'smallint' },
  { name: 'big', type: 'bigint' },
  { name: 'd', type: 'double' },
  { name: 'b', type: 'boolean' },
  { name: 'ts', type: 'timestamp' },
];
const AUTO: JsonMapping = { kind: 'auto', ignoreCase: false };
const PATHS: JsonMapping = {
  kind: 'paths',
  source: 'paths.json',
  paths: [['S'], ['I'], ['Small'], ['Big'], ['D'], ['B'], ['Ts']],
};

const ESCAPES: Record<string, string> = { '\\': '\\', n: '\n', r: '\r', t: '\t', b: '\b', f: '\f', v: '\v' };

/**
 * Rows as the values PostgreSQL reads from the COPY text: escapes decoded,
 * numbers compared as numbers (the fast path copies 1.50 and -0 as written
 * where the other writes 1.5 and 0; integer columns have no negative zero).
 */
function values(text: string, columns: StagingColumn[]): unknown[][] {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) =>
      l.split('\t').map((f, i) => {
        if (f === '\\N') return null;
        const type = columns[i]?.type ?? '';
        if (type === 'double') return Number(f);
        if (['integer', 'smallint', 'bigint'].includes(type)) return Number(f) + 0;
        return f.replace(/\\(.)/g, (_m, c: string) => ESCAPES[c] ?? c);
      }),
    );
}

const LINES = [
  '{"s":"plain","i":1,"small":-2,"big":1541105830796,"d":180.08096,"b":true,"ts":"2018-11-01 21:01:46"}',
  '{"s":"\\"q\\" \\/ \\\\","i":"42","small":"","big":"-7","d":1540919166796.0,"b":false}',
  '  { "s" : "tab\\there" , "i" : 0 , "d" : -0.5 }  ',
  '{"s":"\\n\\r\\b\\f","d":1e3,"big":-0}',
  '{"s":"caf\\u00e9","d":1E-2,"i":"-5","small":"007"}',
  '{"s":"Über","i":" 7 ","big":"+5","d":"2.5"}',
  '{"s":12345,"d":0,"i":1.0}',
  '{"s":-0,"d":-0,"b":1}',
  '{"s":true,"small":123}',
  '{"s":1.5e2,"d":"","big":""}',
  '{}',
  '{"unknown":[1,{"x":2}],"s":"after unknown nested"}',
  '{"s":"first","s":"second"}',
  // Multi-byte characters and a U+FFFD written as its valid bytes: chunks of 1 to 4 bytes split each of them at every offset.
  '{"s":"\ufffd€😀é"}',
  '{"s":"x\ufffd","d":1.5}',
  '{"s":null,"i":null,"d":null,"b":null,"ts":null}',
  '',
  '   ',
  '{"s":"crlf"}\r',
  '{"s":"ééééééé"}',
  '{"s":"123456789012"}',
  '{"s":"1234567890123"}',
  '{"i":2147483648}',
  '{"small":40000}',
  '{"big":123456789012345678}',
  '{"i":"abc"}',
  '{"d":"x"}',
  '{"b":"maybe"}',
  '{"ts":"not a time"}',
  '{"ts":12}',
  '{"s":"\\u0000"}',
  '{"s":{"nested":true}}',
  '{"s":[1,2]}',
  '{"s":"ok"}{"s":"two on a line"}',
  '{"s":"bad" "i":1}',
  '{"s":"trailing",}',
  '{"s":01}',
  '[1,2]',
  '"scalar"',
  '{"s":"after errors"}',
  '{',
  '  "s": "pretty",',
  '  "i": 3',
  '}',
  '{"s":"after pretty"}',
];

for (const [name, mapping, rename] of [
  ['auto mapping', AUTO, (l: string) => l],
  [
    'JSONPaths mapping',
    PATHS,
    (l: string) =>
      l.replace(
        /"(s|i|small|big|d|b|ts)":/g,
        (_m, k: string) => `"${k === 'small' ? 'Small' : k === 'big' ? 'Big' : k === 'ts' ? 'Ts' : k.toUpperCase()}":`,
      ),
  ],
] as const) {
  test(`fast and general paths give the same rows and problems (${name}), at any chunk size`, async (t) => {
    const input = Buffer.from(LINES.map(rename).join('\n'), 'utf8');
    const general = await convertBytes(COLUMNS, mapping, input, false);
    t.true(general.problems.length > 15, 'the corpus has bad records');
    t.true(values(general.text, COLUMNS).length > 15, 'the corpus has good records');
    // Each line on its own, followed by a good record: the fast path's own handling of it.
    for (const [n, text] of LINES.map(rename).entries()) {
      const one = Buffer.from(`${text}\n{"${rename('"s":').slice(1, -2)}":"next"}\n`, 'utf8');
      const [f, g] = [
        await convertBytes(COLUMNS, mapping, one, true, 5),
        await convertBytes(COLUMNS, mapping, one, false),
      ];
      t.deepEqual(values(f.text, COLUMNS), values(g.text, COLUMNS), `line ${n + 1}: ${text}`);
      t.deepEqual(f.problems, g.problems, `line ${n + 1}: ${text}`);
    }
    for (const size of [input.length, 1, 2, 3, 4, 7, 64, 300]) {
      const fast = await convertBytes(COLUMNS, mapping, input, true, size);
      t.deepEqual(values(fast.text, COLUMNS), values(general.text, COLUMNS), `chunks of ${size}`);
      t.deepEqual(fast.problems, general.problems, `chunks of ${size}`);
      t.is(fast.result.rows, general.result.rows);
      // A nested value (in a field no column maps) is where the general path takes over.
      t.is(fast.result.generalFrom, LINES.findIndex((l) => l.includes('[1,{')) + 1, `chunks of ${size}`);
      // The JSON.parse path alone, its reads splitting multi-byte characters: the same as one read.
      if (size > 4) continue;
      const split = await convertBytes(COLUMNS, mapping, input, false, size);
      t.deepEqual(values(split.text, COLUMNS), values(general.text, COLUMNS), `JSON.parse path, chunks of ${size}`);
      t.deepEqual(split.problems, general.problems, `JSON.parse path, chunks of ${size}`);
    }
  });
}

test('the fast path hands over at the first line it does not accept: a byte-order mark, invalid UTF-8, a last line without newline', async (t) => {
  const cases: [string, Buffer, number | undefined][] = [
    ['BOM', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"s":"a"}\n')]), 1],
    [
      'invalid UTF-8 on line 2',
      Buffer.concat([Buffer.from('{"s":"a"}\n{"s":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}\n{"s":"c"}\n')]),
      2,
    ],
    ['no final newline', Buffer.from('{"s":"a"}\n{"s":"b","i":2}'), undefined],
  ];
  for (const [label, input, from] of cases) {
    for (const size of [input.length, 3]) {
      const fast = await convertBytes(COLUMNS, AUTO, input, true, size);
      const general = await convertBytes(COLUMNS, AUTO, input, false);
      t.deepEqual(fast.text, general.text, label);
      t.deepEqual(fast.problems, general.problems, label);
      // Invalid UTF-8 is checked on whole batches of lines, so the hand-over can be earlier than the bad line.
      if (from === undefined) t.is(fast.result.generalFrom, undefined, label);
      else t.true((fast.result.generalFrom ?? Infinity) <= from, label);
    }
  }
});

const data = sharedSparkify();
if (!data && process.env['REQUIRE_SHARED_DATA'] === '1')
  throw new Error('REQUIRE_SHARED_DATA=1 but ../shared/sparkify is missing');
const maybe = data ? test : test.skip;
const title = (t: string) => (data ? t : `${t} (skipped: ../shared/sparkify not found; CI runs it)`);

const files = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? files(full) : [full];
  });

const EVENTS: StagingColumn[] = [
  ['artist', 'varchar', 1024],
  ['auth', 'varchar', 32],
  ['first_name', 'varchar', 256],
  ['gender', 'varchar', 16],
  ['item_in_session', 'integer'],
  ['last_name', 'varchar', 256],
  ['length', 'double'],
  ['level', 'varchar', 16],
  ['location', 'varchar', 512],
  ['method', 'varchar', 16],
  ['page', 'varchar', 64],
  ['registration', 'double'],
  ['session_id', 'integer'],
  ['song', 'varchar', 1024],
  ['status', 'smallint'],
  ['ts', 'bigint'],
  ['user_agent', 'varchar', 1024],
  ['user_id', 'integer'],
].map(([name, type, bytes]) => ({ name, type, bytes }) as StagingColumn);
const SONGS: StagingColumn[] = [
  ['num_songs', 'integer'],
  ['artist_id', 'varchar', 32],
  ['artist_latitude', 'double'],
  ['artist_longitude', 'double'],
  ['artist_location', 'varchar', 512],
  ['artist_name', 'varchar', 1024],
  ['song_id', 'varchar', 32],
  ['title', 'varchar', 1024],
  ['duration', 'double'],
  ['year', 'integer'],
].map(([name, type, bytes]) => ({ name, type, bytes }) as StagingColumn);

maybe(
  title("Sparkify's real log and song files: the fast path converts every line, to the general path's values"),
  async (t) => {
    const root = data ?? '';
    const paths = JSON.parse(readFileSync(path.join(root, 'log_json_path.json'), 'utf8')) as { jsonpaths: string[] };
    const logMapping: JsonMapping = {
      kind: 'paths',
      source: 'log_json_path.json',
      paths: paths.jsonpaths.map((p) => [/\['(.*)'\]/.exec(p)?.[1] ?? p]),
    };
    let rows = 0;
    for (const [dir, columns, mapping] of [
      ['log_data', EVENTS, logMapping],
      ['song_data', SONGS, AUTO],
    ] as const) {
      for (const file of files(path.join(root, dir))) {
        const input = readFileSync(file);
        const fast = await convertBytes(columns, mapping, input, true);
        const general = await convertBytes(columns, mapping, input, false);
        t.is(fast.result.generalFrom, undefined, file);
        t.deepEqual(fast.problems, [], file);
        t.deepEqual(values(fast.text, columns), values(general.text, columns), file);
        rows += fast.result.rows;
      }
    }
    t.is(rows, 8056 + 1943);
  },
);
