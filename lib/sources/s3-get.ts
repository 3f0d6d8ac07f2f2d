/**
 * S3 GetObject and ListObjectsV2 requests, signed and sent without the AWS
 * SDK's middleware stack: the lean request path of PostgreSQL staging's many
 * small GETs and of listing 385k keys.
 *
 * Why: a CPU profile of 20k small GETs through the SDK (`npm run bench --
 * --sizes s3 --cpu-prof DIR`, docs/performance.md "S3 sources") spent about
 * 0.5 ms of CPU per GET in the SDK's own code (@smithy/core's middleware and
 * schema serde, endpoint rules, the signer's wrapper, response checksums,
 * XML) and much of the garbage collection, which capped one thread at about
 * 1,200 objects/s. Here a GET is a signature and an HTTP request.
 *
 * What is kept from the SDK, so its semantics stay:
 * - the endpoint: resolved once per bucket by the client's own endpoint
 *   rules (`getEndpointFromInstructions` with GetObjectCommand's
 *   instructions and the client's config: region, AWS_ENDPOINT_URL_S3,
 *   path-style, FIPS and dual-stack settings), with the signing name and
 *   region those rules give;
 * - the credentials: the client's own provider (the default Node credential
 *   chain, memoized and refreshed before expiry by the SDK);
 * - the signature: SigV4 exactly as the SDK's signer (@smithy/signature-v4)
 *   gives it when configured as the S3 client configures it (no double
 *   encoding of the path, the payload hash in x-amz-content-sha256), in two
 *   hashes a request (lib/sources/s3-sigv4.ts; test/s3-sigv4.test.ts compares
 *   the headers with the SDK signer's);
 * - the retries: up to MAX_ATTEMPTS in all for a fault of the network or the
 *   service (no answer, a timeout, 5xx, 408, 429), with the SDK's standard
 *   backoff (full jitter, base 100 ms, at most 20 s);
 * - the errors: an answer of 3xx–5xx becomes an error shaped as the SDK's
 *   (`name` the S3 error code, `$metadata.httpStatusCode`), so that
 *   lib/sources/s3-reads.ts judges both alike.
 * A bucket whose endpoint rules ask for another auth scheme (S3 Express, a
 * multi-region access point's SigV4a) is read through the SDK instead.
 *
 * Timeouts and the interrupt are those of lib/sources/s3-client.ts: the
 * connection within S3_CONNECT_TIMEOUT_SECONDS, nothing received for
 * S3_IDLE_TIMEOUT_SECONDS (answer or body) fails the request, and the run's
 * AbortSignal ends every request in flight.
 */
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { getEndpointFromInstructions } from '@smithy/core/endpoints';
import { AbortFanout } from './abort-fanout.ts';
import { escapeUri as escape, GetSigner } from './s3-sigv4.ts';
import { DEFAULT_TRANSPORT, type TransportSettings } from '../config/transport.ts';

/** Attempts of one request in all, as the S3 client's `maxAttempts` (lib/sources/s3-client.ts). */
export const MAX_ATTEMPTS = 5;
const BACKOFF_BASE_MS = 100;
const BACKOFF_MAX_MS = 20_000;
/** An error answer's body is read up to this many bytes (its XML names the code). */
const ERROR_BODY_BYTES = 64 * 1024;

export interface S3GetOptions {
  /** If-Match: the ETag (quoted) the object must still have. */
  readonly ifMatch?: string | undefined;
  /** Range: `bytes=N-`. */
  readonly range?: string | undefined;
}

export interface S3GetAnswer {
  /** The answer's ETag, quotes included as S3 sends it. */
  readonly etag: string | undefined;
  readonly body: Readable;
}

/** GETs one object; rejects with an SDK-shaped error (`name`, `message`, `$metadata.httpStatusCode`). */
export type S3Get = (bucket: string, key: string, options: S3GetOptions) => Promise<S3GetAnswer>;

export interface S3ListRequest {
  readonly prefix: string;
  readonly delimiter?: string | undefined;
  readonly continuationToken?: string | undefined;
}

/** One ListObjectsV2 page, as the SDK's answer names its parts. */
export interface S3ListPage {
  readonly contents: readonly {
    readonly key: string;
    readonly size: number;
    /** Quotes included, as S3 sends it. */
    readonly etag: string | undefined;
    readonly lastModified: string | undefined;
  }[];
  readonly commonPrefixes: readonly string[];
  readonly isTruncated: boolean;
  readonly nextContinuationToken: string | undefined;
}

/** Lists one page; rejects as S3Get does. */
export type S3List = (bucket: string, request: S3ListRequest) => Promise<S3ListPage>;

export interface S3Requests {
  readonly get: S3Get;
  readonly list: S3List;
}

/** An S3 error answer or a failed request, shaped as the SDK's service exceptions. */
export class S3RequestError extends Error {
  readonly $metadata: { readonly httpStatusCode?: number | undefined };
  constructor(name: string, message: string, status: number | undefined, options?: ErrorOptions) {
    super(message, options);
    this.name = name;
    this.$metadata = { httpStatusCode: status };
  }
}

/** A key's path as the S3 client writes it: each segment URI-encoded, `/` kept. */
const encodeKey = (key: string) => key.split('/').map(escape).join('/');

interface BucketRoute {
  readonly url: URL;
  readonly signer: GetSigner;
}

/** Whether a failed request may be tried again: no answer, or the service's fault. */
const retryable = (err: unknown) => {
  const status = (err as S3RequestError).$metadata?.httpStatusCode;
  if (status === undefined) return (err as Error).name !== 'CredentialsProviderError';
  return status >= 500 || status === 408 || status === 429;
};

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      if (signal?.aborted) reject(signal.reason as Error);
      else resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** What Node's `signal` option of http.request ends a request with: an AbortError caused by the signal's reason. */
function abortError(signal: AbortSignal | undefined): Error {
  return Object.assign(new Error('The operation was aborted', { cause: signal?.reason }), {
    name: 'AbortError',
    code: 'ABORT_ERR',
  });
}

/** `<Code>` and `<Message>` of an S3 error answer. */
function errorFromAnswer(status: number, body: string, statusMessage: string | undefined): S3RequestError {
  const code = /<Code>([^<]*)<\/Code>/.exec(body)?.[1];
  const message = /<Message>([^<]*)<\/Message>/.exec(body)?.[1];
  const name =
    code ??
    (status === 412
      ? 'PreconditionFailed'
      : status === 404
        ? 'NotFound'
        : status === 403
          ? 'Forbidden'
          : `${statusMessage ?? 'UnknownError'}`.replace(/\s+/g, ''));
  return new S3RequestError(name, message ?? statusMessage ?? `HTTP ${status}`, status);
}

export interface S3GetSettings {
  /** Connections per host (the GETs in flight at once). */
  readonly maxSockets: number;
  readonly transport?: TransportSettings;
  readonly signal?: AbortSignal | undefined;
  /** The run signal's fan-out to share with the body reads (default: one of its own). */
  readonly aborts?: AbortFanout | undefined;
}

/** The lean GET and ListObjectsV2 for `client`'s configuration (endpoint rules, credentials, region). */
export function createS3Requests(client: S3Client, settings: S3GetSettings): S3Requests {
  const transport = settings.transport ?? DEFAULT_TRANSPORT;
  const { signal } = settings;
  // Each request in flight gets a signal of its own, ended through one listener on the run's signal
  // (lib/sources/abort-fanout.ts): a listener each put 64+ on it and Node warned of a leak.
  const aborts = settings.aborts ?? new AbortFanout(signal);
  const agents = {
    'http:': new http.Agent({ keepAlive: true, maxSockets: settings.maxSockets }),
    'https:': new https.Agent({ keepAlive: true, maxSockets: settings.maxSockets }),
  };
  const routes = new Map<string, Promise<BucketRoute | undefined>>();
  const route = (bucket: string) => {
    let known = routes.get(bucket);
    if (!known) {
      known = (async () => {
        const endpoint = await getEndpointFromInstructions(
          { Bucket: bucket, Key: 'key' },
          GetObjectCommand,
          client.config as unknown as Parameters<typeof getEndpointFromInstructions>[2],
        );
        const schemes = (endpoint.properties?.['authSchemes'] ?? []) as {
          name?: string;
          signingName?: string;
          signingRegion?: string;
        }[];
        const scheme = schemes[0];
        if (scheme?.name !== 'sigv4') return undefined;
        const url = new URL(endpoint.url.href);
        return {
          url,
          signer: new GetSigner(
            client.config.credentials,
            scheme.signingRegion ?? (await client.config.region()),
            scheme.signingName ?? 's3',
          ),
        };
      })();
      // A failed resolution is not kept: the next request tries again.
      known.catch(() => routes.delete(bucket));
      routes.set(bucket, known);
    }
    return known;
  };

  /** One attempt: the answer (status 2xx, its body unread), or an error. */
  const once = async (
    where: BucketRoute,
    pathname: string,
    query: Record<string, string>,
    headers: Record<string, string>,
  ): Promise<http.IncomingMessage> => {
    const { url } = where;
    const signed = await where.signer.sign({ host: url.host, path: pathname, query, headers });
    const search = Object.keys(query)
      .sort()
      .map((k) => `${escape(k)}=${escape(query[k] as string)}`)
      .join('&');
    signal?.throwIfAborted();
    return new Promise<http.IncomingMessage>((resolve, reject) => {
      const secure = url.protocol === 'https:';
      const request = (secure ? https : http).request(
        {
          protocol: url.protocol,
          hostname: url.hostname,
          port: url.port || undefined,
          method: 'GET',
          path: search ? `${pathname}?${search}` : pathname,
          headers: signed,
          agent: agents[secure ? 'https:' : 'http:'],
        },
        (response) => {
          const status = response.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            resolve(response);
            return;
          }
          const chunks: Buffer[] = [];
          let length = 0;
          response.on('data', (c: Buffer) => {
            if (length < ERROR_BODY_BYTES) chunks.push(c);
            length += c.length;
          });
          response.on('end', () =>
            reject(errorFromAnswer(status, Buffer.concat(chunks).toString('utf8'), response.statusMessage)),
          );
          response.on('error', () => reject(errorFromAnswer(status, '', response.statusMessage)));
        },
      );
      // The run's interrupt ends the request (and its body, which it carries until the answer has ended)
      // through the reader's one listener: no AbortController and signal listener of its own per request
      // (their allocations were a tenth of what 100k GETs left for the old generation's collector, issue 27).
      const forget = aborts.track(() => request.destroy(abortError(signal)));
      request.on('close', forget);
      request.on('error', (err: NodeJS.ErrnoException) =>
        reject(
          signal?.aborted
            ? err
            : err instanceof S3RequestError
              ? err
              : new S3RequestError(err.code ?? err.name, err.message, undefined, { cause: err }),
        ),
      );
      // Nothing received for S3_IDLE_TIMEOUT_SECONDS: the request (or its body, later) fails.
      request.setTimeout(transport.s3IdleTimeoutMs, () =>
        request.destroy(
          new S3RequestError(
            'TimeoutError',
            `nothing received for ${transport.s3IdleTimeoutMs / 1000} s (S3_IDLE_TIMEOUT_SECONDS)`,
            undefined,
          ),
        ),
      );
      request.on('socket', (socket) => {
        if (!socket.connecting) return;
        const timer = setTimeout(
          () =>
            request.destroy(
              new S3RequestError(
                'TimeoutError',
                `no connection within ${transport.s3ConnectTimeoutMs / 1000} s (S3_CONNECT_TIMEOUT_SECONDS)`,
                undefined,
              ),
            ),
          transport.s3ConnectTimeoutMs,
        );
        socket.once('connect', () => clearTimeout(timer));
        socket.once('close', () => clearTimeout(timer));
      });
      request.end();
    });
  };

  /** Through the SDK, for a bucket whose endpoint asks for another auth scheme. */
  const throughSdk = async (bucket: string, key: string, options: S3GetOptions): Promise<S3GetAnswer> => {
    const answer = await client.send(
      new GetObjectCommand({ Bucket: bucket, Key: key, IfMatch: options.ifMatch, Range: options.range }),
    );
    return { etag: answer.ETag, body: answer.Body as Readable };
  };

  /** Up to MAX_ATTEMPTS attempts of `attempt`, for the network's and the service's faults. */
  const retried = async <T>(attempt: () => Promise<T>): Promise<T> => {
    for (let n = 1; ; n += 1) {
      try {
        return await attempt();
      } catch (err) {
        if (signal?.aborted || n >= MAX_ATTEMPTS || !retryable(err)) throw err;
        await sleep(Math.random() * Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** n), signal);
      }
    }
  };
  const base = (where: BucketRoute) => where.url.pathname.replace(/\/$/, '');

  const get: S3Get = async (bucket, key, options) => {
    const where = await route(bucket);
    if (!where) return throughSdk(bucket, key, options);
    const headers: Record<string, string> = {};
    if (options.ifMatch !== undefined) headers['if-match'] = options.ifMatch;
    if (options.range !== undefined) headers['range'] = options.range;
    const response = await retried(() => once(where, `${base(where)}/${encodeKey(key)}`, {}, headers));
    const etag = response.headers.etag;
    return { etag: Array.isArray(etag) ? etag[0] : etag, body: response };
  };

  const list: S3List = async (bucket, request) => {
    const where = await route(bucket);
    if (!where) return listThroughSdk(bucket, request);
    const query: Record<string, string> = { 'list-type': '2', prefix: request.prefix };
    if (request.delimiter !== undefined) query['delimiter'] = request.delimiter;
    if (request.continuationToken !== undefined) query['continuation-token'] = request.continuationToken;
    // The body is part of the attempt: a listing cut mid-answer is asked for again.
    const xml = await retried(async () => {
      const response = await once(where, `${base(where)}/`, query, {});
      const chunks: Buffer[] = [];
      try {
        for await (const chunk of response) chunks.push(chunk as Buffer);
      } catch (err) {
        throw new S3RequestError('ListingCut', `the listing's answer was cut: ${(err as Error).message}`, undefined, {
          cause: err,
        });
      }
      return Buffer.concat(chunks).toString('utf8');
    });
    return parseListing(xml);
  };

  /** Through the SDK, for a bucket whose endpoint asks for another auth scheme. */
  const listThroughSdk = async (bucket: string, request: S3ListRequest): Promise<S3ListPage> => {
    const page = await client.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: request.prefix,
        Delimiter: request.delimiter,
        ContinuationToken: request.continuationToken,
      }),
    );
    return {
      contents: (page.Contents ?? [])
        .filter((o) => o.Key !== undefined)
        .map((o) => ({
          key: o.Key as string,
          size: o.Size ?? 0,
          etag: o.ETag,
          lastModified: o.LastModified?.toISOString(),
        })),
      commonPrefixes: (page.CommonPrefixes ?? []).flatMap((p) => (p.Prefix === undefined ? [] : [p.Prefix])),
      isTruncated: page.IsTruncated ?? false,
      nextContinuationToken: page.NextContinuationToken,
    };
  };

  return { get, list };
}

/** The text of an XML element's content, entities decoded. */
function xmlText(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (_, e: string) =>
    e[0] === '#'
      ? String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : Number(e.slice(1)))
      : (({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" } as Record<string, string>)[e] as string),
  );
}

/**
 * An element's text, copied out of the page: a match is a slice that keeps
 * the whole page's XML alive as long as the key is (385 pages of ~350 KB
 * behind a listing of 385k keys).
 */
const tag = (xml: string, name: string): string | undefined => {
  const m = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml);
  return m ? flat(xmlText(m[1] as string)) : undefined;
};
const flat = (s: string) => Buffer.from(s, 'utf8').toString('utf8');

/**
 * A ListObjectsV2 answer (ListBucketResult), read with regular expressions:
 * its elements hold text only. The SDK's schema-driven XML parsing cost about
 * 0.1 ms of CPU per key listed (a CPU profile of 20k keys): 40 s for 385k keys.
 */
export function parseListing(xml: string): S3ListPage {
  if (!/<ListBucketResult[\s>]/.test(xml))
    throw new S3RequestError('InvalidListing', 'the listing answer is not a ListBucketResult', undefined);
  const contents: S3ListPage['contents'][number][] = [];
  for (const m of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
    const c = m[1] as string;
    const key = tag(c, 'Key');
    if (key === undefined) continue;
    const modified = tag(c, 'LastModified');
    contents.push({
      key,
      size: Number(tag(c, 'Size') ?? 0),
      etag: tag(c, 'ETag'),
      lastModified: modified === undefined ? undefined : new Date(modified).toISOString(),
    });
  }
  const commonPrefixes: string[] = [];
  for (const m of xml.matchAll(/<CommonPrefixes>([\s\S]*?)<\/CommonPrefixes>/g)) {
    const p = tag(m[1] as string, 'Prefix');
    if (p !== undefined) commonPrefixes.push(p);
  }
  // The page's own elements, outside Contents and CommonPrefixes (whose children have other names).
  return {
    contents,
    commonPrefixes,
    isTruncated: tag(xml, 'IsTruncated') === 'true',
    nextContinuationToken: tag(xml, 'NextContinuationToken'),
  };
}
