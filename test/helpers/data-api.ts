/**
 * The Redshift Data API stand-in (scripts/dev/data-api-stand-in.ts) started
 * as a child process against the test PostgreSQL, with the S3 endpoint it
 * reads COPY sources from, and the environment that points the tool at it.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { PROJECT_DIR } from './cli.ts';
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
  const child = spawn(
    process.execPath,
    ['--import=tsx', '--openssl-legacy-provider', path.join(PROJECT_DIR, 'scripts/dev/data-api-stand-in.ts'), ...args],
    {
      cwd: PROJECT_DIR,
      env: {
        PATH: process.env['PATH'],
        HOME: process.env['HOME'],
        TMPDIR: process.env['TMPDIR'],
        STAND_IN_POSTGRES_URL: testServerUrl(),
        ...s3.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const endpoint = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /AWS_ENDPOINT_URL_REDSHIFT_DATA=(\S+)/.exec(out);
      if (m) resolve(m[1] as string);
    });
    child.once('exit', (code) => reject(new Error(`the Data API stand-in exited (${code}): ${stderr}`)));
  });
  return {
    endpoint,
    env: (db, envOptions = {}) => ({
      ...s3.env,
      DATABASE_URL: `redshift-data://${envOptions.cluster ? 'cluster:sparkify-cluster' : 'sparkify-wg'}/${db}`,
      AWS_ENDPOINT_URL_REDSHIFT_DATA: endpoint,
      IAM_ROLE_ARN: 'arn:aws:iam::123456789012:role/sparkify-redshift-s3-read',
    }),
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    },
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
