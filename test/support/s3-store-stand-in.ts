/**
 * A small S3 object store on 127.0.0.1 for the tests and the benchmark, for
 * what s3rver does not do: s3rver answers a ListObjectsV2 with a Delimiter
 * below the bucket's top level with nothing (no keys, no CommonPrefixes), and
 * lists by walking its folder tree (its time per page grows with the
 * bucket), so 385k keys cannot be listed through it in reasonable time.
 *
 * It holds its objects in memory, sorted in UTF-8 binary order as S3 lists
 * them, and answers, path-style (`/bucket/key`):
 * - ListObjectsV2 (`?list-type=2`): prefix, delimiter (CommonPrefixes, each
 *   counted as one entry toward max-keys, as S3 does), continuation-token,
 *   start-after, max-keys (default and at most 1000);
 * - GetObject: ETag (the MD5 of the bytes, quoted), If-Match (412 otherwise),
 *   Range `bytes=N-` (206);
 * - GetBucketLocation (`?location`): the constraint it was given;
 * - PutObject (a plain body, as the tool's stage store sends it) and
 *   DeleteObjects (`POST ?delete`), for compaction's chunks.
 * Anything else is 501. `latencyMs` holds every request that long before it
 * is answered, as test/support/s3-proxy.ts does in front of s3rver (one
 * process hop fewer: the benchmark's store costs less of the machine).
 * `dropCommonPrefix` makes its delimited listings
 * wrong (a prefix left out), as s3rver's are. Signatures are not checked (s3rver-based tests do
 * that); counts of the requests by kind are kept.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

interface Stored {
  readonly key: string;
  readonly keyBytes: Buffer;
  readonly body: Buffer;
  readonly etag: string;
  readonly modified: string;
}

export interface StoreCounts {
  /** ListObjectsV2 requests without a delimiter. */
  list: number;
  /** ListObjectsV2 requests with a delimiter. */
  delimitedList: number;
  get: number;
  put: number;
  delete: number;
  other: number;
}

export interface S3StoreStandIn {
  /** The endpoint (AWS_ENDPOINT_URL_S3). */
  readonly url: string;
  readonly counts: StoreCounts;
  put(bucket: string, key: string, body: Buffer | string): void;
  close(): Promise<void>;
}

/** Every file under `dir` as `[key, bytes]`, the key its path relative to `dir` with `/`. */
export function objectsOfFolder(dir: string, keyPrefix = ''): [string, Buffer][] {
  const out: [string, Buffer][] = [];
  const walk = (folder: string, rel: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const full = path.join(folder, entry.name);
      if (entry.isDirectory()) walk(full, `${rel}${entry.name}/`);
      else if (entry.isFile()) out.push([`${keyPrefix}${rel}${entry.name}`, readFileSync(full)]);
    }
  };
  walk(dir, '');
  return out;
}

const xmlEscape = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string);

const ERROR_XML = (code: string, message: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error>`;

/** The first index whose key is greater than (or, `inclusive`, equal to) `after` in binary order. */
function lowerBound(objects: readonly Stored[], after: Buffer, inclusive: boolean): number {
  let lo = 0;
  let hi = objects.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const c = Buffer.compare((objects[mid] as Stored).keyBytes, after);
    if (c < 0 || (c === 0 && !inclusive)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export async function startS3StoreStandIn(
  buckets: Record<string, Iterable<[string, Buffer]>>,
  /** dropCommonPrefix: delimited listings leave this common prefix out (a store whose delimited answers are wrong). */
  options: { region?: string; dropCommonPrefix?: string; latencyMs?: number } = {},
): Promise<S3StoreStandIn> {
  const store = new Map<string, Stored[]>();
  /** Each bucket's objects by key, for GETs (the sorted list is for listings): the benchmark's 2,500 GETs a second. */
  const byKey = new Map<string, Map<string, Stored>>();
  const indexed = (bucket: string) => {
    let index = byKey.get(bucket);
    if (!index) {
      index = new Map((store.get(bucket) ?? []).map((o) => [o.key, o]));
      byKey.set(bucket, index);
    }
    return index;
  };
  const counts: StoreCounts = { list: 0, delimitedList: 0, get: 0, put: 0, delete: 0, other: 0 };
  const modified = new Date().toUTCString();
  const stored = (key: string, body: Buffer): Stored => ({
    key,
    keyBytes: Buffer.from(key),
    body,
    etag: createHash('md5').update(body).digest('hex'),
    modified,
  });
  for (const [bucket, objects] of Object.entries(buckets)) {
    const list = [...objects].map(([key, body]) => stored(key, body));
    list.sort((a, b) => Buffer.compare(a.keyBytes, b.keyBytes));
    store.set(bucket, list);
  }

  function putObject(bucket: string, key: string, body: Buffer | string): void {
    const objects = store.get(bucket) ?? [];
    store.set(bucket, objects);
    const o = stored(key, Buffer.from(body));
    const at = lowerBound(objects, o.keyBytes, true);
    if (objects[at]?.key === key) objects[at] = o;
    else objects.splice(at, 0, o);
    byKey.delete(bucket);
  }

  const list = (res: http.ServerResponse, bucket: string, objects: Stored[], q: URLSearchParams) => {
    const prefix = q.get('prefix') ?? '';
    const delimiter = q.get('delimiter') ?? '';
    const maxKeys = Math.min(1000, Number(q.get('max-keys') ?? 1000));
    const token = q.get('continuation-token');
    const after = token !== null ? Buffer.from(token, 'base64').toString('utf8') : (q.get('start-after') ?? '');
    const prefixBytes = Buffer.from(prefix);
    let i = Math.max(
      lowerBound(objects, prefixBytes, true),
      after ? lowerBound(objects, Buffer.from(after), false) : 0,
    );
    const contents: Stored[] = [];
    const prefixes: string[] = [];
    let last = '';
    while (i < objects.length && contents.length + prefixes.length < maxKeys) {
      const o = objects[i] as Stored;
      if (!o.key.startsWith(prefix)) break;
      const at = delimiter ? o.key.indexOf(delimiter, prefix.length) : -1;
      if (at < 0) {
        contents.push(o);
        last = o.key;
        i += 1;
        continue;
      }
      const common = o.key.slice(0, at + delimiter.length);
      if (common !== options.dropCommonPrefix) prefixes.push(common);
      // Past every key under the common prefix: the next key not starting with it.
      last = common;
      let j = i + 1;
      while (j < objects.length && (objects[j] as Stored).key.startsWith(common)) j += 1;
      i = j;
    }
    let truncated = false;
    for (let j = i; j < objects.length && (objects[j] as Stored).key.startsWith(prefix); j += 1) {
      truncated = true;
      break;
    }
    // A token after a common prefix must skip its keys: the last key under it stands for it.
    let next = last;
    if (truncated && prefixes.at(-1) === last) next = (objects[i - 1] as Stored).key;
    const body =
      `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
      `<Name>${xmlEscape(bucket)}</Name><Prefix>${xmlEscape(prefix)}</Prefix>` +
      (delimiter ? `<Delimiter>${xmlEscape(delimiter)}</Delimiter>` : '') +
      `<MaxKeys>${maxKeys}</MaxKeys><KeyCount>${contents.length + prefixes.length}</KeyCount>` +
      `<IsTruncated>${truncated}</IsTruncated>` +
      (token !== null ? `<ContinuationToken>${xmlEscape(token)}</ContinuationToken>` : '') +
      (truncated ? `<NextContinuationToken>${Buffer.from(next).toString('base64')}</NextContinuationToken>` : '') +
      contents
        .map(
          (o) =>
            `<Contents><Key>${xmlEscape(o.key)}</Key><LastModified>${new Date(o.modified).toISOString()}</LastModified>` +
            `<ETag>&quot;${o.etag}&quot;</ETag><Size>${o.body.length}</Size><StorageClass>STANDARD</StorageClass></Contents>`,
        )
        .join('') +
      prefixes.map((p) => `<CommonPrefixes><Prefix>${xmlEscape(p)}</Prefix></CommonPrefixes>`).join('') +
      `</ListBucketResult>`;
    res.writeHead(200, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };

  const get = (req: http.IncomingMessage, res: http.ServerResponse, bucket: string, key: string) => {
    const found = indexed(bucket).get(key);
    if (!found) return fail(res, 404, 'NoSuchKey', 'The specified key does not exist.');
    const ifMatch = req.headers['if-match'];
    if (ifMatch !== undefined && ifMatch.replace(/"/g, '') !== found.etag)
      return fail(res, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
    const headers = { etag: `"${found.etag}"`, 'last-modified': found.modified, 'content-type': 'application/json' };
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range) {
      const from = Number(range[1]);
      const part = found.body.subarray(from);
      res.writeHead(206, {
        ...headers,
        'content-length': part.length,
        'content-range': `bytes ${from}-${found.body.length - 1}/${found.body.length}`,
      });
      res.end(part);
      return;
    }
    res.writeHead(200, { ...headers, 'content-length': found.body.length });
    res.end(found.body);
  };

  const fail = (res: http.ServerResponse, status: number, code: string, message: string) => {
    const body = ERROR_XML(code, message);
    res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };

  const answer = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://store');
    const [, bucket = '', ...rest] = url.pathname.split('/');
    const key = decodeURIComponent(rest.join('/'));
    const objects = store.get(decodeURIComponent(bucket));
    if (req.method === 'PUT' && key !== '') {
      counts.put += 1;
      putObject(decodeURIComponent(bucket), key, body);
      const etag = (store.get(decodeURIComponent(bucket)) ?? []).find((o) => o.key === key)?.etag;
      res.writeHead(200, { etag: `"${etag}"`, 'content-length': 0 });
      return res.end();
    }
    if (req.method === 'POST' && key === '' && url.searchParams.has('delete') && objects) {
      counts.delete += 1;
      const keys = [...body.toString('utf8').matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) =>
        (m[1] as string).replace(
          /&lt;|&gt;|&quot;|&apos;|&amp;/g,
          (e) => ({ '&lt;': '<', '&gt;': '>', '&quot;': '"', '&apos;': "'", '&amp;': '&' })[e] as string,
        ),
      );
      const gone = new Set(keys);
      store.set(
        decodeURIComponent(bucket),
        objects.filter((o) => !gone.has(o.key)),
      );
      byKey.delete(decodeURIComponent(bucket));
      const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${keys.map((k) => `<Deleted><Key>${xmlEscape(k)}</Key></Deleted>`).join('')}</DeleteResult>`;
      res.writeHead(200, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml) });
      return res.end(xml);
    }
    if (req.method !== 'GET') {
      counts.other += 1;
      return fail(res, 501, 'NotImplemented', `${req.method} is not implemented by the store stand-in`);
    }
    if (!objects) {
      counts.other += 1;
      return fail(res, 404, 'NoSuchBucket', 'The specified bucket does not exist');
    }
    if (key === '' && url.searchParams.has('location')) {
      counts.other += 1;
      const region = options.region ?? 'us-west-2';
      const body = `<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${region === 'us-east-1' ? '' : region}</LocationConstraint>`;
      res.writeHead(200, { 'content-type': 'application/xml' });
      return res.end(body);
    }
    if (key === '' && url.searchParams.get('list-type') === '2') {
      if (url.searchParams.get('delimiter')) counts.delimitedList += 1;
      else counts.list += 1;
      return list(res, bucket, objects, url.searchParams);
    }
    if (key === '') {
      counts.other += 1;
      return fail(res, 501, 'NotImplemented', 'only ListObjectsV2 is implemented on a bucket');
    }
    counts.get += 1;
    return get(req, res, decodeURIComponent(bucket), key);
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const go = () => answer(req, res, Buffer.concat(chunks));
      if (options.latencyMs) setTimeout(go, options.latencyMs);
      else go();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    put: putObject,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
