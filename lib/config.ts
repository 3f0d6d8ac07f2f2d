/**
 * Settings: the only module that interprets environment variables. A pure
 * function of the environment it is given; it reports every problem at once,
 * naming the variable.
 */
import path from 'node:path';
import { ConfigError } from './errors.ts';
import { registerSecret } from './redact.ts';
import { checkRegion, checkRoleArn, checkS3Uri, isS3Uri } from './validate.ts';

export const DEFAULT_SOURCES = {
  logData: 's3://udacity-dend/log_data',
  logJsonPath: 's3://udacity-dend/log_json_path.json',
  songData: 's3://udacity-dend/song_data',
} as const;

export const DEFAULT_REGION = 'us-west-2';

export type DatabaseSetting =
  | { readonly kind: 'url'; readonly url: string }
  | {
      readonly kind: 'pg-env';
      readonly host: string;
      readonly port: number;
      readonly user?: string | undefined;
      readonly password?: string | undefined;
      readonly database?: string | undefined;
    }
  | { readonly kind: 'embedded'; readonly dir: string };

export interface Sources {
  /** s3://bucket/prefix or a local folder/file. */
  readonly logData: string;
  /** s3://…/jsonpaths.json, a local file, 'auto' or 'auto ignorecase'. */
  readonly logJsonPath: string;
  readonly songData: string;
}

export interface Config {
  readonly database: DatabaseSetting;
  readonly sources: Sources;
  /** Whether each source came from a setting (false: the built-in default). */
  readonly sourcesConfigured: boolean;
  readonly iamRoleArn: string | undefined;
  readonly region: string;
  /** Folder of the embedded PostgreSQL and other local state (git-ignored). */
  readonly warehouseDir: string;
}

type Env = Readonly<Record<string, string | undefined>>;

function setting(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

/** Checks a source setting: an s3:// URI or a local path (existence is checked when loading). */
function checkSource(name: string, value: string, problems: string[], allowAuto: boolean): void {
  if (allowAuto && (value === 'auto' || value === 'auto ignorecase')) return;
  if (isS3Uri(value)) {
    const problem = checkS3Uri(value);
    if (problem) problems.push(`${name}: ${problem}`);
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    problems.push(`${name}: only s3:// URIs and local paths are supported, got '${value}'`);
  }
}

export function loadConfig(env: Env, projectDir: string = process.cwd()): Config {
  const problems: string[] = [];

  let database: DatabaseSetting;
  const url = setting(env, 'DATABASE_URL');
  if (url) {
    // Mask its password in every message, whatever else is wrong with it.
    const password = /^[a-z][a-z0-9+.-]*:\/\/[^:/@]*:([^@]*)@/i.exec(url)?.[1];
    if (password) registerSecret(password);
    if (!/^postgres(ql)?:\/\//.test(url)) {
      problems.push('DATABASE_URL: expected a postgres:// or postgresql:// connection URL');
    } else {
      try {
        const parsed = new URL(url);
        registerSecret(decodeURIComponent(parsed.password));
      } catch {
        problems.push('DATABASE_URL: not a valid URL');
      }
    }
    database = { kind: 'url', url };
  } else if (setting(env, 'PGHOST')) {
    const portText = setting(env, 'PGPORT') ?? '5432';
    const port = Number(portText);
    if (!Number.isInteger(port) || port < 1 || port > 65535) problems.push(`PGPORT: expected a port number, got '${portText}'`);
    const password = env['PGPASSWORD'];
    registerSecret(password);
    database = {
      kind: 'pg-env',
      host: setting(env, 'PGHOST') ?? '',
      port,
      user: setting(env, 'PGUSER'),
      password,
      database: setting(env, 'PGDATABASE'),
    };
  } else {
    database = { kind: 'embedded', dir: path.resolve(projectDir, setting(env, 'WAREHOUSE_DIR') ?? '.warehouse') };
  }

  const logData = setting(env, 'LOG_DATA');
  const logJsonPath = setting(env, 'LOG_JSONPATH');
  const songData = setting(env, 'SONG_DATA');
  const sources: Sources = {
    logData: logData ?? DEFAULT_SOURCES.logData,
    logJsonPath: logJsonPath ?? DEFAULT_SOURCES.logJsonPath,
    songData: songData ?? DEFAULT_SOURCES.songData,
  };
  checkSource('LOG_DATA', sources.logData, problems, false);
  checkSource('LOG_JSONPATH', sources.logJsonPath, problems, true);
  checkSource('SONG_DATA', sources.songData, problems, false);

  const iamRoleArn = setting(env, 'IAM_ROLE_ARN');
  if (iamRoleArn) {
    const problem = checkRoleArn(iamRoleArn);
    if (problem) problems.push(`IAM_ROLE_ARN: ${problem}`);
  }
  const region = setting(env, 'AWS_REGION') ?? DEFAULT_REGION;
  const regionProblem = checkRegion(region);
  if (regionProblem) problems.push(`AWS_REGION: ${regionProblem}`);

  registerSecret(env['AWS_SECRET_ACCESS_KEY']);
  registerSecret(env['AWS_SESSION_TOKEN']);

  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({
    database,
    sources: Object.freeze(sources),
    sourcesConfigured: Boolean(logData ?? songData ?? logJsonPath),
    iamRoleArn,
    region,
    warehouseDir: path.resolve(projectDir, setting(env, 'WAREHOUSE_DIR') ?? '.warehouse'),
  });
}

/** Source settings overridden by command-line flags, validated the same way. */
export function withSources(config: Config, overrides: Partial<Sources>): Config {
  const problems: string[] = [];
  const sources: Sources = { ...config.sources, ...definedOnly(overrides) };
  if (overrides.logData) checkSource('--log-data', sources.logData, problems, false);
  if (overrides.logJsonPath) checkSource('--log-jsonpath', sources.logJsonPath, problems, true);
  if (overrides.songData) checkSource('--song-data', sources.songData, problems, false);
  if (problems.length > 0) throw new ConfigError(problems);
  const changed = Object.values(definedOnly(overrides)).length > 0;
  return Object.freeze({ ...config, sources, sourcesConfigured: config.sourcesConfigured || changed });
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== '')) as Partial<T>;
}
