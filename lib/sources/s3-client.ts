/**
 * The S3 client for reading sources on PostgreSQL (Redshift's COPY reads S3
 * itself). Honours the standard AWS settings: AWS_REGION, the default
 * credential chain, and AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL for
 * S3-compatible stores (which then get path-style addressing). Connections
 * are kept alive and pooled, up to `maxSockets` per host (the SDK's default is
 * 50), so that many small GETs in flight do not each pay a TCP/TLS handshake.
 */
import http from 'node:http';
import https from 'node:https';
import { S3Client } from '@aws-sdk/client-s3';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';

export function createS3Client(
  region: string,
  env: NodeJS.ProcessEnv = process.env,
  maxSockets = 50,
  options: { readonly checksumWhenRequired?: boolean } = {},
): S3Client {
  const endpoint = env['AWS_ENDPOINT_URL_S3'] ?? env['AWS_ENDPOINT_URL'];
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
    requestHandler: {
      httpAgent: new http.Agent({ keepAlive: true, maxSockets }),
      httpsAgent: new https.Agent({ keepAlive: true, maxSockets }),
    },
  });
}
