/**
 * The S3 client for reading sources on PostgreSQL (Redshift's COPY reads S3
 * itself). Honours the standard AWS settings: AWS_REGION, the default
 * credential chain, and AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL for
 * S3-compatible stores (which then get path-style addressing). Connections
 * are kept alive and pooled, up to `maxSockets` per host (the SDK's default is
 * 50), so that many small GETs in flight do not each pay a TCP/TLS handshake.
 *
 * Every request has bounds (lib/config/transport.ts): a connection not made
 * in S3_CONNECT_TIMEOUT_SECONDS, or a request or body that receives nothing
 * for S3_IDLE_TIMEOUT_SECONDS, fails with a TimeoutError (which the SDK
 * retries). The run's AbortSignal (a first SIGINT or SIGTERM) is handed to
 * every request at the HTTP layer, so a signal ends every GET and listing in
 * flight at once.
 */
import http from 'node:http';
import https from 'node:https';
import { S3Client } from '@aws-sdk/client-s3';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import type { Readable } from 'node:stream';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { DEFAULT_TRANSPORT, type TransportSettings } from '../config/transport.ts';
import { AbortFanout } from './abort-fanout.ts';

type HandlerOptions = Parameters<NodeHttpHandler['handle']>[1];

/**
 * The SDK's Node HTTP handler with one AbortSignal given to every request.
 * The signal is not passed per call (`client.send(command, { abortSignal })`):
 * any per-call option makes the SDK resolve the middleware stack again on
 * every send (see `cacheMiddleware` below). Each request gets a signal of its
 * own, aborted through one listener on the run's signal (AbortFanout): the
 * handler listens on the signal it is given until the request closes, and 64
 * GETs in flight on the run's signal itself were 64 listeners on it
 * (MaxListenersExceededWarning).
 */
class AbortingHttpHandler extends NodeHttpHandler {
  private readonly aborts: AbortFanout;
  constructor(options: ConstructorParameters<typeof NodeHttpHandler>[0], signal: AbortSignal | undefined) {
    super(options);
    this.aborts = new AbortFanout(signal);
  }
  override async handle(request: Parameters<NodeHttpHandler['handle']>[0], options: HandlerOptions = {}) {
    const run = this.aborts.signal;
    if (!run || options.abortSignal) return super.handle(request, options);
    if (run.aborted) return super.handle(request, { ...options, abortSignal: run });
    const own = new AbortController();
    const forget = this.aborts.track(() => own.abort(run.reason));
    try {
      const answer = await super.handle(request, { ...options, abortSignal: own.signal });
      // Kept until the body is read or closed: a signal then ends the body too.
      const body = answer.response.body as Readable | undefined;
      if (body && typeof body.once === 'function' && !body.closed) body.once('close', forget);
      else forget();
      return answer;
    } catch (err) {
      forget();
      throw err;
    }
  }
}

export interface S3ClientOptions {
  /** Connections per host (the GETs in flight at once). */
  readonly maxSockets?: number;
  readonly transport?: TransportSettings;
  /** Aborts every request in flight (and every later one) when it fires. */
  readonly signal?: AbortSignal | undefined;
  /** Checksums only where the operation requires one (uploads of a stream: see below). */
  readonly checksumWhenRequired?: boolean;
}

export function createS3Client(
  region: string,
  env: NodeJS.ProcessEnv = process.env,
  options: S3ClientOptions = {},
): S3Client {
  const endpoint = env['AWS_ENDPOINT_URL_S3'] ?? env['AWS_ENDPOINT_URL'];
  const maxSockets = options.maxSockets ?? 50;
  const transport = options.transport ?? DEFAULT_TRANSPORT;
  return new S3Client({
    region,
    credentials: fromNodeProviderChain(),
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
    maxAttempts: 5,
    // Uploads of a stream (lib/stage/redshift/stage-store.ts): with a checksum only when the operation requires
    // one, the body is sent as it is (Content-Length known) instead of aws-chunked with a trailing checksum,
    // which S3-compatible stores such as s3rver store as the object's bytes.
    ...(options.checksumWhenRequired ? { requestChecksumCalculation: 'WHEN_REQUIRED' as const } : {}),
    // One middleware stack per command type, resolved once instead of on every send: the
    // per-request resolving and sorting was the largest CPU cost of 20k small GETs (profile of
    // `npm run bench -- --sizes s3`; docs/performance.md). Commands are sent without per-call options (with
    // them the SDK resolves the stack per call again) and no middleware is added after creation.
    cacheMiddleware: true,
    requestHandler: new AbortingHttpHandler(
      {
        connectionTimeout: transport.s3ConnectTimeoutMs,
        // Inactivity of the socket, while waiting for the answer and while its body streams.
        socketTimeout: transport.s3IdleTimeoutMs,
        httpAgent: new http.Agent({ keepAlive: true, maxSockets }),
        httpsAgent: new https.Agent({ keepAlive: true, maxSockets }),
      },
      options.signal,
    ),
  });
}
