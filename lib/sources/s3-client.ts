/**
 * The S3 client for reading sources on PostgreSQL (Redshift's COPY reads S3
 * itself). Honours the standard AWS settings: AWS_REGION, the default
 * credential chain, and AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL for
 * S3-compatible stores (which then get path-style addressing).
 */
import { S3Client } from '@aws-sdk/client-s3';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';

export function createS3Client(region: string, env: NodeJS.ProcessEnv = process.env): S3Client {
  const endpoint = env['AWS_ENDPOINT_URL_S3'] ?? env['AWS_ENDPOINT_URL'];
  return new S3Client({
    region,
    credentials: fromNodeProviderChain(),
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
    maxAttempts: 5,
  });
}
