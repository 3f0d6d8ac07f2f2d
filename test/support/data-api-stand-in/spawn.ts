/**
 * The Data API stand-in (scripts/dev/data-api-stand-in.ts) as a child
 * process on the PostgreSQL server at `postgresUrl`: resolves once it prints
 * its endpoint. Shared by the tests (test/helpers/data-api.ts) and the bench
 * (scripts/dev/bench.ts).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { PROJECT_DIR } from '../spawn-cli.ts';

export interface SpawnedStandIn {
  readonly endpoint: string;
  /** SIGTERM, and waits for the exit. */
  close(): Promise<void>;
  /** SIGKILL, and waits for the exit: every call after it finds nothing listening. */
  kill(): Promise<void>;
}

/** `env`: the S3 endpoint and credentials its COPY reads with (and anything else the child needs); `args`: its flags. */
export async function spawnDataApiStandIn(
  postgresUrl: string,
  env: Record<string, string>,
  args: readonly string[] = [],
): Promise<SpawnedStandIn> {
  const child = spawn(
    process.execPath,
    ['--import=tsx', '--openssl-legacy-provider', path.join(PROJECT_DIR, 'scripts/dev/data-api-stand-in.ts'), ...args],
    {
      cwd: PROJECT_DIR,
      env: {
        PATH: process.env['PATH'],
        HOME: process.env['HOME'],
        TMPDIR: process.env['TMPDIR'],
        STAND_IN_POSTGRES_URL: postgresUrl,
        ...env,
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
  const stop = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  };
  return { endpoint, close: () => stop('SIGTERM'), kill: () => stop('SIGKILL') };
}
