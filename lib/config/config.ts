/**
 * Settings: the only module that interprets environment variables. A pure
 * function of the environment it is given; it reports every problem at once,
 * naming the variable.
 */
import path from 'node:path';
import { ConfigError } from '../errors.ts';
import { Secrets } from '../redact.ts';
import { dataApiSetting, describeDataApi, isDataApiUrl, type DataApiSetting } from './data-api.ts';
import { checkRegion, checkRoleArn, SERVERLESS_NAME } from './aws-names.ts';
import { checkS3Uri, isS3Uri } from './s3-uri.ts';
import { checkSchemaName } from './schema-name.ts';
import { setting } from './setting.ts';
import { transportSettings, type TransportSettings } from './transport.ts';

export const DEFAULT_SOURCES = {
  logData: 's3://udacity-dend/log_data',
  logJsonPath: 's3://udacity-dend/log_json_path.json',
  songData: 's3://udacity-dend/song_data',
} as const;

export const DEFAULT_REGION = 'us-west-2';

/** Where the tool's tables are when WAREHOUSE_SCHEMA is not set. */
export const DEFAULT_SCHEMA = 'public';

/**
 * GETs in flight at once when PostgreSQL staging reads s3:// sources
 * (S3_MAX_CONCURRENCY). Small objects are latency-bound, so objects/s grow
 * with the GETs in flight up to what one thread's AWS SDK sustains; 128 is
 * above that on the 2-core bench machine, and 64 was measurably slower
 * (`npm run bench -- --sizes s3`; figures in docs/performance.md, "S3
 * sources"). Each in-flight object holds only its own bytes.
 */
export const DEFAULT_S3_MAX_CONCURRENCY = 128;

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
  | { readonly kind: 'embedded'; readonly dir: string }
  | DataApiSetting;

export interface Sources {
  /** s3://bucket/prefix or a local folder/file. */
  readonly logData: string;
  /** s3://…/jsonpaths.json, a local file, 'auto' or 'auto ignorecase'. */
  readonly logJsonPath: string;
  readonly songData: string;
}

/** Temporary database credentials from AWS instead of a password (REDSHIFT_IAM_AUTH). */
export type IamAuth =
  | { readonly kind: 'cluster'; readonly clusterId: string; readonly dbUser: string; readonly dbName: string }
  | { readonly kind: 'serverless'; readonly workgroup: string; readonly dbName: string };

export interface Config {
  readonly database: DatabaseSetting;
  readonly iamAuth: IamAuth | undefined;
  readonly sources: Sources;
  /** Whether each source came from a setting (false: the built-in default). */
  readonly sourcesConfigured: boolean;
  readonly iamRoleArn: string | undefined;
  /** s3://bucket/prefix/ where Redshift incremental loads write their COPY manifests. */
  readonly manifestPrefix: string | undefined;
  /** s3://bucket/prefix/ where Redshift compaction writes its chunks (LOAD_STAGE_PREFIX; lib/stage/redshift/compaction.ts). */
  readonly stagePrefix: string | undefined;
  /** REDSHIFT_SLICES: the slices compaction plans chunks for (Serverless; else read from STV_SLICES). */
  readonly slices: number | undefined;
  /** The cluster's (and the Data API's) region: AWS_REGION. */
  readonly region: string;
  /**
   * SOURCE_REGION: the region of the S3 sources, COPY's REGION on Redshift;
   * unset: the source bucket's own region where it can be read, else AWS_REGION
   * (lib/stage/redshift/manifest.ts, copyRegion).
   */
  readonly sourceRegion: string | undefined;
  /** GETs in flight at once when PostgreSQL staging reads s3:// sources (S3_MAX_CONCURRENCY). */
  readonly s3MaxConcurrency: number;
  /** Timeouts and read attempts of S3 and the warehouse connections (lib/config/transport.ts). */
  readonly transport: TransportSettings;
  /** Folder of the embedded PostgreSQL and other local state (git-ignored). */
  readonly warehouseDir: string;
  /** The schema that holds every table the tool creates, reads and writes (WAREHOUSE_SCHEMA, --schema). */
  readonly schema: string;
  /**
   * Why the embedded PostgreSQL must not stand in for the warehouse (a
   * dwh.cfg was given but names no HOST): openDatabase refuses it then.
   */
  readonly noEmbedded: string | undefined;
  /** Secret values found in the settings (passwords, AWS keys): the caller masks them in every output. */
  readonly secrets: readonly string[];
  /** The named target these settings came from (--target, SPARKIFY_TARGET), if any. */
  readonly targetName?: string | undefined;
  /** Where `load` sends its OpenLineage run events over HTTP (lib/lineage/); undefined: nowhere. */
  readonly lineage?: LineageSettings | undefined;
  /** OPENLINEAGE_NAMESPACE: the namespace of the load job in its run events (default sparkify-warehouse). */
  readonly lineageNamespace?: string | undefined;
}

/** The OpenLineage HTTP endpoint: the standard variables of the OpenLineage clients. */
export interface LineageSettings {
  /** OPENLINEAGE_URL: events are POSTed to {url}/{endpoint}. */
  readonly url: string;
  /** OPENLINEAGE_ENDPOINT: default api/v1/lineage. */
  readonly endpoint: string;
  /** OPENLINEAGE_API_KEY: sent as a Bearer token (a secret: never printed). */
  readonly apiKey: string | undefined;
  /** OPENLINEAGE_TIMEOUT_SECONDS: how long one POST may take (default 5). */
  readonly timeoutMs: number;
}

export const DEFAULT_LINEAGE_NAMESPACE = 'sparkify-warehouse';
export const DEFAULT_LINEAGE_TIMEOUT_SECONDS = 5;

const lineageNamespace = (env: Env): string => setting(env, 'OPENLINEAGE_NAMESPACE') ?? DEFAULT_LINEAGE_NAMESPACE;

function lineageSettings(env: Env, problems: string[], registerSecret: (v: string | undefined) => void) {
  const apiKey = setting(env, 'OPENLINEAGE_API_KEY');
  registerSecret(apiKey);
  const url = setting(env, 'OPENLINEAGE_URL');
  const disabled = /^(true|1|yes)$/i.test(setting(env, 'OPENLINEAGE_DISABLED') ?? '');
  if (!url || disabled) return undefined;
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    problems.push('OPENLINEAGE_URL: not a valid URL');
  }
  if (parsed && !/^https?:$/.test(parsed.protocol))
    problems.push(`OPENLINEAGE_URL: expected an http:// or https:// URL, got ${parsed.protocol}//`);
  if (parsed?.password) registerSecret(decodeURIComponent(parsed.password));
  const timeoutText = setting(env, 'OPENLINEAGE_TIMEOUT_SECONDS');
  const timeout = timeoutText === undefined ? DEFAULT_LINEAGE_TIMEOUT_SECONDS : Number(timeoutText);
  if (!(timeout > 0 && timeout <= 300))
    problems.push(`OPENLINEAGE_TIMEOUT_SECONDS: expected seconds from 0 to 300, got '${timeoutText}'`);
  return Object.freeze({
    url: url.replace(/\/+$/, ''),
    endpoint: (setting(env, 'OPENLINEAGE_ENDPOINT') ?? 'api/v1/lineage').replace(/^\/+/, ''),
    apiKey,
    timeoutMs: Math.round(timeout * 1000),
  });
}

type Env = Readonly<Record<string, string | undefined>>;

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
  const secrets: string[] = [];
  const registerSecret = (value: string | undefined) => {
    if (value) secrets.push(value);
  };
  const warehouseDir = path.resolve(projectDir, setting(env, 'WAREHOUSE_DIR') ?? '.warehouse');

  let database: DatabaseSetting;
  const url = setting(env, 'DATABASE_URL');
  // Mask a password in the URL in every message, whatever else is wrong with it (whichever transport it names).
  const urlPassword = url ? /^[a-z][a-z0-9+.-]*:\/\/[^:/@]*:([^@]*)@/i.exec(url)?.[1] : undefined;
  if (urlPassword) {
    registerSecret(urlPassword);
    try {
      registerSecret(decodeURIComponent(urlPassword));
    } catch {
      // not percent-encoded: the raw value is registered
    }
  }
  const dataApi = dataApiSetting(env, url, problems);
  if (dataApi) {
    database = dataApi;
  } else if (url && isDataApiUrl(url)) {
    database = { kind: 'embedded', dir: warehouseDir }; // not used: the problem above is reported
  } else if (url) {
    if (!/^postgres(ql)?:\/\//.test(url)) {
      problems.push(
        'DATABASE_URL: expected a postgres:// or postgresql:// connection URL, or redshift-data://WORKGROUP/DB',
      );
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
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      problems.push(`PGPORT: expected a port number, got '${portText}'`);
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
    database = { kind: 'embedded', dir: warehouseDir };
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
  const sourceRegion = setting(env, 'SOURCE_REGION');
  const sourceRegionProblem = sourceRegion === undefined ? undefined : checkRegion(sourceRegion);
  if (sourceRegionProblem) problems.push(`SOURCE_REGION: ${sourceRegionProblem}`);

  const concurrencyText = setting(env, 'S3_MAX_CONCURRENCY');
  const s3MaxConcurrency = concurrencyText === undefined ? DEFAULT_S3_MAX_CONCURRENCY : Number(concurrencyText);
  if (!/^\d+$/.test(concurrencyText ?? '1') || s3MaxConcurrency < 1 || s3MaxConcurrency > 1024) {
    problems.push(`S3_MAX_CONCURRENCY: expected a whole number from 1 to 1024, got '${concurrencyText}'`);
  }

  const transport = transportSettings(env, problems);

  registerSecret(env['AWS_SECRET_ACCESS_KEY']);
  registerSecret(env['AWS_SESSION_TOKEN']);

  const iamAuth = iamAuthSetting(env, database, problems);
  const manifestPrefix = setting(env, 'LOAD_MANIFEST_PREFIX');
  if (manifestPrefix) {
    const problem = isS3Uri(manifestPrefix) ? checkS3Uri(manifestPrefix) : 'expected s3://bucket/prefix/';
    if (problem) problems.push(`LOAD_MANIFEST_PREFIX: ${problem}`);
  }

  const stagePrefix = setting(env, 'LOAD_STAGE_PREFIX');
  if (stagePrefix) {
    const problem = isS3Uri(stagePrefix) ? checkS3Uri(stagePrefix) : 'expected s3://bucket/prefix/';
    if (problem) problems.push(`LOAD_STAGE_PREFIX: ${problem}`);
  }
  const slicesText = setting(env, 'REDSHIFT_SLICES');
  const slices = slicesText === undefined ? undefined : Number(slicesText);
  if (slicesText !== undefined && (!/^\d+$/.test(slicesText) || Number(slicesText) < 1 || Number(slicesText) > 4096))
    problems.push(`REDSHIFT_SLICES: expected a whole number from 1 to 4096, got '${slicesText}'`);

  const lineage = lineageSettings(env, problems, registerSecret);

  const schema = setting(env, 'WAREHOUSE_SCHEMA') ?? DEFAULT_SCHEMA;
  const schemaProblem = checkSchemaName(schema);
  if (schemaProblem) problems.push(`WAREHOUSE_SCHEMA: ${schemaProblem}`);

  if (problems.length > 0) {
    // A problem may quote a value that holds a secret given in another setting.
    const found = new Secrets();
    found.add(...secrets);
    throw new ConfigError(problems.map((p) => found.redact(p)));
  }
  return Object.freeze({
    database,
    iamAuth,
    sources: Object.freeze(sources),
    sourcesConfigured: Boolean(logData ?? songData ?? logJsonPath),
    iamRoleArn,
    manifestPrefix,
    stagePrefix,
    slices,
    region,
    sourceRegion,
    s3MaxConcurrency,
    transport,
    warehouseDir,
    schema,
    noEmbedded: undefined,
    secrets: Object.freeze(secrets),
    lineage,
    lineageNamespace: lineageNamespace(env),
  });
}

/**
 * Where the warehouse is, for a run's record and `--format json`, with no
 * secret in it: a URL's password is replaced by ***.
 */
export function describeTarget(config: Config): string {
  const d = config.database;
  const schema = config.schema === DEFAULT_SCHEMA ? '' : ` (schema ${config.schema})`;
  switch (d.kind) {
    case 'embedded':
      return `embedded PostgreSQL in ${d.dir}${schema}`;
    case 'url':
      return `${d.url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*):[^@]*@/i, '$1:***@')}${schema}`;
    case 'pg-env':
      return `postgres://${d.user ?? ''}${d.password ? ':***' : ''}@${d.host}:${d.port}/${d.database ?? ''}${schema}`;
    case 'data-api':
      return `${describeDataApi(d)}${schema}`;
    default: {
      const never: never = d;
      throw new Error(`unknown database setting ${JSON.stringify(never)}`);
    }
  }
}

/** The schema given on the command line (--schema), validated the same way. */
export function withSchema(config: Config, schema: string | undefined): Config {
  if (schema === undefined) return config;
  const problem = checkSchemaName(schema);
  if (problem) throw new ConfigError([`--schema: ${problem}`]);
  return Object.freeze({ ...config, schema });
}

/** Refuses the embedded PostgreSQL for this run (see Config.noEmbedded). */
export function withoutEmbedded(config: Config, reason: string): Config {
  return Object.freeze({ ...config, noEmbedded: reason });
}

function iamAuthSetting(env: Env, database: DatabaseSetting, problems: string[]): IamAuth | undefined {
  const mode = setting(env, 'REDSHIFT_IAM_AUTH')?.toLowerCase();
  if (!mode || mode === 'false' || mode === '0') return undefined;
  if (database.kind === 'embedded') {
    problems.push('REDSHIFT_IAM_AUTH: set DATABASE_URL (or PGHOST) to the Redshift endpoint too');
    return undefined;
  }
  if (database.kind === 'data-api') {
    problems.push(
      'REDSHIFT_IAM_AUTH: is for a connection to port 5439; the Data API authenticates with REDSHIFT_SECRET_ARN, REDSHIFT_USER or the IAM identity',
    );
    return undefined;
  }
  let user: string | undefined;
  let dbName: string | undefined;
  let hasPassword = false;
  if (database.kind === 'url') {
    try {
      const u = new URL(database.url);
      user = decodeURIComponent(u.username) || undefined;
      dbName = u.pathname.replace(/^\//, '') || undefined;
      hasPassword = u.password !== '';
    } catch {
      return undefined;
    }
  } else {
    user = database.user;
    dbName = database.database;
    hasPassword = Boolean(database.password);
  }
  if (hasPassword) {
    problems.push(
      'REDSHIFT_IAM_AUTH: the connection already has a password; remove it to use temporary IAM credentials',
    );
    return undefined;
  }
  const workgroup = setting(env, 'REDSHIFT_WORKGROUP');
  if (mode === 'serverless' || (mode === 'true' && workgroup)) {
    if (!workgroup) problems.push('REDSHIFT_WORKGROUP: needed for Redshift Serverless IAM authentication');
    return { kind: 'serverless', workgroup: workgroup ?? '', dbName: dbName ?? 'dev' };
  }
  if (mode !== 'true' && mode !== 'cluster') {
    problems.push(`REDSHIFT_IAM_AUTH: expected true, cluster or serverless, got '${mode}'`);
    return undefined;
  }
  if (!user)
    problems.push(
      'REDSHIFT_IAM_AUTH: the database user (in DATABASE_URL or PGUSER) is needed for GetClusterCredentials',
    );
  return {
    kind: 'cluster',
    clusterId: setting(env, 'REDSHIFT_CLUSTER_ID') ?? 'sparkify-cluster',
    dbUser: user ?? '',
    dbName: dbName ?? 'dev',
  };
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

/** Settings of `npm run cluster` (Redshift cluster and IAM role lifecycle). */
export interface ClusterConfig {
  readonly clusterId: string;
  readonly nodeType: string;
  readonly nodes: number;
  readonly database: string;
  readonly user: string;
  readonly port: number;
  /** REDSHIFT_PASSWORD; undefined: generated at create and written only to .env. */
  readonly password: string | undefined;
  readonly roleName: string;
  /** Where the Redshift port may be reached from; undefined: no inbound rule is added. */
  readonly ingressCidr: string | undefined;
  readonly region: string;
  /** Redshift Serverless (cluster create|delete --serverless): the namespace and workgroup, and the workgroup's base capacity in RPUs. */
  readonly namespace: string;
  readonly workgroup: string;
  readonly baseCapacity: number;
}

export function loadClusterConfig(env: Env): ClusterConfig {
  const problems: string[] = [];
  const get = (name: string, fallback: string) => setting(env, name) ?? fallback;
  const clusterId = get('REDSHIFT_CLUSTER_ID', 'sparkify-cluster');
  if (!/^[a-z][a-z0-9-]{0,62}$/.test(clusterId) || clusterId.endsWith('-') || clusterId.includes('--')) {
    problems.push(
      `REDSHIFT_CLUSTER_ID: lowercase letters, digits and single hyphens, starting with a letter, got '${clusterId}'`,
    );
  }
  const nodeType = get('REDSHIFT_NODE_TYPE', 'ra3.large');
  if (!/^[a-z0-9]+\.[a-z0-9]+$/.test(nodeType))
    problems.push(`REDSHIFT_NODE_TYPE: expected a node type such as ra3.large, got '${nodeType}'`);
  const nodes = Number(get('REDSHIFT_NODES', '2'));
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 128)
    problems.push('REDSHIFT_NODES: a whole number from 1 to 128');
  const database = get('REDSHIFT_DB', 'dev');
  if (!/^[a-z_][a-z0-9_$]{0,63}$/.test(database))
    problems.push(`REDSHIFT_DB: expected a lowercase database name, got '${database}'`);
  const user = get('REDSHIFT_USER', 'awsuser');
  if (!/^[a-z_][a-z0-9_$]{0,127}$/.test(user))
    problems.push(`REDSHIFT_USER: expected a lowercase user name, got '${user}'`);
  const port = Number(get('REDSHIFT_PORT', '5439'));
  if (!Number.isInteger(port) || port < 1150 || port > 65535) problems.push('REDSHIFT_PORT: a port from 1150 to 65535');
  const password = setting(env, 'REDSHIFT_PASSWORD');
  if (password && !/^(?=.*[a-z])(?=.*[A-Z])(?=.*\d)[^'"\\/@\s]{8,64}$/.test(password)) {
    problems.push(
      'REDSHIFT_PASSWORD: 8–64 characters with a lowercase letter, an uppercase letter and a digit, and none of \' " \\ / @ or spaces',
    );
  }
  const roleName = get('REDSHIFT_ROLE_NAME', 'sparkify-redshift-s3-read');
  if (!/^[\w+=,.@-]{1,64}$/.test(roleName))
    problems.push(`REDSHIFT_ROLE_NAME: not a valid IAM role name: '${roleName}'`);
  const ingressCidr = setting(env, 'REDSHIFT_INGRESS_CIDR');
  if (ingressCidr && !/^(\d{1,3}\.){3}\d{1,3}\/([0-9]|[12][0-9]|3[0-2])$/.test(ingressCidr)) {
    problems.push(`REDSHIFT_INGRESS_CIDR: expected an IPv4 CIDR such as 203.0.113.7/32, got '${ingressCidr}'`);
  }
  const region = get('AWS_REGION', DEFAULT_REGION);
  const regionProblem = checkRegion(region);
  if (regionProblem) problems.push(`AWS_REGION: ${regionProblem}`);
  const namespace = get('REDSHIFT_NAMESPACE', 'sparkify-ns');
  if (!SERVERLESS_NAME.test(namespace))
    problems.push(`REDSHIFT_NAMESPACE: 3–64 lowercase letters, digits and hyphens, got '${namespace}'`);
  const workgroup = get('REDSHIFT_WORKGROUP', 'sparkify-wg');
  if (!SERVERLESS_NAME.test(workgroup))
    problems.push(`REDSHIFT_WORKGROUP: 3–64 lowercase letters, digits and hyphens, got '${workgroup}'`);
  const baseCapacity = Number(get('REDSHIFT_BASE_CAPACITY', '8'));
  if (
    !Number.isInteger(baseCapacity) ||
    baseCapacity < 4 ||
    baseCapacity > 1024 ||
    (baseCapacity % 8 !== 0 && baseCapacity !== 4)
  ) {
    problems.push('REDSHIFT_BASE_CAPACITY: Redshift Processing Units, 4 or a multiple of 8 up to 1024');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({
    clusterId,
    nodeType,
    nodes,
    database,
    user,
    port,
    password,
    roleName,
    ingressCidr,
    region,
    namespace,
    workgroup,
    baseCapacity,
  });
}
