/**
 * What every command shares: the common options, reading settings, and the
 * error boundary that turns an error into one clear message and an exit code.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Argv } from 'yargs';
import { loadConfig, type Config } from '../lib/config.ts';
import { readEnvironment } from '../lib/env-file.ts';
import { EXIT, InputError, WarehouseError, describeProblem } from '../lib/errors.ts';
import { createLogger, type Logger } from '../lib/log.ts';
import { redact } from '../lib/redact.ts';

export const PROJECT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const DEFAULT_ENV_FILE = '.env';

export interface CommonArgs {
  envFile: string;
  verbose: boolean;
  quiet: boolean;
}

export function commonOptions<T>(y: Argv<T>): Argv<T & CommonArgs> {
  return y
    .option('env-file', { type: 'string', default: DEFAULT_ENV_FILE, describe: 'Settings file read before the environment (values in the environment win)' })
    .option('verbose', { type: 'boolean', default: false, describe: 'Log every SQL statement (secrets redacted)' })
    .option('quiet', { type: 'boolean', default: false, describe: 'Log warnings and errors only' }) as unknown as Argv<T & CommonArgs>;
}

export function setup(args: CommonArgs): { config: Config; log: Logger } {
  const log = createLogger({ verbose: args.verbose, quiet: args.quiet });
  // The default .env may be absent; a file named with --env-file must exist.
  const env = readEnvironment(path.resolve(args.envFile), process.env, { required: args.envFile !== DEFAULT_ENV_FILE });
  return { config: loadConfig(env), log };
}

/** Prints a result line to stdout (results pipe; logs go to stderr). */
export function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

export function exitCodeOf(err: unknown): number {
  if (err instanceof WarehouseError) return err.exitCode;
  return EXIT.failure;
}

/** Runs a command body; on error prints one message (no stack unless --verbose) and sets the exit code. */
export async function runCommand(args: { verbose?: boolean }, body: () => Promise<void | number>): Promise<void> {
  try {
    const code = await body();
    process.exitCode = typeof code === 'number' ? code : EXIT.ok;
  } catch (err) {
    process.exitCode = exitCodeOf(err);
    process.stderr.write(`${redact(formatError(err, Boolean(args.verbose)))}\n`);
  }
}

export function formatError(err: unknown, verbose: boolean): string {
  if (!(err instanceof Error)) return `error: ${String(err)}`;
  let text = `error: ${err.message}`;
  if (err instanceof InputError && err.problems.length > 1) {
    text += `\n${err.problems.slice(0, 20).map((p) => `  ${describeProblem(p)}`).join('\n')}`;
  }
  const pgError = err as { code?: string; detail?: string; hint?: string };
  if (pgError.detail) text += `\n  detail: ${pgError.detail}`;
  if (pgError.hint) text += `\n  hint: ${pgError.hint}`;
  if (verbose && err.stack && !(err instanceof WarehouseError)) text += `\n${err.stack}`;
  return text;
}
