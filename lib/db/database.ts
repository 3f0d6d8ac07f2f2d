/**
 * Opens the configured warehouse: DATABASE_URL, the PG* variables, or the
 * embedded PostgreSQL. Detects the engine once and hands out clients.
 */
import pg from 'pg';
import type { Config } from '../config/config.ts';
import { detectDialect, type Dialect } from '../dialect/index.ts';
import { ensureEmbeddedServer, stopEmbeddedServer, type EmbeddedServer } from './embedded-postgres.ts';
import type { Logger } from '../log.ts';

// Return BIGINT and NUMERIC as strings (pg's default) but TIMESTAMP as text, so
// values are compared and printed exactly as stored, whatever the local time zone.
pg.types.setTypeParser(pg.types.builtins.TIMESTAMP, (v) => v);

/** The error a connection reported while idle (a terminated backend, a dropped socket). */
const connectionErrors = new WeakMap<pg.Client, Error>();

/**
 * pg reports a query on a broken connection as "not queryable"; the useful
 * error (why it broke) arrived earlier on the client. Returns that one.
 */
export function underlyingError(client: pg.Client, err: unknown): unknown {
  const cause = connectionErrors.get(client);
  if (cause && err instanceof Error && /not queryable|Connection terminated/i.test(err.message)) return cause;
  return err;
}

export interface Database {
  readonly dialect: Dialect;
  /** Where it runs, without the password (for messages). */
  readonly description: string;
  readonly connection: pg.ClientConfig;
  /** A new connected client; closed by close() if the caller did not. */
  connect(): Promise<pg.Client>;
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
    const creds = await temporaryCredentials(config.iamAuth, config.region);
    log.info(`Connecting as ${creds.user} with temporary IAM credentials (${config.iamAuth.kind}).`);
    connection = connection.connectionString
      ? { connectionString: withCredentials(connection.connectionString, creds) }
      : { ...connection, user: creds.user, password: creds.password };
  }
  if (!connection) {
    embedded = await ensureEmbeddedServer(config.database.kind === 'embedded' ? config.database.dir : config.warehouseDir, log);
    connection = embedded.connection;
  }
  const clients = new Set<pg.Client>();
  const connect = async (): Promise<pg.Client> => {
    const client = new pg.Client({ ...connection, application_name: 'sparkify-warehouse' });
    // A terminated backend emits 'error' on an idle client; the pending query rejects on its own.
    client.on('error', (err) => {
      connectionErrors.set(client, err);
      log.debug(`connection error: ${err.message}`);
    });
    await client.connect();
    clients.add(client);
    client.once('end', () => clients.delete(client));
    return client;
  };
  let first: pg.Client;
  try {
    first = await connect();
  } catch (err) {
    if (embedded?.startedHere) await stopEmbeddedServer(embedded, log);
    throw new Error(`Could not connect to ${describe(connection, Boolean(embedded))}: ${(err as Error).message}`, { cause: err });
  }
  const dialect = await detectDialect(first);
  await first.end();
  return {
    dialect,
    description: describe(connection, Boolean(embedded)),
    connection,
    connect,
    async close() {
      await Promise.all([...clients].map((c) => c.end().catch(() => undefined)));
      if (embedded?.startedHere) await stopEmbeddedServer(embedded, log);
    },
  };
}
