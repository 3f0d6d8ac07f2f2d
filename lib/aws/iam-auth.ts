/**
 * Temporary Redshift database credentials from AWS (REDSHIFT_IAM_AUTH): a
 * provisioned cluster's GetClusterCredentials or Redshift Serverless'
 * GetCredentials, with the default credential chain. The user name is kept
 * exactly as AWS returns it (for example "IAM:awsuser").
 */
import type { RedshiftClient } from '@aws-sdk/client-redshift';
import type { RedshiftServerlessClient } from '@aws-sdk/client-redshift-serverless';
import type { IamAuth } from '../config/config.ts';
import { ConfigError } from '../errors.ts';
import type { Logger } from '../log.ts';

export interface IamAuthClients {
  readonly redshift?: RedshiftClient;
  readonly serverless?: RedshiftServerlessClient;
}

export async function temporaryCredentials(
  auth: IamAuth,
  region: string,
  log: Pick<Logger, 'secret'>,
  clients: IamAuthClients = {},
): Promise<{ user: string; password: string }> {
  if (auth.kind === 'cluster') {
    const { RedshiftClient, GetClusterCredentialsCommand } = await import('@aws-sdk/client-redshift');
    const client = clients.redshift ?? new RedshiftClient({ region });
    const r = await client.send(
      new GetClusterCredentialsCommand({
        ClusterIdentifier: auth.clusterId,
        DbUser: auth.dbUser,
        DbName: auth.dbName,
        DurationSeconds: 3600,
        AutoCreate: false,
      }),
    );
    if (!r.DbUser || !r.DbPassword)
      throw new ConfigError([`GetClusterCredentials for ${auth.clusterId} returned no credentials`]);
    log.secret(r.DbPassword);
    return { user: r.DbUser, password: r.DbPassword };
  }
  const { RedshiftServerlessClient, GetCredentialsCommand } = await import('@aws-sdk/client-redshift-serverless');
  const client = clients.serverless ?? new RedshiftServerlessClient({ region });
  const r = await client.send(
    new GetCredentialsCommand({ workgroupName: auth.workgroup, dbName: auth.dbName, durationSeconds: 3600 }),
  );
  if (!r.dbUser || !r.dbPassword)
    throw new ConfigError([`GetCredentials for workgroup ${auth.workgroup} returned no credentials`]);
  log.secret(r.dbPassword);
  return { user: r.dbUser, password: r.dbPassword };
}

/** The connection string with the temporary user and password in place of the configured ones. */
export function withCredentials(url: string, creds: { user: string; password: string }): string {
  const u = new URL(url);
  u.username = encodeURIComponent(creds.user);
  u.password = encodeURIComponent(creds.password);
  return u.toString();
}
