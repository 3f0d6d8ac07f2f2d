/**
 * What every command shares: the common options, the source-override
 * options, reading settings, and the error boundary that turns an error into
 * one clear message and an exit code. The process is one run: its secrets
 * registry masks every log line, error and redacted result.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Argv } from 'yargs';
import { loadConfig, withSources, type Config } from '../../lib/config/config.ts';
import { readEnvironment } from '../../lib/config/env-file.ts';
import { EXIT, InputError, WarehouseError, describeProblem } from '../../lib/errors.ts';
import { faultPointsFrom, type FaultPoints } from '../../lib/fault-points.ts';
import { createLogger, type Logger } from '../../lib/log.ts';
import { Secrets } from '../../lib/redact.ts';

export const PROJECT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** This run's secrets: registered by the settings and by whatever learns one later (through the logger). */
const secrets = new Secrets();

/** Masks this run's secrets (and anything that looks like a credential) in a text to print. */
export const redact = (text: string): string => secrets.redact(text);

export interface CommonArgs {
  envFile: string;
  verbose: boolean;
  quiet: boolean;
}

const DEFAULT_ENV_FILE = '.env';

export function commonOptions<T>(y: Argv<T>): Argv<T & CommonArgs> {
  return y
    .option('env-file', { type: 'string', default: DEFAULT_ENV_FILE, describe: 'Settings file read before the environment (values in the environment win)' })
    .option('verbose', { type: 'boolean', default: false, describe: 'Log every SQL statement (secrets redacted)' })
    .option('quiet', { type: 'boolean', default: false, describe: 'Log warnings and errors only' }) as unknown as Argv<T & CommonArgs>;
}

/** The flags that override the source settings (load, sources). */
export interface SourceArgs {
  logData?: string;
  logJsonpath?: string;
  songData?: string;
}

export function sourceOptions<T>(y: Argv<T>): Argv<T & SourceArgs> {
  return y
    .option('log-data', { type: 'string', describe: 'overrides LOG_DATA' })
    .option('log-jsonpath', { type: 'string', describe: "overrides LOG_JSONPATH (a file, 'auto' or 'auto ignorecase')" })
    .option('song-data', { type: 'string', describe: 'overrides SONG_DATA' }) as unknown as Argv<T & SourceArgs>;
}

export function withSourceFlags(config: Config, args: SourceArgs): Config {
  return withSources(config, { logData: args.logData, logJsonPath: args.logJsonpath, songData: args.songData });
}

/**
 * The environment as the settings see it: the env file's values under the
 * process environment's. The default .env may be absent; a file named with
 * --env-file must exist, unless the command is about to write it (`writes`).
 */
export function environment(args: CommonArgs, options: { writes?: boolean } = {}): Readonly<Record<string, string | undefined>> {
  return readEnvironment(path.resolve(args.envFile), process.env, { required: args.envFile !== DEFAULT_ENV_FILE && !options.writes });
}

export function createRunLogger(args: CommonArgs): Logger {
  return createLogger({ verbose: args.verbose, quiet: args.quiet, secrets });
}

export function setup(args: CommonArgs): { config: Config; log: Logger; faults: FaultPoints } {
  const log = createRunLogger(args);
  const config = loadConfig(environment(args));
  secrets.add(...config.secrets);
  return { config, log, faults: faultPointsFrom(process.env) };
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
