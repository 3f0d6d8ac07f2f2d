/**
 * OpenLineage dataset names (https://openlineage.io/docs/spec/naming): a
 * source is `s3://{bucket}` + `{key prefix}` or `file` + `{absolute path}`;
 * a warehouse table is `postgres://{host}:{port}` or
 * `redshift://{cluster identifier}.{region}:{port}` + `{database}.{schema}.{table}`.
 * The embedded PostgreSQL (its port changes with every start) is
 * `postgres://localhost`; a Redshift Serverless workgroup stands where a
 * cluster identifier would.
 */
import path from 'node:path';
import type { Config } from '../config/config.ts';
import { isS3Uri, parseS3Uri } from '../config/s3-uri.ts';

export interface DatasetName {
  readonly namespace: string;
  readonly name: string;
}

/** A source setting (LOG_DATA, SONG_DATA) as a dataset: the prefix or folder, not each object. */
export function sourceDatasetName(uri: string): DatasetName {
  if (isS3Uri(uri)) {
    const { bucket, key } = parseS3Uri(uri);
    return { namespace: `s3://${bucket}`, name: key.replace(/\/+$/, '') || '/' };
  }
  return { namespace: 'file', name: path.resolve(uri) };
}

/** `examplecluster.abc123xyz789.us-west-2.redshift.amazonaws.com`: the cluster identifier and region. */
const REDSHIFT_HOST = /^([a-z0-9-]+)\.[a-z0-9]+\.([a-z0-9-]+)\.redshift(?:-serverless)?\.amazonaws\.com$/i;

/** Where the warehouse's tables are: the namespace, and the database their names start with. */
export function warehouseNamespace(config: Config, engine: 'postgres' | 'redshift'): DatasetName {
  const d = config.database;
  const wire = (host: string, port: number | undefined, database: string | undefined): DatasetName => {
    if (engine === 'redshift') {
      const m = REDSHIFT_HOST.exec(host);
      const id = m ? `${m[1]}.${m[2]}` : `${host}.${config.region}`;
      return { namespace: `redshift://${id.toLowerCase()}:${port ?? 5439}`, name: database ?? 'dev' };
    }
    return { namespace: `postgres://${host}:${port ?? 5432}`, name: database ?? 'postgres' };
  };
  switch (d.kind) {
    case 'embedded':
      return { namespace: 'postgres://localhost', name: 'postgres' };
    case 'pg-env':
      return wire(d.host, d.port, d.database);
    case 'url': {
      const u = new URL(d.url);
      const database = decodeURIComponent(u.pathname.replace(/^\//, '')) || decodeURIComponent(u.username) || undefined;
      return wire(u.hostname, u.port ? Number(u.port) : undefined, database);
    }
    case 'data-api': {
      const id = d.target.kind === 'cluster' ? d.target.clusterId : d.target.workgroup;
      return { namespace: `redshift://${id}.${config.region}:5439`, name: d.database };
    }
    default: {
      const never: never = d;
      throw new Error(`unknown database setting ${JSON.stringify(never)}`);
    }
  }
}

/** A warehouse table as a dataset: `{database}.{schema}.{table}` in the warehouse's namespace. */
export function tableDatasetName(warehouse: DatasetName, schema: string, table: string): DatasetName {
  return { namespace: warehouse.namespace, name: `${warehouse.name}.${schema}.${table}` };
}
