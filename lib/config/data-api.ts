/**
 * The Redshift Data API as the warehouse connection (HTTPS + IAM, no route to
 * port 5439 needed): `DATABASE_URL=redshift-data://WORKGROUP/DB` (Serverless),
 * `redshift-data://cluster:CLUSTER_ID/DB` (provisioned), or the settings
 * REDSHIFT_DATA_API=serverless|cluster with REDSHIFT_WORKGROUP or
 * REDSHIFT_CLUSTER_ID and REDSHIFT_DB. Authentication, as the Data API takes it
 * (https://docs.aws.amazon.com/redshift/latest/mgmt/data-api-access.html):
 * REDSHIFT_SECRET_ARN (Secrets Manager), else on a cluster REDSHIFT_USER
 * (temporary credentials for that database user), else the caller's IAM
 * identity. AWS_ENDPOINT_URL_REDSHIFT_DATA overrides the endpoint, as the SDK does.
 */
import { SERVERLESS_NAME } from './aws-names.ts';
import { setting } from './setting.ts';

export type DataApiTarget =
  | { readonly kind: 'serverless'; readonly workgroup: string }
  | { readonly kind: 'cluster'; readonly clusterId: string };

export type DataApiAuth =
  | { readonly kind: 'secret'; readonly secretArn: string }
  | { readonly kind: 'db-user'; readonly dbUser: string }
  | { readonly kind: 'iam-identity' };

export interface DataApiSetting {
  readonly kind: 'data-api';
  readonly target: DataApiTarget;
  readonly database: string;
  readonly auth: DataApiAuth;
  /** AWS_ENDPOINT_URL_REDSHIFT_DATA (a stand-in, a VPC endpoint); undefined: the regional endpoint. */
  readonly endpoint: string | undefined;
}

type Env = Readonly<Record<string, string | undefined>>;

const URL_FORM = /^redshift-data:\/\/([^/?#]*)\/([^/?#]*)$/i;
/** Cluster identifiers: lowercase letters, digits, single hyphens, starting with a letter (CreateCluster). */
const CLUSTER_ID = /^[a-z](?!.*--)[a-z0-9-]{0,62}(?<!-)$/;
const DATABASE = /^[a-z_][a-z0-9_$]{0,63}$/;
const SECRET_ARN = /^arn:aws(-[a-z]+)*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]{1,512}$/;
const DB_USER = /^[a-z_][a-z0-9_$.@+-]{0,127}$/i;

export function isDataApiUrl(url: string): boolean {
  return /^redshift-data:\/\//i.test(url);
}

/** The Data API setting when one is configured (DATABASE_URL or REDSHIFT_DATA_API); problems are pushed, naming the variable. */
export function dataApiSetting(env: Env, url: string | undefined, problems: string[]): DataApiSetting | undefined {
  const mode = setting(env, 'REDSHIFT_DATA_API')?.toLowerCase();
  let target: DataApiTarget;
  let database: string;
  if (url !== undefined && isDataApiUrl(url)) {
    if (/^redshift-data:\/\/[^/?#]*@/i.test(url)) {
      // Never echoed: the part before @ may hold a password.
      problems.push(
        'DATABASE_URL: a redshift-data:// URL takes no user or password: authenticate with REDSHIFT_SECRET_ARN, REDSHIFT_USER (clusters) or the IAM identity',
      );
      return undefined;
    }
    const m = URL_FORM.exec(url);
    if (!m) {
      problems.push(
        `DATABASE_URL: expected redshift-data://WORKGROUP/DATABASE or redshift-data://cluster:CLUSTER_ID/DATABASE, got '${url}'`,
      );
      return undefined;
    }
    const host = decodeURIComponent(m[1] ?? '');
    const cluster = /^cluster:(.*)$/i.exec(host);
    target = cluster ? { kind: 'cluster', clusterId: cluster[1] ?? '' } : { kind: 'serverless', workgroup: host };
    database = decodeURIComponent(m[2] ?? '');
    if (mode) problems.push('REDSHIFT_DATA_API: DATABASE_URL already selects the Data API; set one of them');
  } else if (mode) {
    if (url !== undefined) {
      problems.push('REDSHIFT_DATA_API: DATABASE_URL is set to a PostgreSQL connection too; set one of them');
      return undefined;
    }
    if (mode === 'serverless') target = { kind: 'serverless', workgroup: setting(env, 'REDSHIFT_WORKGROUP') ?? '' };
    else if (mode === 'cluster') target = { kind: 'cluster', clusterId: setting(env, 'REDSHIFT_CLUSTER_ID') ?? '' };
    else {
      problems.push(`REDSHIFT_DATA_API: expected serverless or cluster, got '${mode}'`);
      return undefined;
    }
    database = setting(env, 'REDSHIFT_DB') ?? 'dev';
  } else {
    return undefined;
  }
  const name = mode ? (target.kind === 'serverless' ? 'REDSHIFT_WORKGROUP' : 'REDSHIFT_CLUSTER_ID') : 'DATABASE_URL';
  if (target.kind === 'serverless' && !SERVERLESS_NAME.test(target.workgroup)) {
    problems.push(
      `${name}: expected a workgroup name (3–64 lowercase letters, digits and hyphens), got '${target.workgroup}'`,
    );
  }
  if (target.kind === 'cluster' && !CLUSTER_ID.test(target.clusterId)) {
    problems.push(
      `${name}: expected a cluster identifier (lowercase letters, digits and single hyphens, starting with a letter), got '${target.clusterId}'`,
    );
  }
  if (!DATABASE.test(database))
    problems.push(`${mode ? 'REDSHIFT_DB' : 'DATABASE_URL'}: expected a lowercase database name, got '${database}'`);

  let auth: DataApiAuth = { kind: 'iam-identity' };
  const secretArn = setting(env, 'REDSHIFT_SECRET_ARN');
  const dbUser = setting(env, 'REDSHIFT_USER');
  if (secretArn) {
    if (!SECRET_ARN.test(secretArn))
      problems.push(
        `REDSHIFT_SECRET_ARN: expected arn:aws:secretsmanager:<region>:<12-digit account>:secret:<name>, got '${secretArn}'`,
      );
    auth = { kind: 'secret', secretArn };
  } else if (dbUser && target.kind === 'cluster') {
    if (!DB_USER.test(dbUser)) problems.push(`REDSHIFT_USER: expected a database user name, got '${dbUser}'`);
    auth = { kind: 'db-user', dbUser };
  }
  // Serverless maps the IAM identity to a database user itself: REDSHIFT_USER (a cluster's master user) does not apply there.

  const endpoint = setting(env, 'AWS_ENDPOINT_URL_REDSHIFT_DATA');
  if (endpoint) {
    let ok = false;
    try {
      const u = new URL(endpoint);
      ok = (u.protocol === 'https:' || u.protocol === 'http:') && u.username === '' && u.password === '';
    } catch {
      ok = false;
    }
    if (!ok)
      problems.push(
        `AWS_ENDPOINT_URL_REDSHIFT_DATA: expected an http(s)://host[:port] URL without credentials, got '${endpoint}'`,
      );
  }
  return { kind: 'data-api', target, database, auth, endpoint };
}

/** For messages: where statements go, never a credential. */
export function describeDataApi(d: DataApiSetting): string {
  const target = d.target.kind === 'serverless' ? `workgroup ${d.target.workgroup}` : `cluster ${d.target.clusterId}`;
  return `Redshift Data API, ${target}, database ${d.database}`;
}
