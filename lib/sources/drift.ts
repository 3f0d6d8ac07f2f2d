/**
 * Schema drift of a JSON source: per top-level key, how many records have it
 * and of which JSON types its values are, and where a key the mapping does not
 * load was first seen (file:line). The counter is fed while staging converts
 * the records (PostgreSQL: the byte fast path hands over the types it already
 * scanned, the JSON.parse path the parsed record, so nothing is parsed twice;
 * lib/stage/postgres/object-converter.ts), or from a bounded sample of the
 * objects (Redshift, whose COPY reads S3 itself; `sources`: profileSample).
 *
 * What is reported (findings):
 * - a new key: a top-level key no column maps (COPY ignores it silently);
 * - a changed type: a key whose values are of more than one of string,
 *   number, boolean, object, array (null is a missing value, not a type). A
 *   number in a key mapped only to VARCHAR columns is loaded as its JSON text,
 *   the same characters as if it were quoted, so string and number there are
 *   one type (the real sample names two artists with JSON numbers);
 * - a missing key: a mapped key absent (not null: absent) from more than the
 *   threshold's share of the records (--drift-threshold, DEFAULT_DRIFT_THRESHOLD).
 */
import type { JsonMapping } from './json-mapping.ts';
import { JsonRecordSplitter } from './json-records.ts';
import type { SourceObject, SourceObjects, SourceReader } from './source-objects.ts';

/** The JSON types counted, by code (the byte fast path passes codes). */
export const JSON_TYPES = ['string', 'number', 'boolean', 'object', 'array', 'null'] as const;
export type JsonType = (typeof JSON_TYPES)[number];
export const T_STRING = 0;
export const T_NUMBER = 1;
export const T_BOOLEAN = 2;
export const T_OBJECT = 3;
export const T_ARRAY = 4;
export const T_NULL = 5;
/** A mapped key not in the record (fast path). */
export const T_ABSENT = 6;
const TYPES = JSON_TYPES.length;

/** A mapped key absent from more than this share of the records is reported (0.1%: one record in a thousand). */
export const DEFAULT_DRIFT_THRESHOLD = 0.001;

/** How many objects, and bytes at most, a sample reads (Redshift's path and `sources`). */
export const DRIFT_SAMPLE = { objects: 200, bytes: 64 * 1024 * 1024 } as const;

export interface Location {
  readonly file: string;
  readonly line: number;
}

/** One top-level key as the data has it. */
export interface KeyProfile {
  readonly key: string;
  /** The staging columns it fills (none: a new key). */
  readonly columns: readonly string[];
  /** Records that have the key (any value, null too). */
  readonly records: number;
  /** Records per JSON type of its value. */
  readonly types: Partial<Record<JsonType, number>>;
  /** Where it was first seen (a new key), or first missing (a mapped key); undefined otherwise. */
  readonly first?: Location | undefined;
}

export interface NewKey {
  readonly key: string;
  readonly records: number;
  readonly first: Location;
}

export interface TypeChange {
  readonly key: string;
  readonly columns: readonly string[];
  /** Records per type, and where each type was first seen. */
  readonly types: Partial<Record<JsonType, { readonly records: number; readonly first: Location }>>;
}

export interface MissingKey {
  readonly key: string;
  readonly columns: readonly string[];
  /** Records without the key. */
  readonly missing: number;
  /** missing / records, rounded to 6 digits. */
  readonly share: number;
  readonly first: Location;
}

/** What one staging table's source showed. */
export interface DriftReport {
  readonly table: string;
  readonly source: string;
  /** Records counted. */
  readonly records: number;
  /** Objects read that held records, of those listed (fewer: a sample). */
  readonly objectsRead: number;
  readonly objectsListed: number;
  readonly threshold: number;
  readonly newKeys: readonly NewKey[];
  readonly typeChanges: readonly TypeChange[];
  readonly missingKeys: readonly MissingKey[];
  /** Every key, mapped ones first in column order. */
  readonly profile: readonly KeyProfile[];
}

/** Fed by the converter for each record it reads (see lib/stage/postgres/object-converter.ts). */
export interface RecordObserver {
  /**
   * A record the byte fast path read, whose columns each read one top-level
   * key (flatKeys): types[i] is the type code of column i's key (T_ABSENT).
   */
  flatRecord(file: string, line: number, types: Uint8Array): void;
  /** A key of that record no column maps, on its line. */
  flatUnmapped(file: string, line: number, key: string, type: number): void;
  /** A record JSON.parse read (text: its JSON, for the line of a key). */
  parsedRecord(file: string, line: number, text: string, value: Record<string, unknown>): void;
  /**
   * The converter starts reading the object at `rank` in the listing, and
   * ends it: the observer then needs no lookup of every listed object (1M
   * objects: a Map of 1M keys) to know which came first.
   */
  objectOpened?(file: string, rank: number): void;
  objectClosed?(file: string): void;
}

/** The type code of a parsed JSON value. */
export function typeOf(v: unknown): number {
  switch (typeof v) {
    case 'string':
      return T_STRING;
    case 'number':
      return T_NUMBER;
    case 'boolean':
      return T_BOOLEAN;
    default:
      return v === null ? T_NULL : Array.isArray(v) ? T_ARRAY : T_OBJECT;
  }
}

/** The top-level key each column reads (JSONPaths: its path's first segment; 'auto': the column's name). */
export function columnKeys(mapping: JsonMapping, columns: readonly string[]): (string | undefined)[] {
  if (mapping.kind === 'auto') return [...columns];
  return columns.map((_, i) => {
    const first = mapping.paths[i]?.[0];
    return typeof first === 'string' ? first : undefined;
  });
}

/** The line of `"key"` in a record's text that starts on `line` (its first line when not found). */
function lineOfKey(text: string, line: number, key: string): number {
  const at = text.indexOf(`${JSON.stringify(key)}`);
  if (at < 0) return line;
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < at; i = text.indexOf('\n', i + 1)) n += 1;
  return line + n;
}

/** Where a key was first seen: the earliest object in listing order, then the earliest line. */
class First {
  rank = Number.MAX_SAFE_INTEGER;
  line = 0;
  file = '';
  /** Keeps (rank, line) when it comes before what is kept (lines of one object arrive in order). */
  offer(rank: number, file: string, line: number): void {
    if (rank < this.rank) {
      this.rank = rank;
      this.file = file;
      this.line = line;
    }
  }
  get location(): Location | undefined {
    return this.rank === Number.MAX_SAFE_INTEGER ? undefined : { file: this.file, line: this.line };
  }
}

interface KeyCounts {
  readonly key: string;
  readonly columns: string[];
  readonly types: Float64Array;
  readonly firstOfType: First[];
  /** A new key: where first seen; a mapped key: where first missing. */
  readonly first: First;
  missing: number;
}

const newCounts = (key: string, columns: string[]): KeyCounts => ({
  key,
  columns,
  types: new Float64Array(TYPES),
  firstOfType: Array.from({ length: TYPES }, () => new First()),
  first: new First(),
  missing: 0,
});

/**
 * Counts one staging table's records by key; report() gives the findings.
 * Objects may be converted several at once: "first" means the first object
 * in listing order (the `objects` given), then the first line in it.
 */
export class DriftCounter implements RecordObserver {
  private records = 0;
  /** Mapped keys, in column order of first mention. */
  private readonly mapped: KeyCounts[] = [];
  /** Column index → its key's entry in `mapped` (undefined: a nested path's array index). */
  private readonly ofColumn: (KeyCounts | undefined)[];
  private readonly byName = new Map<string, KeyCounts>();
  private readonly ignoreCase: boolean;
  private readonly textKeys: ReadonlySet<string>;
  /**
   * Each object's place in the listing, for the objects given to the
   * constructor (a sample) and those seen without objectOpened (not listed:
   * after, in the order seen).
   */
  private readonly ranks = new Map<string, number>();
  /** The objects being read (objectOpened … objectClosed): their rank, and whether a record came. */
  private readonly reading = new Map<string, { readonly rank: number; records: boolean }>();
  private lastFile = '';
  private lastRank = 0;
  /** The objects seen without objectOpened that had records. */
  private readonly seen = new Set<string>();
  /** How many objects had records. */
  private withRecords = 0;

  /**
   * `varcharColumns`: the columns of VARCHAR type (a number is loaded into
   * them as its text, so string and number are one type there).
   */
  constructor(
    readonly table: string,
    readonly source: string,
    mapping: JsonMapping,
    columns: readonly string[],
    varcharColumns: readonly string[],
    private readonly threshold = DEFAULT_DRIFT_THRESHOLD,
    objects: readonly Pick<SourceObject, 'uri'>[] = [],
  ) {
    this.ignoreCase = mapping.kind === 'auto' && mapping.ignoreCase;
    const keys = columnKeys(mapping, columns);
    this.ofColumn = keys.map((key, i) => {
      if (key === undefined) return undefined;
      const name = this.ignoreCase ? key.toLowerCase() : key;
      let entry = this.byName.get(name);
      if (!entry) {
        entry = newCounts(key, []);
        this.byName.set(name, entry);
        this.mapped.push(entry);
      }
      entry.columns.push(columns[i] as string);
      return entry;
    });
    const varchar = new Set(varcharColumns);
    this.textKeys = new Set(this.mapped.filter((k) => k.columns.every((c) => varchar.has(c))).map((k) => k.key));
    objects.forEach((o, i) => this.ranks.set(o.uri, i));
  }

  /** The object's rank (one lookup per object while its records come in a row). */
  private rankOf(file: string): number {
    if (file === this.lastFile) return this.lastRank;
    const open = this.reading.get(file);
    let rank: number;
    if (open) {
      rank = open.rank;
      if (!open.records) {
        open.records = true;
        this.withRecords += 1;
      }
    } else {
      rank = this.ranks.get(file) ?? this.ranks.size;
      if (!this.ranks.has(file)) this.ranks.set(file, rank);
      if (!this.seen.has(file)) {
        this.seen.add(file);
        this.withRecords += 1;
      }
    }
    this.lastFile = file;
    this.lastRank = rank;
    return rank;
  }

  objectOpened(file: string, rank: number): void {
    this.reading.set(file, { rank, records: false });
  }

  objectClosed(file: string): void {
    this.reading.delete(file);
    if (this.lastFile === file) this.lastFile = '';
  }

  private count(entry: KeyCounts, type: number, rank: number, file: string, line: number): void {
    entry.types[type] = (entry.types[type] as number) + 1;
    (entry.firstOfType[type] as First).offer(rank, file, line);
  }

  private missing(entry: KeyCounts, rank: number, file: string, line: number): void {
    entry.missing += 1;
    entry.first.offer(rank, file, line);
  }

  private unmapped(name: string, key: string, type: number, rank: number, file: string, line: number): void {
    let entry = this.byName.get(name);
    if (!entry) {
      entry = newCounts(key, []);
      this.byName.set(name, entry);
    }
    entry.first.offer(rank, file, line);
    this.count(entry, type, rank, file, line);
  }

  flatRecord(file: string, line: number, types: Uint8Array): void {
    this.records += 1;
    const rank = this.rankOf(file);
    const ofColumn = this.ofColumn;
    for (let i = 0; i < types.length; i += 1) {
      const entry = ofColumn[i];
      if (entry === undefined) continue;
      const t = types[i] as number;
      if (t === T_ABSENT) this.missing(entry, rank, file, line);
      else this.count(entry, t, rank, file, line);
    }
  }

  flatUnmapped(file: string, line: number, key: string, type: number): void {
    this.unmapped(key, key, type, this.rankOf(file), file, line);
  }

  parsedRecord(file: string, line: number, text: string, value: Record<string, unknown>): void {
    this.records += 1;
    const rank = this.rankOf(file);
    let seen = 0;
    for (const key of Object.keys(value)) {
      const name = this.ignoreCase ? key.toLowerCase() : key;
      const entry = this.byName.get(name);
      const type = typeOf(value[key]);
      if (entry && entry.columns.length > 0) {
        this.count(entry, type, rank, file, line);
        seen += 1;
      } else this.unmapped(name, key, type, rank, file, lineOfKey(text, line, key));
    }
    if (seen === this.mapped.length) return;
    // Some mapped key is absent.
    for (const entry of this.mapped) {
      const present = this.ignoreCase
        ? Object.keys(value).some((k) => k.toLowerCase() === entry.key.toLowerCase())
        : Object.hasOwn(value, entry.key);
      if (!present) this.missing(entry, rank, file, line);
    }
  }

  /** The profile and findings so far (`objectsListed`: of how many objects these were read). */
  report(objectsListed?: number): DriftReport {
    // New keys in the order they were first seen (objects converted at once add them in any order).
    const added = [...this.byName.values()]
      .filter((e) => e.columns.length === 0)
      .sort((x, y) => x.first.rank - y.first.rank || x.first.line - y.first.line || (x.key < y.key ? -1 : 1));
    const all = [...this.mapped, ...added];
    const typesOf = (e: KeyCounts) =>
      Object.fromEntries(JSON_TYPES.flatMap((t, i) => (e.types[i] ? [[t, e.types[i]]] : []))) as Partial<
        Record<JsonType, number>
      >;
    const present = (e: KeyCounts) => e.types.reduce((s, n) => s + n, 0);
    const profile: KeyProfile[] = all.map((e) => ({
      key: e.key,
      columns: e.columns,
      records: present(e),
      types: typesOf(e),
      ...(e.first.location ? { first: e.first.location } : {}),
    }));
    const newKeys: NewKey[] = all
      .filter((e) => e.columns.length === 0)
      .map((e) => ({ key: e.key, records: present(e), first: e.first.location as Location }));
    const typeChanges: TypeChange[] = all
      .filter((e) => {
        const seen = JSON_TYPES.map((_, i) => i).filter((i) => i !== T_NULL && (e.types[i] as number) > 0);
        const kinds = this.textKeys.has(e.key) ? seen.filter((i) => i !== T_NUMBER || !seen.includes(T_STRING)) : seen;
        return kinds.length > 1;
      })
      .map((e) => ({
        key: e.key,
        columns: e.columns,
        types: Object.fromEntries(
          JSON_TYPES.flatMap((t, i) =>
            i !== T_NULL && e.types[i]
              ? [[t, { records: e.types[i], first: (e.firstOfType[i] as First).location as Location }]]
              : [],
          ),
        ),
      }));
    const share = (n: number) => (this.records === 0 ? 0 : Number((n / this.records).toFixed(6)));
    const missingKeys: MissingKey[] = this.mapped
      .filter((e) => e.missing > 0 && e.missing / this.records > this.threshold)
      .map((e) => ({
        key: e.key,
        columns: e.columns,
        missing: e.missing,
        share: share(e.missing),
        first: e.first.location as Location,
      }));
    return {
      table: this.table,
      source: this.source,
      records: this.records,
      objectsRead: this.withRecords,
      objectsListed: objectsListed ?? this.withRecords,
      threshold: this.threshold,
      newKeys,
      typeChanges,
      missingKeys,
      profile,
    };
  }
}

/** True when a report has something to say. */
export const hasDrift = (r: DriftReport): boolean =>
  r.newKeys.length > 0 || r.typeChanges.length > 0 || r.missingKeys.length > 0;

/** What --strict refuses: new keys and changed types (a missing key is a warning only). */
export const isStrictDrift = (r: DriftReport): boolean => r.newKeys.length > 0 || r.typeChanges.length > 0;

const at = (l: Location) => `${l.file}:${l.line}`;
const pct = (n: number, of: number) => `${of === 0 ? 0 : Number(((100 * n) / of).toPrecision(3))}%`;

/** One line per finding, for stderr and error messages. */
export function describeDrift(r: DriftReport): string[] {
  const sampled = r.objectsRead < r.objectsListed ? ` (a sample: ${r.objectsRead} of ${r.objectsListed} objects)` : '';
  return [
    ...r.newKeys.map(
      (k) =>
        `${r.table}: new key "${k.key}" in ${k.records} of ${r.records} records (${pct(k.records, r.records)})${sampled}, not loaded by any column; first at ${at(k.first)}`,
    ),
    ...r.typeChanges.map(
      (c) =>
        `${r.table}: key "${c.key}" changes type: ${Object.entries(c.types)
          .map(([t, v]) => `${t} in ${v.records} records (first at ${at(v.first)})`)
          .join(', ')}${sampled}`,
    ),
    ...r.missingKeys.map(
      (m) =>
        `${r.table}: mapped key "${m.key}" (column ${m.columns.join(', ')}) missing in ${m.missing} of ${r.records} records (${pct(m.missing, r.records)}, over the ${pct(r.threshold, 1)} threshold)${sampled}; first at ${at(m.first)}`,
    ),
  ];
}

/** Up to `n` objects spread over the listing, the first and the last among them, within `bytes`. */
export function sampleObjects(
  objects: SourceObjects,
  n: number = DRIFT_SAMPLE.objects,
  bytes: number = DRIFT_SAMPLE.bytes,
): SourceObject[] {
  const picked =
    objects.length <= n
      ? [...objects]
      : Array.from(
          { length: n },
          (_, i) => objects.at(Math.round((i * (objects.length - 1)) / (n - 1))) as SourceObject,
        );
  const out: SourceObject[] = [];
  let total = 0;
  for (const o of picked) {
    if (out.length > 0 && total + o.size > bytes) break;
    out.push(o);
    total += o.size;
  }
  return out;
}

/** Feeds every record of `objects` to the counter (records that do not parse are the load's to report, not drift's). */
export async function profileObjects(
  reader: SourceReader,
  objects: readonly SourceObject[],
  counter: DriftCounter,
): Promise<void> {
  for (const object of objects) {
    const splitter = new JsonRecordSplitter({
      record: ({ value, line, text }) => counter.parsedRecord(object.uri, line, text, value),
      problem: () => undefined,
    });
    const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
    for await (const chunk of await reader.open(object)) splitter.push(decoder.decode(chunk, { stream: true }));
    splitter.push(decoder.decode());
    splitter.end();
  }
}

/** One row per finding (the report page's table). */
export function driftRows(
  r: Pick<DriftReport, 'table' | 'records' | 'newKeys' | 'typeChanges' | 'missingKeys'>,
): Record<string, string | number>[] {
  return [
    ...r.newKeys.map((k) => ({
      table: r.table,
      finding: 'new key (not loaded)',
      key: k.key,
      records: k.records,
      of: r.records,
      first: at(k.first),
    })),
    ...r.typeChanges.map((c) => ({
      table: r.table,
      finding: `type changes: ${Object.entries(c.types)
        .map(([t, v]) => `${t} ${v.records}`)
        .join(', ')}`,
      key: c.key,
      records: Object.values(c.types).reduce((s, v) => s + v.records, 0),
      of: r.records,
      first: Object.values(c.types)
        .map((v) => at(v.first))
        .join(', '),
    })),
    ...r.missingKeys.map((m) => ({
      table: r.table,
      finding: `mapped key missing (column ${m.columns.join(', ')})`,
      key: m.key,
      records: m.missing,
      of: r.records,
      first: at(m.first),
    })),
  ];
}
