/**
 * Starts the real command line as a child process: the one way the tests and
 * the benchmark run it, compiled (dist/scripts/cli.js, what the npm scripts
 * and the `sparkify-warehouse` bin run). The build is brought up to date
 * first when any source is newer than it (ensureBuilt), so a test never runs
 * yesterday's code. The settings come only from `env`: `--env-file=/dev/null`
 * keeps a developer's .env out of it, unless `envFile` names the settings
 * file to read instead.
 */
import { execFileSync, spawn, type ChildProcessByStdio } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

export const PROJECT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The compiled entry point (package.json `bin`). */
export const CLI_ENTRY = path.join(PROJECT_DIR, 'dist', 'scripts', 'cli.js');
/** Written by scripts/build.mjs when a build completes. */
const BUILD_STAMP = path.join(PROJECT_DIR, 'dist', '.build-stamp');
/** What the build reads (tsconfig.build.json, scripts/build.mjs). */
const BUILD_INPUTS = [
  'lib',
  'loaders',
  'migrations',
  'scripts/commands',
  'scripts/cli.ts',
  'scripts/api.ts',
  'scripts/build.mjs',
  'tsconfig.json',
  'tsconfig.build.json',
];

/** The newest modification time under the build's inputs (folders too: a deleted file changes its folder). */
function newestInput(): number {
  let newest = 0;
  const visit = (p: string) => {
    const s = statSync(p);
    newest = Math.max(newest, s.mtimeMs);
    if (s.isDirectory()) for (const name of readdirSync(p)) visit(path.join(p, name));
  };
  for (const input of BUILD_INPUTS) visit(path.join(PROJECT_DIR, input));
  return newest;
}

let built = false;

/** Runs `npm run build` (scripts/build.mjs) unless dist/ is newer than every source; once per process. */
export function ensureBuilt(): void {
  if (built) return;
  if (!existsSync(BUILD_STAMP) || statSync(BUILD_STAMP).mtimeMs < newestInput()) {
    process.stderr.write('Building the command line (dist/ is older than the source)…\n');
    execFileSync(process.execPath, [path.join(PROJECT_DIR, 'scripts', 'build.mjs')], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
  }
  built = true;
}

/** The command and arguments that run the compiled command line with `args` (for a spawn of one's own). */
export function cliCommand(
  args: readonly string[],
  options: { envFile?: string; nodeArgs?: readonly string[] } = {},
): [string, string[]] {
  ensureBuilt();
  return [
    process.execPath,
    [...(options.nodeArgs ?? []), CLI_ENTRY, ...args, `--env-file=${options.envFile ?? '/dev/null'}`],
  ];
}

export function spawnCli(
  args: readonly string[],
  env: Record<string, string | undefined>,
  /** envFile: the settings file to read; nodeArgs: node's own flags (the bench's --cpu-prof). */
  options: { envFile?: string; nodeArgs?: readonly string[] } = {},
): ChildProcessByStdio<null, Readable, Readable> {
  const [command, argv] = cliCommand(args, options);
  return spawn(command, argv, { cwd: PROJECT_DIR, env, stdio: ['ignore', 'pipe', 'pipe'] });
}
