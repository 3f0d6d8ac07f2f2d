/**
 * A listing held compactly: the part of each key after the listing's common
 * prefix (the folder, s3://bucket/) as UTF-8 bytes in one growing buffer, an
 * offset each (Uint32: a column stays below 4 GiB), sizes in a Float64Array,
 * and a SourceObject made only when one is asked for (`at`, iteration), so a
 * run holds a few objects at a time, not one JS object per listed object.
 *
 * Why (issue 26: memory bounded by the batch, not the object count): 1M local
 * song files listed as SourceObjects took about 215 MB of heap (an object, a
 * path string and a timestamp string each, and the array), held for the whole
 * run (the ledger compares the listing, staging reads it, the ledger records
 * it): 359 MB peak RSS for a full load, 330 MB for a no-op --incremental one.
 * Held here, the same listing is 52 MB, and the loads peak at 210 and 149 MB
 * (npm run bench -- --sizes 1m-files; docs/operations.md, "What holds memory").
 * Streaming the listing into the ledger's temporary table and staging from it
 * a page at a time was the other way; but staging, the source checks, the
 * drift sample, the Redshift manifest and compaction all read the listing by
 * position, and a full load has no temporary table: this keeps them as they
 * are (SourceObjects: length, at, iteration, which an array also has).
 *
 * Local files are listed with their mtime, which is both their version and
 * their modified: kept as a number, written as ISO 8601 when read. S3
 * objects have an ETag and a LastModified, kept as text.
 */
import { uriAt, type SourceObject, type SourceObjects } from './source-object.ts';

const INITIAL_OBJECTS = 1024;
const INITIAL_BYTES = 64 * 1024;

/** Strings as UTF-8 bytes in one buffer, object i's from ends[i-1] to ends[i]. */
class StringColumn {
  private bytes = Buffer.allocUnsafe(INITIAL_BYTES);
  private ends = new Uint32Array(INITIAL_OBJECTS);
  private used = 0;
  private count = 0;

  push(value: string): void {
    // At most 3 UTF-8 bytes per UTF-16 unit: room checked without measuring the string first.
    const room = value.length * 3;
    if (this.used + room > this.bytes.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.bytes.length * 2, this.used + room));
      this.bytes.copy(grown, 0, 0, this.used);
      this.bytes = grown;
    }
    if (this.count === this.ends.length) this.ends = grow(this.ends);
    this.used += this.bytes.write(value, this.used, 'utf8');
    if (this.used > 0xffff_ffff) throw new Error('a listing column of more than 4 GiB');
    this.ends[this.count] = this.used;
    this.count += 1;
  }

  get(i: number): string {
    return this.bytes.toString('utf8', i === 0 ? 0 : (this.ends[i - 1] as number), this.ends[i] as number);
  }

  /** Bytes held (capacity): what the listing costs. */
  get heldBytes(): number {
    return this.bytes.length + this.ends.byteLength;
  }
}

function grow<T extends Uint32Array | Float64Array>(a: T): T {
  const bigger = new (a.constructor as new (n: number) => T)(a.length * 2);
  bigger.set(a);
  return bigger;
}

/** Thrown (a programming error) when an object pushed does not start with the list's prefix. */
const outside = (uri: string, prefix: string) => new Error(`${uri} is not under the listing's prefix ${prefix}`);

/**
 * What a list holds besides keys and sizes: `files`, each file's mtime as a
 * number (its version and its modified, as ISO 8601, made when read);
 * `objects`, a version and a modified string each (S3's ETag and LastModified).
 */
export type ListKind = 'files' | 'objects';

export class ObjectList implements SourceObjects {
  private readonly keys = new StringColumn();
  private sizes = new Float64Array(INITIAL_OBJECTS);
  /** files: milliseconds since the epoch. */
  private mtimes: Float64Array | undefined;
  /** objects: the version and the modified ('' when not said) of each. */
  private readonly versions: StringColumn | undefined;
  private readonly modifiedColumn: StringColumn | undefined;
  private count = 0;

  /** `prefix`: what every URI starts with (stored once). */
  constructor(
    readonly prefix: string,
    readonly kind: ListKind,
  ) {
    if (kind === 'files') this.mtimes = new Float64Array(INITIAL_OBJECTS);
    else {
      this.versions = new StringColumn();
      this.modifiedColumn = new StringColumn();
    }
  }

  /** A compact copy of objects listed otherwise (an S3 listing), all under `prefix`. */
  static of(objects: Iterable<SourceObject>, prefix = ''): ObjectList {
    const list = new ObjectList(prefix, 'objects');
    for (const o of objects) list.push(o);
    return list;
  }

  /** A local file: its path, size and mtime (ms since the epoch, whole: a Date's). */
  pushFile(uri: string, size: number, mtimeMs: number): void {
    if (!this.mtimes) throw new Error('pushFile on a list of objects');
    this.pushKey(uri, size);
    if (this.count === this.mtimes.length) this.mtimes = grow(this.mtimes);
    this.mtimes[this.count] = mtimeMs;
    this.count += 1;
  }

  /** An object with its version and modified as listed (S3). */
  push(object: SourceObject): void {
    if (!this.versions || !this.modifiedColumn) throw new Error('push on a list of files: pushFile');
    this.pushKey(object.uri, object.size);
    this.versions.push(object.version);
    // '' stands for "not said" (an empty timestamp is not one).
    this.modifiedColumn.push(object.modified ?? '');
    this.count += 1;
  }

  private pushKey(uri: string, size: number): void {
    if (!uri.startsWith(this.prefix)) throw outside(uri, this.prefix);
    if (this.count === this.sizes.length) this.sizes = grow(this.sizes);
    this.keys.push(uri.slice(this.prefix.length));
    this.sizes[this.count] = size;
  }

  get length(): number {
    return this.count;
  }

  /** Object i, made now (undefined outside the list, as an array's `at`; negative counts from the end). */
  at(index: number): SourceObject | undefined {
    const i = index < 0 ? this.count + index : index;
    if (!Number.isInteger(i) || i < 0 || i >= this.count) return undefined;
    const uri = this.prefix + this.keys.get(i);
    const size = this.sizes[i] as number;
    if (this.mtimes) {
      const mtime = new Date(this.mtimes[i] as number).toISOString();
      return { uri, size, version: mtime, modified: mtime };
    }
    const version = (this.versions as StringColumn).get(i);
    return { uri, size, version, modified: (this.modifiedColumn as StringColumn).get(i) || undefined };
  }

  /** Object i's URI, without its size, version or modified (the lineage digest's sort compares URIs only). */
  uriAt(index: number): string | undefined {
    const i = index < 0 ? this.count + index : index;
    if (!Number.isInteger(i) || i < 0 || i >= this.count) return undefined;
    return this.prefix + this.keys.get(i);
  }

  *[Symbol.iterator](): Iterator<SourceObject> {
    for (let i = 0; i < this.count; i += 1) yield this.at(i) as SourceObject;
  }

  /** Bytes held by the columns (their capacity), for tests and the docs' figures. */
  get heldBytes(): number {
    return (
      this.keys.heldBytes +
      this.sizes.byteLength +
      (this.mtimes?.byteLength ?? 0) +
      (this.versions?.heldBytes ?? 0) +
      (this.modifiedColumn?.heldBytes ?? 0)
    );
  }
}

/**
 * Some of a listing's objects, by position: the new or changed ones the ledger
 * found. Holds the positions (4 bytes an object), not the objects.
 */
export class SelectedObjects implements SourceObjects {
  constructor(
    private readonly objects: SourceObjects,
    private readonly positions: Uint32Array,
  ) {}

  get length(): number {
    return this.positions.length;
  }

  at(index: number): SourceObject | undefined {
    const i = index < 0 ? this.positions.length + index : index;
    const position = this.positions[i];
    return position === undefined ? undefined : this.objects.at(position);
  }

  uriAt(index: number): string | undefined {
    const i = index < 0 ? this.positions.length + index : index;
    const position = this.positions[i];
    if (position === undefined) return undefined;
    return uriAt(this.objects, position);
  }

  *[Symbol.iterator](): Iterator<SourceObject> {
    for (const position of this.positions) yield this.objects.at(position) as SourceObject;
  }
}

/** Positions collected one at a time into a Uint32Array (no JS array of numbers). */
export class Positions {
  private values = new Uint32Array(INITIAL_OBJECTS);
  private count = 0;

  push(position: number): void {
    if (this.count === this.values.length) this.values = grow(this.values);
    this.values[this.count] = position;
    this.count += 1;
  }

  get length(): number {
    return this.count;
  }

  /** The positions, trimmed to what was pushed. */
  take(): Uint32Array {
    return this.values.slice(0, this.count);
  }
}

/** `objects` narrowed to `positions`: the listing itself when every object was selected, in order. */
export function selectObjects(objects: SourceObjects, positions: Positions): SourceObjects {
  const chosen = positions.take();
  if (chosen.length === objects.length && chosen.every((p, i) => p === i)) return objects;
  return new SelectedObjects(objects, chosen);
}
