/**
 * Differential fuzzing of the two staging paths (issue 15). fast-check makes
 * random log-like records: strings with every escape, multi-byte and astral
 * characters, lone surrogates; numbers at every edge (exponents, -0, 17+
 * digits, 1e308/1e400, the epoch-ms range ends); numeric strings, booleans,
 * nested values, duplicate and escaped keys, unknown keys, white space of
 * every kind (pretty-printed records too), and now and then a broken line or
 * invalid UTF-8. Each input is converted by the byte fast path and by the
 * JSON.parse path, at random chunk sizes, and must give the same rows and the
 * same problems; and every accepted value must read back as JSON.parse renders
 * it for its column type (checked by an oracle written here, not by the
 * conversion code): a number into a VARCHAR is its JSON text as written.
 * Used by test/staging-fuzz.test.ts (a few thousand seeded runs) and
 * scripts/dev/fuzz.ts (`npm run fuzz -- --runs N`).
 */
import fc from 'fast-check';
import type { RecordProblem } from '../../lib/errors.ts';
import type { StagingColumn } from '../../lib/stage/postgres/copy-row.ts';
import type { JsonMapping } from '../../lib/sources/json-mapping.ts';
import { EPOCH_MS_RANGE } from '../../lib/stage/epoch-ms.ts';
import { convertBytes, copyRows } from './convert.ts';

export const FUZZ_COLUMNS: StagingColumn[] = [
  { name: 'id', type: 'integer' },
  { name: 's', type: 'varchar', bytes: 24 },
  { name: 't', type: 'varchar', bytes: 1024 },
  { name: 'i', type: 'integer' },
  { name: 'sm', type: 'smallint' },
  { name: 'b', type: 'bigint' },
  { name: 'ts', type: 'bigint', epochMs: true },
  { name: 'd', type: 'double' },
  { name: 'bo', type: 'boolean' },
  { name: 'tm', type: 'timestamp' },
];
const NAMES = FUZZ_COLUMNS.map((c) => c.name);
/** The JSONPaths mapping reads camelCase-like keys, as Sparkify's log files have. */
const pathKey = (name: string) => `k${name.toUpperCase()}`;
const MAPPINGS: Record<'auto' | 'paths', JsonMapping> = {
  auto: { kind: 'auto', ignoreCase: false },
  paths: { kind: 'paths', source: 'fuzz-paths.json', paths: NAMES.map((n) => [pathKey(n)]) },
};

/** A JSON value as written, and what JSON.parse makes of it. */
interface Value {
  readonly text: string;
  readonly value: unknown;
}
const value = (text: string): Value => ({ text, value: JSON.parse(text) as unknown });

// Characters that make trouble: escapes, controls, multi-byte, astral, U+FFFD, lone surrogates, separators.
const TRICKY = [
  'a',
  'Z',
  ' ',
  '0',
  'é',
  '€',
  '😀',
  '\ufffd',
  '"',
  '\\',
  '/',
  '\n',
  '\t',
  '\r',
  '\b',
  '\f',
  '\u0000',
  '\u001f',
  '\u007f',
  '\u2028',
  '\u00a0',
  '\ud800',
  '\udc00',
  '\ud83d',
  '\ude00',
  '}',
  '{',
  ',',
  ':',
];
const SHORT: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '/': '\\/',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};
const char = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...TRICKY) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
);
/** One character (a code point, or a lone surrogate) written raw or escaped. */
const encodedChar = fc.tuple(char, fc.nat(3)).map(([c, how]) => {
  const lone = c.length === 1 && c.charCodeAt(0) >= 0xd800 && c.charCodeAt(0) <= 0xdfff;
  const mustEscape = lone || c === '"' || c === '\\' || c.charCodeAt(0) < 0x20;
  const u =
    [...c].length === 1
      ? Array.from({ length: c.length }, (_, i) => `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`).join('')
      : c;
  if (!mustEscape && how < 2) return c;
  if (SHORT[c] !== undefined && how !== 3) return SHORT[c];
  return how === 1 ? u.toUpperCase().replace(/\\U/g, '\\u') : u;
});
const jsonString = fc.array(encodedChar, { maxLength: 8 }).map((cs) => `"${cs.join('')}"`);

const digits = (min: number, max: number) =>
  fc.array(fc.constantFrom(...'0123456789'), { minLength: min, maxLength: max }).map((d) => d.join(''));
const [LO, HI] = EPOCH_MS_RANGE;
const EDGE_NUMBERS = [
  '0',
  '-0',
  '0.0',
  '-0.0',
  '1',
  '-1',
  '1.50',
  '1e308',
  '1.7976931348623157e308',
  '1e309',
  '1e400',
  '-1e400',
  '1E+400',
  '5e-324',
  '1e-400',
  '-1e-400',
  '32767',
  '32768',
  '-32768',
  '-32769',
  '2147483647',
  '2147483648',
  '-2147483648',
  '-2147483649',
  '9007199254740991',
  '9007199254740992',
  '-9007199254740991',
  '-9007199254740993',
  '12345678901234567890',
  '123456789012345678901234567890',
  String(LO),
  String(LO - 1),
  String(HI),
  '-1000000000000000',
  '1541105830796',
  '1541105830796.0',
  '0.1000000000000000055511151231257827',
];
const jsonNumber = fc.oneof(
  fc.constantFrom(...EDGE_NUMBERS),
  fc
    .tuple(
      fc.boolean(),
      fc.oneof(
        fc.constant('0'),
        fc.tuple(fc.constantFrom(...'123456789'), digits(0, 24)).map(([a, b]) => a + b),
      ),
      fc.option(digits(1, 20)),
      fc.option(fc.tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '+', '-'), digits(1, 3))),
    )
    .map(
      ([neg, int, frac, exp]) =>
        `${neg ? '-' : ''}${int}${frac === null ? '' : `.${frac}`}${exp === null ? '' : exp.join('')}`,
    ),
);
const numericString = fc.constantFrom(
  '""',
  '" "',
  '"7"',
  '" 7 "',
  '"+5"',
  '"-0"',
  '"007"',
  '"1.5"',
  '"1e400"',
  '"abc"',
  '"-1000000000000000"',
  '"true"',
  '"yes"',
  '"f"',
  '"2018-11-01 21:01:46"',
  '"not a time"',
);
const nested = fc
  .jsonValue({ maxDepth: 2 })
  .filter((v) => typeof v === 'object' && v !== null)
  .map((v) => JSON.stringify(v));
const anyValue: fc.Arbitrary<Value> = fc
  .oneof(
    { weight: 4, arbitrary: jsonString },
    { weight: 4, arbitrary: jsonNumber },
    { weight: 2, arbitrary: numericString },
    { weight: 1, arbitrary: fc.constantFrom('true', 'false', 'null') },
    { weight: 1, arbitrary: nested },
  )
  .map(value);

/** White space between tokens: none, blanks, tabs, CR, and sometimes a new line (a pretty-printed record). */
const ws = fc.constantFrom('', '', '', ' ', '  ', '\t', '\r', '\n', '\n  ', ' \r\n\t');

interface Field {
  /** The key as written (raw or with \u escapes). */
  readonly keyText: string;
  readonly key: string;
  readonly value: Value;
}

interface RecordSpec {
  readonly fields: Field[];
  /** White space around each token. */
  readonly spaces: string[];
  /** A broken line, invalid UTF-8 or not: excluded from the oracle (its value is what the paths agree on). */
  readonly garbage: 'none' | 'cut' | 'stray' | 'invalid-utf8';
  readonly cutAt: number;
}

const keyFor = (mapping: 'auto' | 'paths') =>
  fc.oneof(
    {
      weight: 8,
      arbitrary: fc.constantFrom(...NAMES.filter((n) => n !== 'id')).map((n) => (mapping === 'auto' ? n : pathKey(n))),
    },
    { weight: 1, arbitrary: fc.constantFrom('extra', 'Ts', 'S', 'é', '') },
  );
const field = (mapping: 'auto' | 'paths'): fc.Arbitrary<Field> =>
  fc.tuple(keyFor(mapping), fc.nat(4), anyValue).map(([key, how, v]) => ({
    key,
    // Now and then a key written with \u escapes: the same key to JSON.parse, not to a byte comparison.
    keyText:
      how === 0 && key !== ''
        ? `"${[...key].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}"`
        : JSON.stringify(key),
    value: v,
  }));

const record = (mapping: 'auto' | 'paths'): fc.Arbitrary<RecordSpec> =>
  fc.record({
    fields: fc.array(field(mapping), { maxLength: 6 }),
    spaces: fc.array(ws, { minLength: 8, maxLength: 8 }),
    garbage: fc.oneof(
      { weight: 12, arbitrary: fc.constant('none' as const) },
      { weight: 1, arbitrary: fc.constantFrom('cut' as const, 'stray' as const, 'invalid-utf8' as const) },
    ),
    cutAt: fc.nat(200),
  });

const chunkSizes = fc
  .tuple(
    fc.array(fc.oneof(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 5, max: 64 })), { maxLength: 12 }),
    fc.integer({ min: 16, max: 4096 }),
  )
  .map(([first, rest]) => [...first, rest]);

export interface FuzzCase {
  readonly mapping: 'auto' | 'paths';
  readonly records: RecordSpec[];
  readonly chunkSizes: number[];
  /** Chunk sizes for the JSON.parse path's own run. */
  readonly generalChunkSizes: number[];
}

export const fuzzCase: fc.Arbitrary<FuzzCase> = fc.constantFrom('auto' as const, 'paths' as const).chain((mapping) =>
  fc.record({
    mapping: fc.constant(mapping),
    records: fc.array(record(mapping), { minLength: 1, maxLength: 6 }),
    // The first reads of 1 to 64 bytes split characters and records anywhere; the rest in larger reads
    // (a byte at a time re-scans a record on every read: slow, and staging-paths tests it exhaustively).
    chunkSizes: chunkSizes,
    generalChunkSizes: chunkSizes,
  }),
);

/** The input bytes, and for each record the lines it starts and ends on and its fields (undefined: garbage). */
export function render(c: FuzzCase): {
  bytes: Buffer;
  records: { line: number; lastLine: number; id: number; fields: Field[] | undefined }[];
} {
  const parts: Buffer[] = [];
  const records: { line: number; lastLine: number; id: number; fields: Field[] | undefined }[] = [];
  let line = 1;
  c.records.forEach((r, id) => {
    const sp = (i: number) =>
      r.garbage === 'none'
        ? (r.spaces[i % r.spaces.length] ?? '')
        : (r.spaces[i % r.spaces.length] ?? '').replace(/\n/g, ' ');
    const idKey = c.mapping === 'auto' ? 'id' : pathKey('id');
    const members = r.fields.map((f) => `${f.keyText}${sp(1)}:${sp(2)}${f.value.text}`);
    if (r.garbage === 'none') members.splice(r.cutAt % (members.length + 1), 0, `"${idKey}":${id}`);
    let text = `{${sp(3)}${members.join(`${sp(4)},${sp(5)}`)}${sp(6)}}`;
    let bytes: Buffer;
    if (r.garbage === 'cut') text = text.slice(0, r.cutAt % text.length).replace(/\n/g, ' ');
    if (r.garbage === 'stray') {
      const at = r.cutAt % (text.length + 1);
      text = `${text.slice(0, at)}${'{}[],:"x'[r.cutAt % 8] ?? ''}${text.slice(at)}`.replace(/\n/g, ' ');
    }
    if (r.garbage === 'invalid-utf8')
      bytes = Buffer.concat([Buffer.from('{"s":"a'), Buffer.from([0xc3, 0x28]), Buffer.from(`b",${text.slice(1)}`)]);
    else bytes = Buffer.from(text, 'utf8');
    const lastLine = line + (text.match(/\n/g)?.length ?? 0);
    records.push({ line, lastLine, id, fields: r.garbage === 'none' ? r.fields : undefined });
    parts.push(bytes, Buffer.from('\n'));
    line = lastLine + 1;
  });
  return { bytes: Buffer.concat(parts), records };
}

/** A field as PostgreSQL reads it from COPY text, per column type, for comparing the two paths. */
function readBack(f: string | null, column: StagingColumn): unknown {
  if (f === null) return null;
  if (column.type === 'double') return Object.is(Number(f), -0) ? '-0' : String(Number(f));
  if (column.type === 'integer' || column.type === 'smallint' || column.type === 'bigint') return String(Number(f) + 0);
  if (column.type === 'boolean') return pgBoolean(f);
  return f;
}

/** PostgreSQL's boolean input (the forms the staging conversion writes). */
function pgBoolean(f: string): boolean | string {
  const s = f.trim().toLowerCase();
  if (['t', 'true', 'y', 'yes', 'on', '1'].includes(s)) return true;
  if (['f', 'false', 'n', 'no', 'off', '0'].includes(s)) return false;
  return `not a boolean: ${f}`;
}

/** Why an accepted field does not read back as JSON.parse renders the value for its column type (undefined: it does). */
function oracle(f: string | null, v: Value | undefined, column: StagingColumn): string | undefined {
  const x = v?.value;
  // An empty string is NULL in every column but a VARCHAR (Redshift's COPY does the same).
  const numeric = column.type !== 'varchar';
  if (x === undefined || x === null || (numeric && typeof x === 'string' && x.trim() === ''))
    return f === null ? undefined : `expected NULL, got ${f}`;
  if (f === null) return `expected a value for ${v?.text}, got NULL`;
  switch (column.type) {
    case 'varchar': {
      const text =
        typeof x === 'string'
          ? x
          : typeof x === 'number'
            ? v?.text
            : typeof x === 'boolean'
              ? String(x)
              : JSON.stringify(x);
      // Trailing blanks are dropped when staging (docs/redshift.md, "Where the engines differ").
      const want = text?.replace(/ +$/, '');
      return f === want ? undefined : `VARCHAR ${JSON.stringify(f)} for ${v?.text}`;
    }
    case 'integer':
    case 'smallint':
    case 'bigint': {
      const want = typeof x === 'number' ? x : Number(x);
      return /^[+-]?\d+$/.test(f) && Number(f) === want ? undefined : `integer ${f} for ${v?.text}`;
    }
    case 'double': {
      const want = typeof x === 'number' ? x : Number(x);
      return Object.is(Number(f), want) ? undefined : `double ${f} for ${v?.text}`;
    }
    case 'boolean': {
      const want = typeof x === 'boolean' ? x : typeof x === 'number' ? x === 1 : pgBoolean(String(x));
      return pgBoolean(f) === want ? undefined : `boolean ${f} for ${v?.text}`;
    }
    case 'timestamp':
      return f === x ? undefined : `timestamp ${f} for ${v?.text}`;
    default:
      return 'unknown column type';
  }
}

const rowsOf = (text: string) =>
  copyRows(text).map((r) => r.map((f, i) => readBack(f, FUZZ_COLUMNS[i] as StagingColumn)));

/** The property: throws (with the details) when the paths differ or a value does not read back. */
export async function checkCase(c: FuzzCase): Promise<void> {
  const { bytes, records } = render(c);
  const mapping = MAPPINGS[c.mapping];
  const reference = await convertBytes(FUZZ_COLUMNS, mapping, bytes, false);
  const runs = [
    ['fast path', await convertBytes(FUZZ_COLUMNS, mapping, bytes, true, c.chunkSizes)],
    ['JSON.parse path in chunks', await convertBytes(FUZZ_COLUMNS, mapping, bytes, false, c.generalChunkSizes)],
  ] as const;
  const show = (p: readonly RecordProblem[]) => JSON.stringify(p);
  for (const [label, r] of runs) {
    if (JSON.stringify(rowsOf(r.text)) !== JSON.stringify(rowsOf(reference.text))) {
      throw new Error(
        `${label} rows differ from the JSON.parse path's:\n  ${JSON.stringify(rowsOf(r.text))}\n  ${JSON.stringify(rowsOf(reference.text))}\ninput: ${JSON.stringify(bytes.toString('latin1'))}`,
      );
    }
    if (show(r.problems) !== show(reference.problems)) {
      throw new Error(
        `${label} problems differ from the JSON.parse path's:\n  ${show(r.problems)}\n  ${show(reference.problems)}\ninput: ${JSON.stringify(bytes.toString('latin1'))}`,
      );
    }
  }
  // Every accepted value reads back as JSON.parse renders it; every record is a row or a problem on its line.
  const byId = new Map(records.map((r) => [r.id, r]));
  const seen = new Set<number>();
  for (const row of copyRows(reference.text)) {
    const id = row[0] === null || row[0] === undefined ? undefined : Number(row[0]);
    const spec = id === undefined ? undefined : byId.get(id);
    if (!spec?.fields) continue; // a garbage line that parsed: nothing to compare with
    if (seen.has(spec.id)) throw new Error(`record ${spec.id} staged twice`);
    seen.add(spec.id);
    FUZZ_COLUMNS.forEach((column, i) => {
      if (i === 0) return;
      const key = c.mapping === 'auto' ? column.name : pathKey(column.name);
      const last = spec.fields?.filter((f) => f.key === key).at(-1);
      const wrong = oracle(row[i] ?? null, last?.value, column);
      if (wrong)
        throw new Error(
          `record ${spec.id} (line ${spec.line}), column ${column.name}: ${wrong}\ninput: ${JSON.stringify(bytes.toString('latin1'))}`,
        );
    });
  }
  if (records.some((r) => !r.fields)) return; // a broken line may swallow the records after it
  for (const r of records) {
    // A bad record is named by its last line (Redshift's LINE_NUMBER: issue 28, point 7).
    if (!seen.has(r.id) && !reference.problems.some((p) => p.line === r.lastLine))
      throw new Error(
        `record ${r.id} (line ${r.line}) neither staged nor reported\ninput: ${JSON.stringify(bytes.toString('latin1'))}`,
      );
  }
}

export const stagingProperty = fc.asyncProperty(fuzzCase, checkCase);
