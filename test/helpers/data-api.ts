/**
 * The Redshift Data API stand-in (scripts/dev/data-api-stand-in.ts) started
 * as a child process against the test PostgreSQL, with the S3 endpoint it
 * reads COPY sources from, and the environment that points the tool at it.
 */
import { spawnDataApiStandIn } from '../support/data-api-stand-in/spawn.ts';
import { testServerUrl } from './database.ts';
import type { TestS3 } from './s3.ts';

export interface DataApiStandIn {
  readonly endpoint: string;
  /** The settings of a CLI run through it, on database `db` (a workgroup; `cluster: true` for a provisioned cluster). */
  env(db: string, options?: { readonly cluster?: boolean }): Record<string, string>;
  close(): Promise<void>;
  /** Kills the stand-in outright (SIGKILL): every call after it finds nothing listening. */
  kill(): Promise<void>;
}

export async function startDataApiStandIn(
  s3: Pick<TestS3, 'env'>,
  options: { readonly pageRows?: number; readonly lastCopyIdReading?: 'updated' | 'not-updated' } = {},
): Promise<DataApiStandIn> {
  const args = [
    '--page-rows',
    String(options.pageRows ?? 1000),
    '--last-copy-id-reading',
    options.lastCopyIdReading ?? 'not-updated',
  ];
  const standIn = await spawnDataApiStandIn(testServerUrl(), s3.env, args);
  const { endpoint } = standIn;
  return {
    endpoint,
    env: (db, envOptions = {}) => ({
      ...s3.env,
      DATABASE_URL: `redshift-data://${envOptions.cluster ? 'cluster:sparkify-cluster' : 'sparkify-wg'}/${db}`,
      AWS_ENDPOINT_URL_REDSHIFT_DATA: endpoint,
      IAM_ROLE_ARN: 'arn:aws:iam::123456789012:role/sparkify-redshift-s3-read',
    }),
    kill: standIn.kill,
    close: standIn.close,
  };
}
