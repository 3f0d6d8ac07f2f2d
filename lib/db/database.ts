/**
 * Opens the configured warehouse: DATABASE_URL, the PG* variables, or the
 * embedded PostgreSQL. Detects the engine once and hands out connections.
 */
import type pg from 'pg';
import type { Config } from '../config/config.ts';
import { detectDialect, type Dialect } from '../dialect/index.ts';
import type { Logger } from '../log.ts';
import type { Connection } from './connection.ts';
import { ensureEmbeddedServer, stopEmbeddedServer, type EmbeddedServer } from './embedded-postgres.ts';
import { connectWire } from './wire-connection.ts';

export interface Database {
  readonly dialect: Dialect;
  /** Where it runs, without the password (for messages). */
  readonly description: string;
  /** A new connection; closed by close() if the caller did not. */
  connect(): Promise<Connection>;
  close(): Promise<void>;
}

export function connectionConfig(config: Config): pg.ClientConfig | undefined {
  const d = config.database;
  switch (d.kind) {
    case 'url':
      return { connectionString: d.url };
    case 'pg-env':
      return { host: d.host, port: d.port, user: d.user, password: d.password, database: d.database };
    case 'embedded':
      return undefined;
    default: {
      const never: never = d;
      throw new Error(`unknown database setting ${JSON.stringify(never)}`);
    }
  }
}

function describe(connection: pg.ClientConfig, embedded: boolean): string {
  if (connection.connectionString) {
    try {
      const u = new URL(connection.connectionString);
      return `${u.hostname}:${u.port || 5432}${u.pathname}`;
    } catch {
      return 'DATABASE_URL';
    }
  }
  return `${embedded ? 'embedded PostgreSQL at ' : ''}${connection.host}:${connection.port}/${connection.database ?? ''}`;
}

export async function openDatabase(config: Config, log: Logger): Promise<Database> {
  let embedded: EmbeddedServer | undefined;
  let connection = connectionConfig(config);
  if (connection && config.iamAuth) {
    const { temporaryCredentials, withCredentials } = await import('../aws/iam-auth.ts');
    const creds = await temporaryCredentials(config.iamAuth, config.region, log);
    log.info(`Connecting as ${creds.user} with temporary IAM credentials (${config.iamAuth.kind}).`);
    connection = connection.connectionString
      ? { connectionString: withCredentials(connection.connectionString, creds) }
      : { ...connection, user: creds.user, password: creds.password };
  }
  if (!connection) {
    embedded = await ensureEmbeddedServer(config.database.kind === 'embedded' ? config.database.dir : config.warehouseDir, log);
    connection = embedded.connection;
  }
  const settings = connection;
  const open = new Set<Connection>();
  const connect = async (): Promise<Connection> => {
    const conn = await connectWire(settings, (err) => log.debug(`connection error: ${err.message}`));
    open.add(conn);
    conn.onLost(() => open.delete(conn));
    return conn;
  };
  let first: Connection;
  try {
    first = await connect();
  } catch (err) {
    if (embedded?.startedHere) await stopEmbeddedServer(embedded, log);
    throw new Error(`Could not connect to ${describe(settings, Boolean(embedded))}: ${(err as Error).message}`, { cause: err });
  }
  const dialect = await detectDialect(first);
  await first.end();
  return {
    dialect,
    description: describe(settings, Boolean(embedded)),
    connect,
    async close() {
      await Promise.all([...open].map((c) => c.end().catch(() => undefined)));
      if (embedded?.startedHere) await stopEmbeddedServer(embedded, log);
    },
  };
}
