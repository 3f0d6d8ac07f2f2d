/**
 * Opens the configured warehouse: DATABASE_URL, the PG* variables, or the
 * embedded PostgreSQL. Detects the engine once, checks the warehouse schema,
 * and hands out connections, each with that schema selected (lib/db/schema.ts).
 */
import type pg from 'pg';
import { DEFAULT_SCHEMA, type Config } from '../config/config.ts';
import { detectDialect, type Dialect } from '../dialect/index.ts';
import { ConfigError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Connection } from './connection.ts';
import { leaseEmbeddedServer, type EmbeddedLease } from './embedded-lease.ts';
import { createSchema, missingTables, schemaExists, selectSchemaSql } from './schema.ts';
import { withExplicitSslMode } from './ssl-mode.ts';
import { connectWire } from './wire-connection.ts';

export interface Database {
  readonly dialect: Dialect;
  /** Where it runs, without the password (for messages). */
  readonly description: string;
  /** The schema every connection has selected (WAREHOUSE_SCHEMA). */
  readonly schema: string;
  /** A new connection; closed by close() if the caller did not. */
  connect(): Promise<Connection>;
  close(): Promise<void>;
}

export function connectionConfig(config: Config): pg.ClientConfig | undefined {
  const d = config.database;
  switch (d.kind) {
    case 'url':
      return { connectionString: withExplicitSslMode(d.url) };
    case 'pg-env':
      return { host: d.host, port: d.port, user: d.user, password: d.password, database: d.database };
    case 'embedded':
    case 'data-api':
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

/**
 * What a command needs of the warehouse schema when it does not exist yet:
 * create it (migrate up, start), refuse to go on (default: the tables are
 * not there), or go on without it (migrate status and dry runs, which only read).
 */
export type MissingSchema = 'create' | 'refuse' | 'ignore';

export interface OpenOptions {
  readonly missingSchema?: MissingSchema;
  /**
   * Tables the command reads (verify, report, analyze): a warehouse never
   * migrated is a usage error that says what to run (exit 2), not a raw
   * "relation … does not exist".
   */
  readonly requireTables?: readonly string[];
}

export async function openDatabase(config: Config, log: Logger, options: OpenOptions = {}): Promise<Database> {
  if (config.database.kind === 'embedded' && config.noEmbedded) throw new ConfigError([config.noEmbedded]);
  let embedded: EmbeddedLease | undefined;
  let transport: {
    readonly connect: () => Promise<Connection>;
    readonly description: string;
    readonly close: () => void;
  };
  if (config.database.kind === 'data-api') {
    // Imported when used only: the AWS SDK is slow to load.
    const { createDataApiClient, connectDataApi } = await import('./data-api-connection.ts');
    const { describeDataApi } = await import('../config/data-api.ts');
    const setting = config.database;
    const client = createDataApiClient(setting, config.region, config.transport);
    const statementTimeoutMs = config.transport.dataApiStatementTimeoutMs;
    transport = {
      connect: async () => connectDataApi({ setting, client, log, statementTimeoutMs }),
      description: describeDataApi(setting),
      close: () => client.destroy(),
    };
  } else {
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
      embedded = await leaseEmbeddedServer(
        config.database.kind === 'embedded' ? config.database.dir : config.warehouseDir,
        log,
      );
      connection = embedded.server.connection;
    }
    // Bounds on every wire connection (lib/config/transport.ts): connecting, each statement, and TCP keep-alive.
    const t = config.transport;
    const settings: pg.ClientConfig = {
      ...connection,
      connectionTimeoutMillis: t.pgConnectTimeoutMs,
      keepAlive: true,
      keepAliveInitialDelayMillis: t.pgKeepAliveMs,
      ...(t.pgQueryTimeoutMs > 0 ? { query_timeout: t.pgQueryTimeoutMs } : {}),
    };
    transport = {
      connect: () => connectWire(settings, (err) => log.debug(`connection error: ${err.message}`)),
      description: describe(settings, Boolean(embedded)),
      close: () => undefined,
    };
  }
  const schema = config.schema;
  const where = `${transport.description}${schema === DEFAULT_SCHEMA ? '' : `, schema ${schema}`}`;
  const open = new Set<Connection>();
  let selectSchema = false;
  const connect = async (): Promise<Connection> => {
    const conn = await transport.connect();
    open.add(conn);
    conn.onLost(() => open.delete(conn));
    if (selectSchema) {
      try {
        await conn.query(selectSchemaSql(schema));
      } catch (err) {
        await conn.end().catch(() => undefined);
        throw err;
      }
    }
    return conn;
  };
  let first: Connection;
  try {
    first = await connect();
  } catch (err) {
    await embedded?.release();
    transport.close();
    throw new Error(`Could not connect to ${transport.description}: ${(err as Error).message}`, { cause: err });
  }
  let dialect: Dialect;
  try {
    // The Data API opens its session with the first statement: an unreachable endpoint or a refused identity shows here.
    dialect = await detectDialect(first).catch((err: Error) => {
      throw new Error(
        `Could not connect to ${transport.description}: ${err.name === 'Error' ? '' : `${err.name}: `}${err.message}`,
        { cause: err },
      );
    });
    selectSchema = await schemaExists(first, schema);
    if (!selectSchema && options.missingSchema === 'create') {
      log.info(`Creating schema ${schema}.`);
      await createSchema(first, schema);
      selectSchema = true;
    } else if (!selectSchema && options.missingSchema !== 'ignore') {
      throw new ConfigError([
        `WAREHOUSE_SCHEMA: schema ${schema} does not exist on ${transport.description}: \`npm run migrate -- up\` creates it and its tables`,
      ]);
    }
    const missing =
      options.requireTables && selectSchema ? await missingTables(first, options.requireTables, schema) : [];
    if (missing.length > 0) {
      throw new ConfigError([
        `the warehouse at ${where} has no table ${missing.join(', ')}: it was never migrated (or was rolled back); run \`npm run migrate -- up\` then \`npm run load\` (or \`npm start\`, which does both)`,
      ]);
    }
  } catch (err) {
    await first.end().catch(() => undefined);
    transport.close();
    await embedded?.release();
    throw err;
  }
  await first.end();
  // Every command that reaches a Redshift the tool created says when its lease has expired (it still costs money).
  if (dialect.name === 'redshift') await (await import('../aws/lease-check.ts')).warnIfTargetExpired(config, log);
  return {
    dialect,
    description: where,
    schema,
    connect,
    async close() {
      await Promise.all([...open].map((c) => c.end().catch(() => undefined)));
      transport.close();
      await embedded?.release();
    },
  };
}
