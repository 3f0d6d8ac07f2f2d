/** One listed source object: what the listing said, and what a read of it is checked against. */
export interface SourceObject {
  /** s3://bucket/key or an absolute local path. */
  readonly uri: string;
  readonly size: number;
  /** ETag on S3 (without quotes), modification time locally: what changes when the content does. */
  readonly version: string;
  /** When it was last written, ISO 8601 (S3 LastModified, the file's mtime); absent where the lister does not say. */
  readonly modified?: string | undefined;
}

/**
 * A listing read by position and in order: an array, or a compact list that
 * makes each SourceObject when asked (lib/sources/object-list.ts). Consumers
 * ask for one object at a time (`at`, iteration), so a listing of 1M objects
 * need not be 1M JS objects (issue 26). `T`: what a consumer reads of each
 * (the compaction rule only sizes).
 */
export interface SourceObjects<T = SourceObject> extends Iterable<T> {
  readonly length: number;
  at(index: number): T | undefined;
  /** Object i's URI alone, where a list can give it without making the object (ObjectList); else `at(i).uri`. */
  uriAt?(index: number): string | undefined;
}

/** Object i's URI: through `uriAt` where the list has it, else from the object itself. */
export function uriAt(objects: SourceObjects, index: number): string | undefined {
  return objects.uriAt ? objects.uriAt(index) : objects.at(index)?.uri;
}
