/**
 * What every command shares: the common options, the source-override
 * options, reading settings, and the error boundary that turns an error into
 * one clear message and an exit code. The process is one run: its secrets
 * registry masks every log line, error and redacted result.
 */
import { existsSync } from 'node:fs';
import { readIfExists } from '../../lib/config/optional-file.ts';
import { DEFAULT_TARGETS_FILE, targetSettings } from '../../lib/config/targets.ts';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Argv } from 'yargs';
import { createInterface } from 'node:readline/promises';
import {
  describeTarget,
  loadConfig,
  withSchema,
  withSources,
  withoutEmbedded,
  type Config,
} from '../../lib/config/config.ts';
import type { RunContext } from '../../lib/load/run-record.ts';
import { toolVersion } from '../../lib/version.ts';
import { parseDwhCfg } from '../../lib/config/dwh-cfg.ts';
import { readEnvFile } from '../../lib/config/env-file.ts';
import { layerSettings, type SettingsFile } from '../../lib/config/settings-files.ts';
import { ConfigError, EXIT, InputError, SqlError, WarehouseError, describeProblem } from '../../lib/errors.ts';
import { faultPointsFrom, type FaultPoints } from '../../lib/fault-points.ts';
import { createLogger, type Logger } from '../../lib/log.ts';
import { printable } from '../../lib/printable.ts';
import { Secrets } from '../../lib/redact.ts';
import { warnAboutNpmBanner } from './npm-run.ts';

export const PROJECT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** This run's secrets: registered by the settings and by whatever learns one later (through the logger). */
const secrets = new Secrets();

/** Masks this run's secrets (and anything that looks like a credential) in a text to print. */
export const redact = (text: string): string => secrets.redact(text);

export interface CommonArgs {
  envFile: string;
  /** A dwh.cfg (--config); default SPARKIFY_CONFIG. */
  config?: string | undefined;
  /** The warehouse schema (--schema); default WAREHOUSE_SCHEMA. */
  schema?: string | undefined;
  /** A named target (--target); default SPARKIFY_TARGET (lib/config/targets.ts). */
  target?: string | undefined;
  verbose: boolean;
  quiet: boolean;
  /** text (default) or json: one JSON object per log line on stderr. */
  logFormat?: 'text' | 'json' | undefined;
}

const DEFAULT_ENV_FILE = '.env';
/** A dwh.cfg in the working folder is read without --config (Flyway and dbt find theirs there too). */
const WORKING_FOLDER_CFG = 'dwh.cfg';

export function commonOptions<T>(y: Argv<T>): Argv<T & CommonArgs> {
  return y
    .option('env-file', {
      type: 'string',
      default: DEFAULT_ENV_FILE,
      describe: 'Settings file read before the environment (values in the environment win)',
    })
    .option('config', {
      type: 'string',
      describe:
        "A dwh.cfg as the seed projects write it ([CLUSTER], [IAM_ROLE], [S3], [AWS], [DWH]); default: SPARKIFY_CONFIG. Values in the environment win over it, its values over .env's",
    })
    .option('target', {
      type: 'string',
      describe: `A named target: the [target.NAME] section of ${DEFAULT_TARGETS_FILE} in the working folder (or of SPARKIFY_TARGETS_FILE); default: SPARKIFY_TARGET`,
    })
    .option('log-format', {
      choices: ['text', 'json'] as const,
      default: 'text' as const,
      describe: 'json: each log line on stderr as one JSON object (level, message, time)',
    })
    .option('schema', {
      type: 'string',
      describe:
        'The schema of every table the tool creates, reads and writes (default: WAREHOUSE_SCHEMA, else public); migrate up creates it',
    })
    .option('verbose', { type: 'boolean', default: false, describe: 'Log every SQL statement (secrets redacted)' })
    .option('quiet', { type: 'boolean', default: false, describe: 'Log warnings and errors only' }) as unknown as Argv<
    T & CommonArgs
  >;
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
    .option('log-jsonpath', {
      type: 'string',
      describe: "overrides LOG_JSONPATH (a file, 'auto' or 'auto ignorecase')",
    })
    .option('song-data', { type: 'string', describe: 'overrides SONG_DATA' }) as unknown as Argv<T & SourceArgs>;
}

/** --lineage-file (load, start): where the run's OpenLineage events are appended. */
export interface LineageArgs {
  lineageFile?: string;
}

export function lineageOptions<T>(y: Argv<T>): Argv<T & LineageArgs> {
  return y
    .option('lineage-file', {
      type: 'string',
      describe:
        "append the run's OpenLineage events (START, then COMPLETE, FAIL or ABORT) to this JSON Lines file; OPENLINEAGE_URL sends them over HTTP (docs/sources.md#lineage)",
    })
    .check((a) => {
      if ((a as LineageArgs).lineageFile === '') throw new Error('--lineage-file: a file name');
      return true;
    }) as unknown as Argv<T & LineageArgs>;
}

export function withSourceFlags(config: Config, args: SourceArgs): Config {
  return withSources(config, { logData: args.logData, logJsonPath: args.logJsonpath, songData: args.songData });
}

const nonEmpty = (v: string | undefined) => (v === undefined || v.trim() === '' ? undefined : v.trim());

/** The dwh.cfg this run read, if any. */
interface ConfigFileRead {
  readonly file: string;
  /** Its [CLUSTER] HOST is empty or missing. */
  readonly hostMissing: boolean;
}

/** Files the command is about to write, so they need not exist yet: the env file, a dwh.cfg (its path). */
export interface Writes {
  readonly envFile?: boolean;
  readonly configFile?: string | undefined;
}

/**
 * Puts the settings files into process.env, before any client exists, never
 * replacing a variable the environment sets (lib/config/settings-files.ts):
 * from then on pg (PGSSLMODE, …), the AWS SDK (AWS_ENDPOINT_URL_S3,
 * AWS_PROFILE, AWS_ACCESS_KEY_ID, …) and loadConfig all see the same
 * settings. Safe to call again: what it added is then the environment. The
 * default .env may be absent; a file named with --env-file or --config must
 * exist, unless the command is about to write it.
 */
function loadSettingsFiles(args: CommonArgs, log: Logger, writes: Writes = {}): ConfigFileRead | undefined {
  const fromEnvFile = readEnvFile(path.resolve(args.envFile), {
    required: args.envFile !== DEFAULT_ENV_FILE && !writes.envFile,
    shownAs: args.envFile,
  });
  const files: SettingsFile[] = [];
  const target = selectedTarget(args, fromEnvFile);
  if (target) files.push(target);
  const named = args.config !== undefined ? { file: args.config, by: '--config' } : undefined;
  const fromSetting = nonEmpty(process.env['SPARKIFY_CONFIG']) ?? nonEmpty(fromEnvFile['SPARKIFY_CONFIG']);
  let origin = named ?? (fromSetting ? { file: fromSetting, by: 'SPARKIFY_CONFIG' } : undefined);
  if (!origin && !target && existsSync(path.resolve(WORKING_FOLDER_CFG))) {
    origin = { file: WORKING_FOLDER_CFG, by: 'the working folder' };
    log.info(
      `Reading ${path.resolve(WORKING_FOLDER_CFG)} (a dwh.cfg in the working folder; --config or SPARKIFY_CONFIG names another, the environment and .env fill in what it leaves out).`,
    );
  }
  let read: ConfigFileRead | undefined;
  if (origin) {
    const written = writes.configFile !== undefined && path.resolve(writes.configFile) === path.resolve(origin.file);
    const text = readIfExists(path.resolve(origin.file), origin.file) ?? (written ? '' : undefined);
    if (text === undefined) throw new ConfigError([`${origin.by} ${printable(origin.file)}: no such file`]);
    const cfg = parseDwhCfg(text, printable(origin.file));
    for (const w of cfg.warnings) log.warn(w);
    files.push({ file: origin.file, settings: cfg.settings });
    read = { file: origin.file, hostMissing: cfg.hostMissing };
  }
  files.push({ file: args.envFile, settings: fromEnvFile });
  const { add, notes } = layerSettings(process.env, files);
  for (const note of notes) log.warn(note);
  Object.assign(process.env, add);
  if (target) {
    targetInUse = target.name;
    log.info(`Target ${target.name} (${target.file}).`);
  }
  return read;
}

/** The named target's settings file (--target, else SPARKIFY_TARGET from the environment or .env), or undefined when none is selected. */
function selectedTarget(
  args: CommonArgs,
  fromEnvFile: Readonly<Record<string, string>>,
): (SettingsFile & { name: string }) | undefined {
  const name =
    nonEmpty(args.target) ?? nonEmpty(process.env['SPARKIFY_TARGET']) ?? nonEmpty(fromEnvFile['SPARKIFY_TARGET']);
  if (!name) return undefined;
  const by = args.target !== undefined ? '--target' : 'SPARKIFY_TARGET';
  const file =
    nonEmpty(process.env['SPARKIFY_TARGETS_FILE']) ??
    nonEmpty(fromEnvFile['SPARKIFY_TARGETS_FILE']) ??
    DEFAULT_TARGETS_FILE;
  const text = readIfExists(path.resolve(file), file);
  if (text === undefined)
    throw new ConfigError([
      `${by} ${printable(name)}: no targets file ${printable(file)} (a [target.${printable(name)}] section there names the warehouse; see SPARKIFY_TARGETS_FILE)`,
    ]);
  return { file: `${file} [target.${name}]`, name, settings: targetSettings(text, printable(file), name) };
}

let targetInUse: string | undefined;

/** The environment as the settings see it, once the settings files are in it. */
export function environment(
  args: CommonArgs,
  log: Logger,
  writes: Writes = {},
): Readonly<Record<string, string | undefined>> {
  loadSettingsFiles(args, log, writes);
  return process.env;
}

export function createRunLogger(args: CommonArgs): Logger {
  return createLogger({ verbose: args.verbose, quiet: args.quiet, secrets, format: args.logFormat });
}

export function setup(args: CommonArgs): { config: Config; log: Logger; faults: FaultPoints } {
  const log = createRunLogger(args);
  const cfg = loadSettingsFiles(args, log);
  let config = withSchema(loadConfig(process.env), args.schema);
  if (targetInUse) config = Object.freeze({ ...config, targetName: targetInUse });
  secrets.add(...config.secrets);
  if (cfg?.hostMissing) {
    config = withoutEmbedded(
      config,
      `${cfg.file} names no warehouse ([CLUSTER] HOST is empty or missing) and neither DATABASE_URL nor PGHOST is set, so the local embedded PostgreSQL would stand in for it: fill in HOST (\`npm run cluster -- create --write-config ${cfg.file}\` does), or leave out --config / SPARKIFY_CONFIG to use the embedded PostgreSQL`,
    );
  }
  return { config, log, faults: faultPointsFrom(process.env) };
}

let stdoutClosed = false;

/**
 * A reader that stops early (`… | head -3`) closes the pipe: the next write
 * fails with EPIPE, emitted on the stream. That is no failure of the command:
 * printing stops, the command ends as it would (its connections closed and the
 * embedded PostgreSQL's lease given back) and exits 0, as `git log | head` does.
 * The same for stderr (`2>&1 | head`). Called once, by scripts/cli.ts.
 */
export function tolerateClosedPipes(): void {
  const closed = (stream: NodeJS.WriteStream, onClosed: () => void) =>
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') onClosed();
      else throw err;
    });
  closed(process.stdout, () => (stdoutClosed = true));
  closed(process.stderr, () => undefined);
}

/** Resolves once everything written to `stream` so far has reached the reader (or the reader has gone). */
function written(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed || !stream.writable) return resolve();
    // Writes complete in order: the callback of an empty write runs once every earlier write has.
    stream.write('', () => resolve());
  });
}

/**
 * Exits with `code` once stdout and stderr are written out. On a pipe the
 * writes are asynchronous: process.exit with writes still queued (a reader
 * slower than the command) cut stdout at 64 KiB and still exited 0. Every way
 * out of scripts/cli.ts goes through here.
 */
export async function exitWhenWritten(code: number): Promise<never> {
  process.exitCode = code;
  await Promise.all([written(process.stdout), written(process.stderr)]);
  process.exit(code);
}

/**
 * Asks before a step that deletes data (--full-refresh, migrate down --all,
 * --replace-existing): true when the user typed yes, or gave --yes. Not at a
 * terminal (a script, CI), --yes is required: `withoutTerminal` says so.
 */
export async function confirmAction(question: string, withoutTerminal: string, yes: boolean): Promise<boolean> {
  if (yes) return true;
  if (!process.stdin.isTTY) throw new ConfigError([withoutTerminal]);
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await rl.question(`${question} Type yes to confirm: `);
  rl.close();
  return answer.trim().toLowerCase() === 'yes';
}

/** load --full-refresh and start --full-refresh ask first. */
export function confirmFullRefresh(where: string, yes: boolean): Promise<boolean> {
  return confirmAction(
    `--full-refresh empties every star table and the ledger of ${where}, then loads only these sources?`,
    '--full-refresh empties every star table before loading: add --yes to confirm when not at a terminal',
    yes,
  );
}

/** What a load ran with, for its record and `--format json` (lib/load/run-record.ts RunContext). */
export function runContext(config: Config, fullRefresh = false): RunContext {
  return {
    version: toolVersion(),
    target: describeTarget(config),
    targetName: config.targetName ?? null,
    sources: { ...config.sources },
    fullRefresh,
  };
}

/** Prints a result line to stdout (results pipe; logs go to stderr). */
export function print(text: string): void {
  if (stdoutClosed) return;
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

/**
 * `--format table|json|csv`, one vocabulary for every command that prints a
 * result (docs/operations.md, Machine-readable output): table for people, json as exactly
 * one JSON document, csv (where the result is one table) for a spreadsheet.
 * `text`, this option's older name for table, is still taken.
 */
export type ResultFormat = 'table' | 'json' | 'csv';

export interface FormatArgs {
  /** Optional for callers that build the arguments themselves (tests): table. */
  format?: ResultFormat;
}

export function formatOption<T>(y: Argv<T>, json: string, csv?: string): Argv<T & FormatArgs> {
  const choices = csv ? (['table', 'json', 'csv', 'text'] as const) : (['table', 'json', 'text'] as const);
  return y.option('format', {
    choices,
    default: 'table' as const,
    coerce: (f: string) => (f === 'text' ? 'table' : f),
    describe: `table: for people; json: ${json}, as exactly one JSON document on stdout${csv ? `; csv: ${csv}` : ''}`,
  }) as unknown as Argv<T & FormatArgs>;
}

let jsonPrinted = false;

/** The one JSON document of a `--format json` run, with secrets masked in each string (so the JSON stays valid). */
export function printJson(value: unknown): void {
  jsonPrinted = true;
  warnAboutNpmBanner(createLogger({ secrets }), 'the JSON document');
  print(JSON.stringify(value, (_key, v: unknown) => (typeof v === 'string' ? redact(v) : v), 2));
}

export function exitCodeOf(err: unknown): number {
  if (err instanceof WarehouseError) return err.exitCode;
  return EXIT.failure;
}

/** Runs a command body; on error prints one message (no stack unless --verbose) and sets the exit code. */
export async function runCommand(
  args: { verbose?: boolean; format?: string; logFormat?: string },
  body: () => Promise<void | number>,
): Promise<void> {
  try {
    const code = await body();
    process.exitCode = typeof code === 'number' ? code : EXIT.ok;
  } catch (err) {
    process.exitCode = exitCodeOf(err);
    const text = redact(formatError(err, Boolean(args.verbose)));
    process.stderr.write(
      args.logFormat === 'json'
        ? `${JSON.stringify({ time: new Date().toISOString(), level: 'error', message: text.replace(/^error: /, ''), exitCode: process.exitCode })}\n`
        : `${text}\n`,
    );
    // --format json: stdout is one JSON document, whatever happened.
    if (args.format === 'json' && !jsonPrinted) printJson({ error: errorJson(err, process.exitCode) });
  }
}

/** The `error` object of a `--format json` document: a refused statement names its step, file and SQLSTATE. */
export function errorJson(err: unknown, exitCode: number): Record<string, unknown> {
  const message = err instanceof Error ? err.message : String(err);
  if (!(err instanceof SqlError)) return { message, exitCode };
  return {
    message,
    exitCode,
    step: err.step,
    file: err.file ?? null,
    sqlstate: err.sqlstate ?? null,
    position: err.position ?? null,
    statement: err.statement,
    serverMessage: err.serverMessage,
    why: err.why ?? null,
  };
}

export function formatError(err: unknown, verbose: boolean): string {
  if (!(err instanceof Error)) return `error: ${String(err)}`;
  let text = `error: ${err.message}`;
  if (err instanceof InputError && err.problems.length > 1) {
    text += `\n${err.problems
      .slice(0, 20)
      .map((p) => `  ${describeProblem(p)}`)
      .join('\n')}`;
  }
  const pgError = err as { code?: string; detail?: string; hint?: string };
  if (pgError.detail) text += `\n  detail: ${pgError.detail}`;
  if (pgError.hint) text += `\n  hint: ${pgError.hint}`;
  if (verbose && err.stack && !(err instanceof WarehouseError)) text += `\n${err.stack}`;
  return text;
}
