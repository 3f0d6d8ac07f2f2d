/**
 * The stand-in's COPY … FROM 's3://…' … FORMAT AS JSON, written from the
 * Amazon Redshift Database Developer Guide alone, never with the tool's own
 * staging code (lib/stage/), so that a test through the stand-in shows where
 * the tool's JSON rules differ from Redshift's documented ones. Pages
 * (https://docs.aws.amazon.com/redshift/latest/dg/PAGE.html):
 *
 * - r_COPY, loading-data-files-using-manifest: every object under the prefix,
 *   or those a MANIFEST lists (a mandatory one missing fails the COPY); one
 *   GET per data file, counted (CopyOutcome.gets);
 * - copy-parameters-file-compression (GZIP): "The COPY operation reads each
 *   compressed file and uncompresses the data as it loads";
 * - copy-parameters-data-format (JSON data file): "a set of either objects or
 *   arrays", each "a stand-alone, root-level structure" separated by white
 *   space only; "If COPY encounters any non–white-space characters before
 *   locating a usable JSON structure, or between valid JSON objects or arrays,
 *   COPY returns an error for each instance"; "The LINE_NUMBER column records
 *   the last line of the JSON object that caused the error"; "The maximum size
 *   of a single JSON object or array … is 4 MB"; "COPY loads empty strings as
 *   empty fields by default … Empty strings for other data types, such as INT,
 *   are always loaded with NULL"; 'auto' matches keys case-sensitively, 'auto
 *   ignorecase' not; a JSONPaths file whose name is not "jsonpaths" is taken
 *   as 'auto'; arrays need a JSONPaths file;
 * - copy-usage_notes-copy-from-json: JSONPath in bracket or dot notation, one
 *   per column, by position; "If the value … is an object or an array, the
 *   entire object or array is loaded as a string"; \n, \t and \\ escapes;
 * - r_Character_types: VARCHAR(n) holds n bytes;
 * - r_Numeric_types: SMALLINT, INTEGER, BIGINT ranges;
 * - copy-parameters-data-load (MAXERROR): "If the load returns the
 *   error_count number of errors or greater, the load fails".
 *
 * Where the guide says nothing, the stand-in takes one reading, named here
 * and probed on a real cluster by test/redshift-live.test.ts: a JSON number
 * into a VARCHAR loads its text as written (1.50 stays "1.50", 1E+2 stays
 * "1E+2"); true/false into a VARCHAR load "true"/"false"; a string of digits
 * into an integer column loads as that number. Invalid UTF-8 is not checked.
 */
import { gunzipSync } from 'node:zlib';
import type pg from 'pg';
import type { RecordProblem } from '../../../lib/errors.ts';
import { readText, type SourceObject, type SourceReader } from '../../../lib/sources/source-objects.ts';

export interface CopyStatement {
  readonly table: string;
  readonly columns: readonly string[];
  readonly source: string;
  readonly manifest: boolean;
  readonly gzip: boolean;
  readonly format: string;
  readonly maxError: number;
}

const COPY = /^\s*COPY\s+([\w."]+)\s*\(([^)]*)\)\s+FROM\s+'([^']*)'(\s+MANIFEST)?([\s\S]*)$/i;

/** A COPY from S3 as the tool renders it (lib/dialect/redshift/copy.ts), or undefined for any other statement. */
export function parseCopy(sql: string): CopyStatement | undefined {
  const m = COPY.exec(sql);
  if (!m || !(m[3] ?? '').startsWith('s3://')) return undefined;
  const rest = m[5] ?? '';
  if (!/\b(IAM_ROLE\s+'[^']+'|ACCESS_KEY_ID\s+'[^']+'\s+SECRET_ACCESS_KEY\s+'[^']+')/i.test(rest)) {
    throw new Error(
      "ERROR: Invalid credentials. Must be of the format: credentials 'aws_iam_role=...' or 'aws_access_key_id=...;aws_secret_access_key=...[;token=...]'",
    );
  }
  const format = /\bFORMAT\s+(?:AS\s+)?JSON\s+'([^']*)'/i.exec(rest)?.[1];
  if (format === undefined) throw new Error('ERROR: the stand-in performs COPY … FORMAT AS JSON only');
  return {
    table: (m[1] ?? '').replace(/"/g, ''),
    columns: (m[2] ?? '').split(',').map((c) => c.trim().replace(/"/g, '')),
    source: m[3] ?? '',
    manifest: Boolean(m[4]),
    gzip: /^\s*GZIP\s*$/im.test(rest),
    format,
    maxError: Number(/\bMAXERROR\s+(?:AS\s+)?(\d+)/i.exec(rest)?.[1] ?? '0'),
  };
}

export interface CopyOutcome {
  readonly rows: number;
  /** Records rejected: tolerated ones when the COPY succeeded, all of them when it failed. */
  readonly rejected: readonly RecordProblem[];
  /** Redshift's error when the COPY failed. */
  readonly error: Error | undefined;
  /** The data files the COPY read (one GET each): the manifest and the JSONPaths file not counted. */
  readonly gets: number;
}

/** A JSON number with the text it was written as. */
class JsonNumber {
  constructor(readonly text: string) {}
}
type Json = null | boolean | string | JsonNumber | Json[] | { [key: string]: Json };

/** The largest JSON object or array COPY reads (copy-parameters-data-format). */
export const MAX_JSON_BYTES = 4 * 1024 * 1024;

// JSON forbids raw control characters in strings (RFC 8259), hence the \u0000-\u001f range.
// eslint-disable-next-line no-control-regex
const STRING = /"(?:[^"\\\u0000-\u001f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"/y;
const LITERAL = /true|false|null/y;
const NUMBER = /-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
const NON_WHITE = /\S/g;

/** Reads one JSON value at `pos`, keeping numbers' text; throws a message on bad JSON. */
function readValue(text: string, start: number): { value: Json; end: number } {
  let pos = start;
  const ws = () => {
    while (pos < text.length && ' \t\r\n'.includes(text[pos] as string)) pos += 1;
  };
  const value = (): Json => {
    ws();
    const c = text[pos];
    if (c === '{') {
      pos += 1;
      const out: Record<string, Json> = {};
      ws();
      if (text[pos] === '}') return ((pos += 1), out);
      for (;;) {
        ws();
        const key = value();
        if (typeof key !== 'string') throw new Error('Invalid JSON: an object key is not a string');
        ws();
        if (text[pos] !== ':') throw new Error("Invalid JSON: ':' expected");
        pos += 1;
        out[key] = value();
        ws();
        if (text[pos] === ',') pos += 1;
        else if (text[pos] === '}') return ((pos += 1), out);
        else throw new Error("Invalid JSON: ',' or '}' expected");
      }
    }
    if (c === '[') {
      pos += 1;
      const out: Json[] = [];
      ws();
      if (text[pos] === ']') return ((pos += 1), out);
      for (;;) {
        out.push(value());
        ws();
        if (text[pos] === ',') pos += 1;
        else if (text[pos] === ']') return ((pos += 1), out);
        else throw new Error("Invalid JSON: ',' or ']' expected");
      }
    }
    const at = (re: RegExp) => {
      re.lastIndex = pos;
      const m = re.exec(text);
      if (m) pos += m[0].length;
      return m?.[0];
    };
    if (c === '"') {
      const m = at(STRING);
      if (m === undefined) throw new Error('Invalid JSON: a bad string');
      return JSON.parse(m) as string;
    }
    const literal = at(LITERAL);
    if (literal) return literal === 'null' ? null : literal === 'true';
    const n = at(NUMBER);
    if (n !== undefined) return new JsonNumber(n);
    throw new Error(`Invalid JSON: unexpected ${c === undefined ? 'end of data' : `'${c}'`}`);
  };
  const v = value();
  return { value: v, end: pos };
}

/** The root-level objects and arrays of one file, each with its last line, and the junk between them. */
function* records(text: string): Generator<{ value: Json; line: number } | { error: string; line: number }> {
  let pos = 0;
  let line = 1;
  const advance = (to: number) => {
    for (let i = text.indexOf('\n', pos); i !== -1 && i < to; i = text.indexOf('\n', i + 1)) line += 1;
    pos = to;
  };
  for (;;) {
    NON_WHITE.lastIndex = pos;
    const next = NON_WHITE.exec(text);
    if (!next) return;
    advance(next.index);
    const c = text[pos];
    if (c !== '{' && c !== '[') {
      // Non-white-space outside any structure: one error for this line; resume on the next.
      yield { error: 'Invalid JSON: characters outside a JSON object or array', line };
      const eol = text.indexOf('\n', pos);
      if (eol === -1) return;
      advance(eol);
      continue;
    }
    try {
      const { value, end } = readValue(text, pos);
      if (end - pos > MAX_JSON_BYTES) {
        advance(end);
        yield { error: `JSON object larger than ${MAX_JSON_BYTES} bytes`, line };
        continue;
      }
      advance(end - 1);
      yield { value, line };
      advance(end);
    } catch (err) {
      yield { error: (err as Error).message, line };
      const eol = text.indexOf('\n', pos);
      if (eol === -1) return;
      advance(eol);
    }
  }
}

/** One JSONPath of a JSONPaths file (bracket or dot notation), as its steps. */
function pathSteps(path: string): (string | number)[] {
  if (!path.startsWith('$')) throw new Error(`ERROR: Invalid JSONPath format: ${path}`);
  const out: (string | number)[] = [];
  const re = /\['((?:[^'\\]|\\.)*)'\]|\["((?:[^"\\]|\\.)*)"\]|\[(\d+)\]|\.([^.[\]']+)/gy;
  re.lastIndex = 1;
  while (re.lastIndex < path.length) {
    const m = re.exec(path);
    if (!m) throw new Error(`ERROR: Invalid JSONPath format: ${path}`);
    out.push(m[3] !== undefined ? Number(m[3]) : (m[1] ?? m[2] ?? m[4] ?? ''));
  }
  return out;
}

type Mapping =
  | { readonly kind: 'auto'; readonly ignoreCase: boolean }
  | { readonly kind: 'paths'; readonly paths: (string | number)[][] };

async function mappingOf(reader: SourceReader, format: string, columns: readonly string[]): Promise<Mapping> {
  if (format === 'auto' || format === 'auto ignorecase')
    return { kind: 'auto', ignoreCase: format === 'auto ignorecase' };
  const file = JSON.parse(await readText(reader, format)) as Record<string, unknown>;
  // "If the name is any string other than "jsonpaths", COPY uses the 'auto' argument instead."
  if (!Array.isArray(file['jsonpaths'])) return { kind: 'auto', ignoreCase: false };
  const paths = (file['jsonpaths'] as unknown[]).map((p) => pathSteps(String(p)));
  if (paths.length !== columns.length)
    throw new Error(
      `ERROR: Number of jsonpaths and the number of columns should match. JSONPath size: ${paths.length}, Number of columns in table or column list: ${columns.length}`,
    );
  return { kind: 'paths', paths };
}

function pick(record: Json, mapping: Mapping, columns: readonly string[]): (Json | undefined)[] {
  if (mapping.kind === 'paths') {
    return mapping.paths.map((steps) => {
      let v: Json | undefined = record;
      for (const step of steps) {
        if (v === null || v === undefined || typeof v !== 'object' || v instanceof JsonNumber) return undefined;
        v = Array.isArray(v)
          ? typeof step === 'number'
            ? v[step]
            : undefined
          : (v as Record<string, Json>)[String(step)];
      }
      return v;
    });
  }
  if (record === null || typeof record !== 'object' || Array.isArray(record) || record instanceof JsonNumber)
    throw new Error('a JSON array needs a JSONPaths file');
  const obj = record as Record<string, Json>;
  if (!mapping.ignoreCase) return columns.map((c) => obj[c]);
  const lower = new Map(Object.entries(obj).map(([k, v]) => [k.toLowerCase(), v]));
  return columns.map((c) => lower.get(c.toLowerCase()));
}

interface ColumnType {
  readonly name: string;
  readonly type: string;
  readonly bytes: number | undefined;
}

const INTEGER_RANGES: Record<string, readonly [bigint, bigint, string]> = {
  smallint: [-32768n, 32767n, 'Short'],
  integer: [-2147483648n, 2147483647n, 'Integer'],
  bigint: [-9223372036854775808n, 9223372036854775807n, 'Long'],
};

/** The JSON text of a value (objects and arrays load as their JSON text). */
function jsonText(v: Json): string {
  if (v instanceof JsonNumber) return v.text;
  if (Array.isArray(v)) return `[${v.map(jsonText).join(',')}]`;
  if (v !== null && typeof v === 'object')
    return `{${Object.entries(v)
      .map(([k, x]) => `${JSON.stringify(k)}:${jsonText(x)}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

/** A field's value as the text PostgreSQL stores (null: NULL), or a load error's reason. */
function convert(v: Json | undefined, column: ColumnType): { text: string | null } | { reason: string; value: string } {
  if (v === undefined || v === null) return { text: null };
  const raw = typeof v === 'string' ? v : jsonText(v);
  if (column.type === 'character varying' || column.type === 'character') {
    const text = typeof v === 'string' ? v : typeof v === 'boolean' ? String(v) : jsonText(v);
    const bytes = Buffer.byteLength(text);
    if (column.bytes !== undefined && bytes > column.bytes)
      return { reason: `String length exceeds DDL length (${bytes} > ${column.bytes})`, value: text };
    return { text };
  }
  if (typeof v === 'string' && v === '') return { text: null };
  const range = INTEGER_RANGES[column.type];
  if (range) {
    const [lo, hi, name] = range;
    const digits = /^-?\d+$/.exec(raw)?.[0];
    if (digits === undefined || typeof v === 'boolean' || (typeof v === 'object' && !(v instanceof JsonNumber))) {
      const bad = /[^-\d]/.exec(raw);
      return { reason: `Invalid digit, Value '${bad?.[0] ?? raw}', Pos ${bad?.index ?? 0}, Type: ${name}`, value: raw };
    }
    const n = BigInt(digits);
    if (n < lo || n > hi) return { reason: `Overflow, Value '${raw}', Type: ${name}`, value: raw };
    return { text: n.toString() };
  }
  if (column.type === 'double precision' || column.type === 'real' || column.type === 'numeric') {
    if (!/^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(raw) || typeof v === 'boolean')
      return { reason: `Invalid digit, Value '${raw.slice(0, 1)}', Pos 0, Type: Double`, value: raw };
    if (!Number.isFinite(Number(raw))) return { reason: `Overflow, Value '${raw}', Type: Double`, value: raw };
    return { text: raw };
  }
  if (column.type === 'boolean') {
    if (typeof v === 'boolean') return { text: String(v) };
    return { reason: `Invalid boolean value '${raw}'`, value: raw };
  }
  return { text: raw };
}

async function manifestObjects(reader: SourceReader, uri: string): Promise<SourceObject[]> {
  const manifest = JSON.parse(await readText(reader, uri)) as { entries?: { url?: string; mandatory?: boolean }[] };
  const out: SourceObject[] = [];
  for (const entry of manifest.entries ?? []) {
    const url = entry.url ?? '';
    const found = [...(await reader.list(url))].find((o) => o.uri === url);
    if (found) out.push(found);
    else if (entry.mandatory) throw new Error(`ERROR: Manifest file ${uri}: mandatory file ${url} is not found`);
  }
  return out;
}

async function columnTypes(client: pg.Client, table: string, columns: readonly string[]): Promise<ColumnType[]> {
  const { rows } = await client.query<{ name: string; type: string; bytes: number | null }>(
    // The table as the session resolves its name: a temporary table first, in its session's own
    // schema ("Temporary tables … are created in a separate, session-specific schema", and a
    // temporary table hides a permanent one of the same name: Amazon Redshift Database Developer
    // Guide, CREATE TABLE, https://docs.aws.amazon.com/redshift/latest/dg/r_CREATE_TABLE_NEW.html).
    `SELECT c.column_name AS name, c.data_type AS type, c.character_maximum_length AS bytes
     FROM information_schema.columns AS c
     JOIN pg_class AS t ON t.oid = to_regclass($1)
     JOIN pg_namespace AS n ON n.oid = t.relnamespace
     WHERE c.table_schema = n.nspname AND c.table_name = t.relname`,
    [table],
  );
  return columns.map((c) => {
    const r = rows.find((x) => x.name === c);
    if (!r) throw new Error(`ERROR: column "${c}" of relation "${table}" does not exist`);
    return { name: r.name, type: r.type, bytes: r.bytes ?? undefined };
  });
}

/** Data files read at once. */
const READS_AT_ONCE = 16;

/** Runs the COPY on the session's connection (inside its transaction when one is open). */
export async function performCopy(client: pg.Client, copy: CopyStatement, reader: SourceReader): Promise<CopyOutcome> {
  const types = await columnTypes(client, copy.table, copy.columns);
  const objects = copy.manifest ? await manifestObjects(reader, copy.source) : [...(await reader.list(copy.source))];
  if (objects.length === 0)
    return {
      rows: 0,
      gets: 0,
      rejected: [],
      error: new Error(
        `ERROR: The specified S3 prefix '${copy.source.replace(/^s3:\/\/[^/]+\/?/, '')}' does not exist`,
      ),
    };
  const mapping = await mappingOf(reader, copy.format, copy.columns);
  const failAt = Math.max(copy.maxError, 1);
  const rejected: RecordProblem[] = [];
  const rows: (string | null)[][] = [];
  let gets = 0;
  const read = async (object: SourceObject): Promise<Buffer> => {
    gets += 1;
    const parts: Buffer[] = [];
    for await (const part of await reader.open(object)) parts.push(Buffer.from(part));
    return Buffer.concat(parts);
  };
  // Read READS_AT_ONCE ahead (a cluster's slices read in parallel too), loaded in order.
  const reads: Promise<Buffer>[] = [];
  let next = 0;
  for (const [i, object] of objects.entries()) {
    for (; next < objects.length && next < i + READS_AT_ONCE; next += 1) {
      const r = read(objects[next] as SourceObject);
      r.catch(() => undefined); // awaited in its turn
      reads.push(r);
    }
    let body = await (reads.shift() as Promise<Buffer>);
    if (copy.gzip) {
      try {
        body = gunzipSync(body);
      } catch (err) {
        return {
          rows: 0,
          gets,
          rejected: [],
          error: new Error(`ERROR: gzip: ${object.uri}: ${(err as Error).message}`),
        };
      }
    }
    for (const r of records(body.toString('utf8'))) {
      if ('error' in r) {
        rejected.push({ file: object.uri, line: r.line, reason: r.error });
      } else {
        let row: (string | null)[] | undefined = [];
        let fields: (Json | undefined)[];
        try {
          fields = pick(r.value, mapping, copy.columns);
        } catch (err) {
          rejected.push({ file: object.uri, line: r.line, reason: (err as Error).message });
          fields = [];
          row = undefined;
        }
        for (let i = 0; row && i < types.length; i += 1) {
          const c = convert(fields[i], types[i] as ColumnType);
          if ('reason' in c) {
            rejected.push({
              file: object.uri,
              line: r.line,
              field: (types[i] as ColumnType).name,
              value: c.value.slice(0, 1024),
              reason: c.reason,
            });
            row = undefined;
          } else row.push(c.text);
        }
        if (row) rows.push(row);
      }
      if (rejected.length >= failAt) {
        return {
          rows: 0,
          gets,
          rejected,
          error: new Error(
            `ERROR: Load into table '${copy.table}' failed. Check 'stl_load_errors' system table for details.`,
          ),
        };
      }
    }
  }
  const width = types.length;
  for (let at = 0; at < rows.length; at += 500) {
    const batch = rows.slice(at, at + 500);
    const values = batch.flat();
    const tuples = batch.map((_, b) => `(${types.map((_t, i) => `$${b * width + i + 1}`).join(', ')})`);
    await client.query(`INSERT INTO ${copy.table} (${copy.columns.join(', ')}) VALUES ${tuples.join(', ')}`, values);
  }
  return { rows: rows.length, gets, rejected, error: undefined };
}
