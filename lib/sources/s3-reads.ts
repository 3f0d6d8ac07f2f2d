/**
 * Listing and reading S3 objects, checked: the two S3 loops every reader of
 * sources goes through (lib/sources/source-objects.ts).
 *
 * - `listS3Objects` pages through ListObjectsV2 and stops with an error when
 *   the store repeats a continuation token or answers a page whose keys do
 *   not follow the previous page's (a store that ignores the token would
 *   answer the first page forever), or says more keys follow without giving
 *   a token (the listing would be cut silently).
 * - `readS3Object` GETs one listed object with `IfMatch` set to the listed
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
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { InputError, TransportError } from '../errors.ts';
import { printable } from '../printable.ts';
import type { AbortFanout } from './abort-fanout.ts';
import type { SourceObject } from './source-object.ts';

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

/** Every object under s3://bucket/prefix, page by page; refuses a store that does not follow ContinuationToken. */
export async function listS3Objects(
  client: S3Client,
  uri: string,
  bucket: string,
  prefix: string,
  signal?: AbortSignal,
): Promise<SourceObject[]> {
  const out: SourceObject[] = [];
  const tokens = new Set<string>();
  let token: string | undefined;
  let lastKey: Buffer | undefined;
  for (let pages = 1; ; pages += 1) {
    signal?.throwIfAborted();
    let page;
    try {
      page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    } catch (err) {
      throw s3Error(uri, 'cannot list objects', err, signal);
    }
    const next = page.IsTruncated ? page.NextContinuationToken : undefined;
    if (next !== undefined && tokens.has(next)) {
      throw new TransportError(
        `${printable(uri)}: cannot list objects: the store answered page ${pages} with a continuation token it had given before ` +
          `(${out.length} keys listed so far); it does not follow ContinuationToken, and listing on would never end`,
      );
    }
    const keys = (page.Contents ?? []).filter((o) => o.Key !== undefined);
    // S3 lists keys in UTF-8 binary order: a page must start after the previous one ended.
    const firstKey = keys[0]?.Key;
    if (lastKey && firstKey !== undefined && Buffer.compare(Buffer.from(firstKey), lastKey) <= 0) {
      throw new TransportError(
        `${printable(uri)}: cannot list objects: the store answered page ${pages} with keys that do not follow page ${pages - 1}'s ` +
          `(${out.length} keys listed so far); it does not follow ContinuationToken, and listing on would never end`,
      );
    }
    for (const o of keys)
      out.push({
        uri: `s3://${bucket}/${o.Key}`,
        size: o.Size ?? 0,
        version: unquote(o.ETag),
        modified: o.LastModified?.toISOString(),
      });
    const lastListed = keys[keys.length - 1]?.Key;
    if (lastListed !== undefined) lastKey = Buffer.from(lastListed);
    if (!page.IsTruncated) return out;
    if (!next) {
      throw new TransportError(
        `${printable(uri)}: cannot list objects: page ${pages} says more keys follow but gives no continuation token (${out.length} keys listed so far)`,
      );
    }
    tokens.add(next);
    token = next;
  }
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

/** One listed object's bytes, exactly as listed (size and ETag), or an error naming it. */
export async function* readS3Object(
  client: S3Client,
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
      answer = await client.send(
        new GetObjectCommand({
          Bucket: bucket,
          Key: key,
          IfMatch: ifMatch,
          ...(read > 0 ? { Range: `bytes=${read}-` } : {}),
        }),
      );
    } catch (err) {
      if (isPreconditionFailed(err)) throw changed(object, 'another ETag (412 Precondition Failed)');
      throw s3Error(object.uri, read > 0 ? `cannot read on after ${read} bytes` : 'cannot read', err, signal);
    }
    const etag = unquote(answer.ETag);
    if (object.version && etag && etag !== object.version) throw changed(object, `ETag ${etag}`);
    const body = answer.Body as Readable | undefined;
    const forget = onAbort(options, () => body?.destroy());
    try {
      for await (const chunk of body ?? []) {
        read += (chunk as Uint8Array).byteLength;
        if (read > object.size) throw changed(object, `more than ${object.size} bytes`);
        yield chunk as Uint8Array;
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
