/**
 * The seed projects' dwh.cfg (create_tables.py, etl.py, the IaC notebook) as
 * the settings this tool reads: each section becomes the environment
 * variables that mean the same thing, so loadConfig / loadClusterConfig
 * validate them and mask their secrets exactly as they do for the
 * environment. Pure: text in, settings, warnings and problems out.
 *
 *   [CLUSTER] HOST DB_NAME DB_USER DB_PASSWORD DB_PORT (DB_SSLMODE)  → DATABASE_URL
 *   [IAM_ROLE] ARN                                                 → IAM_ROLE_ARN
 *   [S3] LOG_DATA LOG_JSONPATH SONG_DATA                           → the same names
 *   [AWS] KEY SECRET (REGION)                                      → AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (AWS_REGION)
 *   [DWH] DWH_CLUSTER_TYPE DWH_NUM_NODES DWH_NODE_TYPE DWH_CLUSTER_IDENTIFIER DWH_DB
 *         DWH_DB_USER DWH_DB_PASSWORD DWH_PORT DWH_IAM_ROLE_NAME   → REDSHIFT_* (npm run cluster)
 */
import { ConfigError } from '../errors.ts';
import { parseIni, type IniEntry, type IniSection } from './ini-file.ts';

/** One key of the file and the setting it gives (undefined: it is read another way, see CLUSTER). */
type KeyMap = Readonly<Record<string, string | undefined>>;

export const DWH_CFG_KEYS: Readonly<Record<string, KeyMap>> = {
  CLUSTER: {
    HOST: undefined,
    DB_NAME: undefined,
    DB_USER: undefined,
    DB_PASSWORD: undefined,
    DB_PORT: undefined,
    DB_SSLMODE: undefined,
  },
  IAM_ROLE: { ARN: 'IAM_ROLE_ARN' },
  S3: { LOG_DATA: 'LOG_DATA', LOG_JSONPATH: 'LOG_JSONPATH', SONG_DATA: 'SONG_DATA' },
  AWS: { KEY: 'AWS_ACCESS_KEY_ID', SECRET: 'AWS_SECRET_ACCESS_KEY', REGION: 'AWS_REGION' },
  DWH: {
    DWH_CLUSTER_TYPE: undefined,
    DWH_NUM_NODES: 'REDSHIFT_NODES',
    DWH_NODE_TYPE: 'REDSHIFT_NODE_TYPE',
    DWH_CLUSTER_IDENTIFIER: 'REDSHIFT_CLUSTER_ID',
    DWH_DB: 'REDSHIFT_DB',
    DWH_DB_USER: 'REDSHIFT_USER',
    DWH_DB_PASSWORD: 'REDSHIFT_PASSWORD',
    DWH_PORT: 'REDSHIFT_PORT',
    DWH_IAM_ROLE_NAME: 'REDSHIFT_ROLE_NAME',
  },
};

const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full', 'no-verify'];

export interface DwhCfg {
  /** Settings by environment variable name (empty values left out: empty means the default). */
  readonly settings: Readonly<Record<string, string>>;
  /** Keys and sections the tool does not read, each with its line. */
  readonly warnings: readonly string[];
  /** The [CLUSTER] HOST is missing or empty: the file names no warehouse. */
  readonly hostMissing: boolean;
}

/**
 * configparser keeps quotes as part of the value; the seed files quote for the
 * code that pastes the value into SQL or a libpq connection string
 * (`LOG_DATA='s3://…'`, `HOST=''`), so one pair of outer quotes is removed.
 */
export function unquote(value: string): string {
  const m = /^'(.*)'$|^"(.*)"$/s.exec(value.trim());
  return m ? (m[1] ?? m[2] ?? '') : value.trim();
}

const isLoopback = (host: string) =>
  host === 'localhost' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host === '::1';

export function parseDwhCfg(text: string, file: string): DwhCfg {
  const sections = parseIni(text, file);
  const problems: string[] = [];
  const warnings: string[] = [];
  const settings: Record<string, string> = {};
  const find = (section: string) => sections.find((s) => s.name.toUpperCase() === section);
  const entry = (section: IniSection | undefined, key: string): IniEntry | undefined =>
    section?.entries.find((e) => e.key.toUpperCase() === key);
  const value = (section: IniSection | undefined, key: string): string | undefined => {
    const e = entry(section, key);
    const v = e === undefined ? undefined : unquote(e.value);
    return v === '' ? undefined : v;
  };
  const where = (section: IniSection, key: string) =>
    `${file}:${entry(section, key)?.line ?? section.line}: [${section.name}] ${key}`;

  for (const section of sections) {
    const known = DWH_CFG_KEYS[section.name.toUpperCase()];
    if (!known) {
      warnings.push(
        `${file}:${section.line}: section [${section.name}] is not one this tool reads (it reads ${Object.keys(
          DWH_CFG_KEYS,
        )
          .map((s) => `[${s}]`)
          .join(', ')}); ignored`,
      );
      continue;
    }
    for (const e of section.entries) {
      const key = e.key.toUpperCase();
      if (!(key in known)) {
        warnings.push(`${file}:${e.line}: [${section.name}] ${e.key} is not a setting this tool reads; ignored`);
        continue;
      }
      const name = known[key];
      const v = value(section, key);
      if (name && v !== undefined) settings[name] = v;
    }
  }

  const cluster = find('CLUSTER');
  const host = value(cluster, 'HOST');
  if (cluster && host) {
    const missing = ['DB_NAME', 'DB_USER'].filter((k) => value(cluster, k) === undefined);
    if (missing.length > 0)
      problems.push(`${file}:${cluster.line}: [CLUSTER] needs ${missing.join(' and ')} beside HOST`);
    if (!/^[A-Za-z0-9.-]+$/.test(host) && host !== '::1')
      problems.push(`${where(cluster, 'HOST')}: expected a host name, got '${host}'`);
    const portText = value(cluster, 'DB_PORT') ?? '5439';
    const port = Number(portText);
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      problems.push(`${where(cluster, 'DB_PORT')}: expected a port number, got '${portText}'`);
    // TLS unless the warehouse is on this machine: a Redshift endpoint is reached over the internet.
    const sslmode = value(cluster, 'DB_SSLMODE') ?? (isLoopback(host) ? undefined : 'require');
    if (sslmode !== undefined && !SSL_MODES.includes(sslmode))
      problems.push(`${where(cluster, 'DB_SSLMODE')}: expected one of ${SSL_MODES.join(', ')}, got '${sslmode}'`);
    const password = value(cluster, 'DB_PASSWORD');
    const credentials = `${encodeURIComponent(value(cluster, 'DB_USER') ?? '')}${password === undefined ? '' : `:${encodeURIComponent(password)}`}`;
    const hostPart = host.includes(':') ? `[${host}]` : host;
    settings['DATABASE_URL'] =
      `postgres://${credentials}@${hostPart}:${portText}/${encodeURIComponent(value(cluster, 'DB_NAME') ?? '')}${sslmode ? `?sslmode=${sslmode}` : ''}`;
  }

  const dwh = find('DWH');
  if (dwh) {
    // Redshift stores cluster identifiers in lowercase (the IaC notebook writes dwhCluster).
    if (settings['REDSHIFT_CLUSTER_ID'])
      settings['REDSHIFT_CLUSTER_ID'] = settings['REDSHIFT_CLUSTER_ID'].toLowerCase();
    const type = value(dwh, 'DWH_CLUSTER_TYPE');
    const nodes = settings['REDSHIFT_NODES'];
    if (type === 'single-node') {
      if (nodes !== undefined && nodes !== '1')
        problems.push(
          `${where(dwh, 'DWH_NUM_NODES')}: a single-node cluster (DWH_CLUSTER_TYPE) has 1 node, got ${nodes}`,
        );
      settings['REDSHIFT_NODES'] = '1';
    } else if (type === 'multi-node') {
      if (nodes !== undefined && Number(nodes) < 2)
        problems.push(
          `${where(dwh, 'DWH_NUM_NODES')}: a multi-node cluster (DWH_CLUSTER_TYPE) has 2 nodes or more, got ${nodes}`,
        );
    } else if (type !== undefined) {
      problems.push(`${where(dwh, 'DWH_CLUSTER_TYPE')}: expected single-node or multi-node, got '${type}'`);
    }
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return { settings, warnings, hostMissing: !host };
}
