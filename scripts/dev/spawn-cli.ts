/**
 * Starts the real command line as a child process: the one way the tests and
 * the benchmark run it (today the TypeScript entry point under tsx). The
 * settings come only from `env`: `--env-file=/dev/null` keeps a developer's
 * .env out of it, unless `envFile` names the settings file to read instead.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

export const PROJECT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export function spawnCli(args: readonly string[], env: Record<string, string | undefined>, options: { envFile?: string } = {}): ChildProcessByStdio<null, Readable, Readable> {
  return spawn(process.execPath, ['--import=tsx', path.join(PROJECT_DIR, 'scripts', 'cli.ts'), ...args, `--env-file=${options.envFile ?? '/dev/null'}`], {
    cwd: PROJECT_DIR,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}
