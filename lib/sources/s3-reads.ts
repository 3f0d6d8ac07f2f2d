/**
 * Listing and reading S3 objects, checked: the two S3 loops every reader of
 * sources goes through (lib/sources/source-objects.ts).
 *
 * - `listS3Objects` pages through ListObjectsV2 (a large listing by common
 *   prefix, in parallel: see there) and stops with an error when
 *   the store repeats a continuation token or answers a page whose keys do
 *   not follow the previous page's (a store that ignores the token would
 *   answer the first page forever), or says more keys follow without giving
 *   a token (the listing would be cut silently).
 * - `readS3Object` GETs one listed object (lib/sources/s3-get.ts: signed
 *   without the SDK's middleware) with `IfMatch` set to the listed
 *   ETag and yields its bytes; it checks the answer's ETag too (stores that
 *   ignore IfMatch) and that exactly the listed number of bytes arrived. A
 *   body that ends short or is cut (a reset, a chunked answer that stops, an
 *   empty answer) is read on from where it stopped (`Range: bytes=N-`, the
 *   same IfMatch) up to S3_READ_ATTEMPTS times in all; then the run fails
 *   naming the object. An object that changed since it was listed (412, or
 *   another ETag, or more bytes than listed) fails the run at once: the load
 *   ledger records the listed size and ETag, so it must never record bytes
 *   of another version under them. Nothing of a failed run is recorded, so the
 *   next run lists the object again and loads what it then holds.
 *
 * Exit codes: the network's and the service's faults (resets, timeouts,
 * 5xx, a changed object) are TransportErrors (exit 1); a request S3 refuses
 * (no such bucket, access denied, bad credentials) is an InputError (exit 3).
 */
import type { Readable } from 'node:stream';
import { InputError, TransportError } from '../errors.ts';
import { printable } from '../printable.ts';
import type { AbortFanout } from './abort-fanout.ts';
import { ObjectList } from './object-list.ts';
import type { SourceObject } from './source-object.ts';
import type { S3Get, S3List } from './s3-get.ts';

interface AwsError {
  readonly name?: string;
  readonly message?: string;
  readonly code?: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
}

/** What to do about the S3 errors users meet first. */
function hint(err: unknown): string {
  const name = (err as AwsError).name;
  if (name === 'CredentialsProviderError') {
    return ' (configure AWS credentials: AWS_PROFILE, `aws sso login`, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY; or point LOG_DATA, SONG_DATA and LOG_JSONPATH at local files; with all three empty, `npm start` loads the bundled sample)';
  }
  if (name === 'AccessDenied' || name === 'Forbidden')
    return ' (the credentials may not list this bucket; check the bucket policy and AWS_REGION)';
  if (name === 'NoSuchBucket') return ' (check the bucket name and AWS_ENDPOINT_URL_S3)';
  return '';
}

/**
 * Whether an S3 failure is the network's or the service's (running again may
 * succeed) rather than the request's: no HTTP answer at all (refused, reset,
 * timed out), or a 5xx (503 SlowDown, 500 InternalError), 408 or 429.
 */
export function isTransportFault(err: unknown): boolean {
  const e = err as AwsError;
  if (e.name === 'CredentialsProviderError') return false;
  const status = e.$metadata?.httpStatusCode;
  if (status === undefined) return true;
  return status >= 500 || status === 408 || status === 429;
}

const isPreconditionFailed = (err: unknown) =>
  (err as AwsError).name === 'PreconditionFailed' || (err as AwsError).$metadata?.httpStatusCode === 412;

function describe(err: unknown): string {
  const e = err as AwsError;
  const status = e.$metadata?.httpStatusCode;
  return `${e.name ?? 'Error'}${status ? ` (HTTP ${status})` : ''}: ${printable(e.message ?? String(err))}`;
}

/** `what` about `uri` failed with `err`: a TransportError or an InputError, or `err` itself when the run was interrupted. */
function s3Error(uri: string, what: string, err: unknown, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted) return err;
  const message = `${printable(uri)}: ${what}: ${describe(err)}`;
  return isTransportFault(err)
    ? new TransportError(`${message} (a network or S3 service fault; running again may succeed)`, { cause: err })
    : new InputError(`${message}${hint(err)}`);
}

function changed(object: SourceObject, now: string): TransportError {
  return new TransportError(
    `${printable(object.uri)}: changed since it was listed (listed: ${object.size} bytes, ETag ${object.version}; now: ${now}): ` +
      'nothing of it is recorded as loaded; run the load again to load what it holds now',
  );
}

function splitUri(uri: string): { bucket: string; key: string } {
  // Listed keys are never written into SQL, so any key S3 returned can be read.
  const m = /^s3:\/\/([^/]+)\/(.*)$/s.exec(uri);
  return { bucket: m?.[1] ?? '', key: m?.[2] ?? '' };
}

const unquote = (etag: string | undefined) => (etag ?? '').replace(/"/g, '');

/** A key and a common prefix compared as S3 orders them: UTF-8 bytes. */
const compareKeys = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** Where a paged listing stands: its pages so far, the tokens it was given, the last key it listed. */
interface PageState {
  pages: number;
  listed: number;
  token: string | undefined;
  lastKey: string | undefined;
  readonly tokens: Set<string>;
}
const newState = (): PageState => ({ pages: 0, listed: 0, token: undefined, lastKey: undefined, tokens: new Set() });

/** A listed key as the SourceObject it stands for. */
const objectOf = (
  bucket: string,
  o: { key: string; size: number; etag?: string; lastModified?: string },
): SourceObject => ({
  uri: `s3://${bucket}/${o.key}`,
  size: o.size,
  version: unquote(o.etag),
  modified: o.lastModified,
});

/** One listing's entries in S3's order: objects and (with a delimiter) common prefixes. */
type Entry = { readonly key: string; readonly object: SourceObject } | { readonly prefix: string };
const entryKey = (e: Entry) => ('prefix' in e ? e.prefix : e.key);

interface ListRequest {
  readonly prefix: string;
  readonly delimiter?: string;
}

/**
 * The pages of one ListObjectsV2 listing, from where `state` stands, up to
 * `maxPages` more: its entries in order, and whether it is complete. Refuses a
 * store that repeats a continuation token, or answers a page that does not
 * follow the previous one, or says more follow without a token.
 */
async function listPages(
  list: S3List,
  uri: string,
  bucket: string,
  request: ListRequest,
  signal: AbortSignal | undefined,
  state: PageState = newState(),
  maxPages = Infinity,
  into?: ObjectList,
): Promise<{ entries: Entry[]; done: boolean; state: PageState }> {
  if (into && request.delimiter !== undefined) throw new Error('a delimited listing keeps its entries: no `into`');
  const out: Entry[] = [];
  for (let more = 0; more < maxPages; more += 1) {
    signal?.throwIfAborted();
    state.pages += 1;
    const pages = state.pages;
    let page;
    try {
      page = await list(bucket, {
        prefix: request.prefix,
        delimiter: request.delimiter,
        continuationToken: state.token,
      });
    } catch (err) {
      throw s3Error(uri, 'cannot list objects', err, signal);
    }
    const next = page.isTruncated ? page.nextContinuationToken : undefined;
    if (next !== undefined && state.tokens.has(next)) {
      throw new TransportError(
        `${printable(uri)}: cannot list objects: the store answered page ${pages} with a continuation token it had given before ` +
          `(${state.listed} keys listed so far); it does not follow ContinuationToken, and listing on would never end`,
      );
    }
    // Into a compact list as each page arrives (issue 27: 385k keys held as objects until the listing ended
    // peaked at 354 MB RSS); else kept as entries (a delimited listing's prefixes and objects, in order).
    const entries: Entry[] = into
      ? []
      : mergeEntries(
          page.contents.map((o) => ({ key: o.key, object: objectOf(bucket, o) })),
          page.commonPrefixes.map((prefix) => ({ prefix })),
        );
    const keys = into ? page.contents.map((o) => o.key) : entries.map(entryKey);
    // S3 lists keys in UTF-8 binary order: a page must start after the previous one ended.
    const firstKey = keys[0];
    if (state.lastKey !== undefined && firstKey !== undefined && compareKeys(firstKey, state.lastKey) <= 0) {
      throw new TransportError(
        `${printable(uri)}: cannot list objects: the store answered page ${pages} with keys that do not follow page ${pages - 1}'s ` +
          `(${state.listed} keys listed so far); it does not follow ContinuationToken, and listing on would never end`,
      );
    }
    if (into) for (const o of page.contents) into.push(objectOf(bucket, o));
    else for (const e of entries) out.push(e);
    state.listed += page.contents.length;
    const lastKey = keys[keys.length - 1];
    if (lastKey !== undefined) state.lastKey = lastKey;
    if (!page.isTruncated) return { entries: out, done: true, state };
    if (!next) {
      throw new TransportError(
        `${printable(uri)}: cannot list objects: page ${pages} says more keys follow but gives no continuation token (${state.listed} keys listed so far)`,
      );
    }
    state.tokens.add(next);
    state.token = next;
  }
  return { entries: out, done: false, state };
}

/** Two lists each in S3's order, merged. */
function mergeEntries(a: readonly Entry[], b: readonly Entry[]): Entry[] {
  const out: Entry[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length)
    out.push(compareKeys(entryKey(a[i] as Entry), entryKey(b[j] as Entry)) < 0 ? (a[i++] as Entry) : (b[j++] as Entry));
  while (i < a.length) out.push(a[i++] as Entry);
  while (j < b.length) out.push(b[j++] as Entry);
  return out;
}

/**
 * Pages listed one after another before a listing goes parallel: a source of
 * up to 3,000 keys is listed as before, in as many requests as pages.
 */
export const SEQUENTIAL_PAGES = 3;
/** Listings in flight at once when a large listing goes parallel (at most S3_MAX_CONCURRENCY). */
export const LIST_CONCURRENCY = 16;
/** How deep the key tree is walked with a delimiter looking for enough prefixes to list at once. */
const MAX_DEPTH = 4;

export interface ListOptions {
  /** Listings in flight at once (default LIST_CONCURRENCY); 1: the plain listing, page after page. */
  readonly concurrency?: number;
}

/** `fn` over `items`, at most `limit` at once, results in order; the first failure stops the rest. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length && !failed) {
        const i = next++;
        try {
          out[i] = await fn(items[i] as T);
        } catch (err) {
          failed = true;
          throw err;
        }
      }
    }),
  );
  return out;
}

/**
 * Every object under s3://bucket/prefix, in S3's order (UTF-8 binary).
 *
 * A listing gives 1,000 keys a page and each page needs the previous one's
 * continuation token, so a plain listing of 385k keys is 386 requests one
 * after another (at 40 ms a round trip, 15 s, with the parsing of each page
 * on top). So: the first SEQUENTIAL_PAGES pages are listed as always; when
 * more keys follow, the key tree is found with Delimiter '/' (the common
 * prefixes below `prefix`, level by level, until there are at least as many
 * as listings run at once) and each prefix is then listed on its own, at
 * most `concurrency` at once (the first pages' keys are listed again: no
 * StartAfter, which s3rver does not follow). The parts are put together in
 * the tree's order, which is S3's, so the result is the plain listing's.
 * A store that does not answer delimited listings (s3rver answers them below
 * the bucket's top level with nothing), or answers them with a prefix left
 * out (the result does not start with the first pages' keys), or a flat
 * prefix with no common prefixes, is listed on page after page from where it
 * stood.
 */
export async function listS3Objects(
  list: S3List,
  uri: string,
  bucket: string,
  prefix: string,
  signal?: AbortSignal,
  options: ListOptions = {},
): Promise<ObjectList> {
  const concurrency = options.concurrency ?? LIST_CONCURRENCY;
  const listPrefix = `s3://${bucket}/`;
  const objectsOf = (entries: readonly Entry[]) => entries.flatMap((e) => ('object' in e ? [e.object] : []));
  const head = await listPages(list, uri, bucket, { prefix }, signal, newState(), SEQUENTIAL_PAGES);
  const first = objectsOf(head.entries);
  if (head.done) return ObjectList.of(first, listPrefix);
  const all = concurrency > 1 ? await listInParallel(list, uri, bucket, prefix, concurrency, signal) : undefined;
  // Trusted only when it starts with the first pages' keys: a store whose delimited answers leave
  // out a prefix (s3rver does, beside an object named as it) is listed on page after page instead.
  if (all && first.every((o, i) => o.uri === all.uriAt(i))) return all;
  const out = ObjectList.of(first, listPrefix);
  await listPages(list, uri, bucket, { prefix }, signal, head.state, Infinity, out);
  return out;
}

/**
 * Every object under `prefix`, listed by common prefix in parallel; undefined when the store gives no tree to
 * split. Each prefix's pages go into a compact list of its own as they arrive; the lists are joined in order
 * (each freed once copied), so the listing never holds one object per key.
 */
async function listInParallel(
  list: S3List,
  uri: string,
  bucket: string,
  prefix: string,
  concurrency: number,
  signal: AbortSignal | undefined,
): Promise<ObjectList | undefined> {
  const listPrefix = `s3://${bucket}/`;
  const delimited = async (p: string) =>
    (await listPages(list, uri, bucket, { prefix: p, delimiter: '/' }, signal)).entries;
  let entries = await delimited(prefix);
  let prefixCount = entries.filter((e) => 'prefix' in e).length;
  if (prefixCount === 0) return undefined;
  for (let depth = 1; prefixCount < concurrency && depth < MAX_DEPTH; depth += 1) {
    const expanded = await mapLimit(entries, concurrency, async (e) => ('prefix' in e ? delimited(e.prefix) : [e]));
    // A common prefix has at least one key under it: an empty answer is a store that does not list by delimiter.
    if (expanded.some((list, i) => 'prefix' in (entries[i] as Entry) && list.length === 0)) return undefined;
    entries = expanded.flat();
    const count = entries.filter((e) => 'prefix' in e).length;
    if (count === prefixCount) break;
    prefixCount = count;
  }
  const parts: (readonly SourceObject[] | ObjectList | undefined)[] = await mapLimit(
    entries,
    concurrency,
    async (e): Promise<readonly SourceObject[] | ObjectList> => {
      if ('object' in e) return [e.object];
      const part = new ObjectList(listPrefix, 'objects');
      await listPages(list, uri, bucket, { prefix: e.prefix }, signal, newState(), Infinity, part);
      return part;
    },
  );
  const out = new ObjectList(listPrefix, 'objects');
  for (let i = 0; i < parts.length; i += 1) {
    for (const o of parts[i] ?? []) out.push(o);
    parts[i] = undefined;
  }
  return out;
}

export interface ReadOptions {
  /** How many GETs one object may take when its body arrives short or cut (S3_READ_ATTEMPTS). */
  readonly attempts: number;
  readonly signal?: AbortSignal | undefined;
  /** The reader's one listener on `signal`, shared by every body in flight (else each body adds its own). */
  readonly aborts?: AbortFanout | undefined;
  /** Told when a cut body is read on (for a warning). */
  readonly onRetry?: ((message: string) => void) | undefined;
}

/** Calls `stop` when the read's signal aborts; the function returned forgets it. */
function onAbort(options: ReadOptions, stop: () => void): () => void {
  if (options.aborts) return options.aborts.track(stop);
  const { signal } = options;
  signal?.addEventListener('abort', stop, { once: true });
  return () => signal?.removeEventListener('abort', stop);
}

/**
 * Bodies of up to this many bytes are taken whole through the stream's events
 * rather than its async iterator: at 100k one-record song objects the
 * iterator's set-up per body (an async iterator, end-of-stream listeners, a
 * promise per chunk) was a measurable part of the CPU per object (issue 27).
 */
const WHOLE_BODY_BYTES = 1024 * 1024;

/**
 * A body's chunks until it ends, fails, or holds more than `expected` bytes
 * (then it is destroyed: the caller refuses the object as changed). `error`:
 * why it stopped before its end (a reset, a destroy, a close without an end).
 */
function wholeBody(body: Readable, expected: number): Promise<{ chunks: Buffer[]; error?: unknown }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let length = 0;
    let settled = false;
    const done = (error?: unknown) => {
      if (settled) return;
      settled = true;
      body.off('data', onData);
      resolve(error === undefined ? { chunks } : { chunks, error });
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      length += chunk.byteLength;
      if (length > expected) {
        done();
        body.destroy();
      }
    };
    body.on('data', onData);
    body.once('end', () => done());
    body.once('error', (err) => done(err));
    body.once('close', () => done(body.readableEnded ? undefined : new Error('the answer was closed before its end')));
  });
}

/** One listed object's bytes, exactly as listed (size and ETag), or an error naming it. `get`: lib/sources/s3-get.ts. */
export async function* readS3Object(
  get: S3Get,
  object: SourceObject,
  options: ReadOptions,
): AsyncGenerator<Uint8Array, void, undefined> {
  const { bucket, key } = splitUri(object.uri);
  const ifMatch = object.version ? `"${object.version}"` : undefined;
  const { signal } = options;
  let read = 0;
  let problem = '';
  for (let attempt = 1; attempt <= options.attempts; attempt += 1) {
    signal?.throwIfAborted();
    let answer;
    try {
      answer = await get(bucket, key, { ifMatch, range: read > 0 ? `bytes=${read}-` : undefined });
    } catch (err) {
      if (isPreconditionFailed(err)) throw changed(object, 'another ETag (412 Precondition Failed)');
      throw s3Error(object.uri, read > 0 ? `cannot read on after ${read} bytes` : 'cannot read', err, signal);
    }
    const etag = unquote(answer.etag);
    if (object.version && etag && etag !== object.version) throw changed(object, `ETag ${etag}`);
    const body: Readable | undefined = answer.body;
    const forget = onAbort(options, () => body?.destroy());
    try {
      if (body && object.size - read <= WHOLE_BODY_BYTES) {
        // A small body (a song object: one record) taken whole, then checked as the chunks would be.
        const whole = await wholeBody(body, object.size - read);
        for (const chunk of whole.chunks) {
          read += chunk.byteLength;
          if (read > object.size) throw changed(object, `more than ${object.size} bytes`);
          yield chunk;
        }
        if (whole.error !== undefined) throw whole.error;
      } else {
        for await (const chunk of body ?? []) {
          read += (chunk as Uint8Array).byteLength;
          if (read > object.size) throw changed(object, `more than ${object.size} bytes`);
          yield chunk as Uint8Array;
        }
      }
      if (read === object.size) return;
      problem = `the answer ended after ${read} of ${object.size} bytes`;
    } catch (err) {
      if (err instanceof TransportError || signal?.aborted) throw err;
      problem = `the answer was cut after ${read} of ${object.size} bytes: ${describe(err)}`;
    } finally {
      forget();
      body?.destroy();
    }
    if (attempt < options.attempts)
      options.onRetry?.(
        `${printable(object.uri)}: ${problem}; reading on (attempt ${attempt + 1} of ${options.attempts})`,
      );
  }
  throw new TransportError(
    `${printable(object.uri)}: short read: ${problem}, after ${options.attempts} attempts (S3_READ_ATTEMPTS); ` +
      'nothing of this run is recorded as loaded (a network or S3 service fault; running again may succeed)',
  );
}
