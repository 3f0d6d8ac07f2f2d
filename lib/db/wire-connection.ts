/**
 * The PostgreSQL wire protocol transport (pg), for PostgreSQL and for
 * Redshift's endpoint on port 5439: a `Connection` over one pg.Client.
 */
import pg from 'pg';
import pgCopy from 'pg-copy-streams';
import { TransportError } from '../errors.ts';
import type { Connection } from './connection.ts';

/**
 * Type parsers of every connection the tool opens (set per client, never on
 * pg's global registry): BIGINT and NUMERIC stay strings (pg's default), and
 * TIMESTAMP is returned as its text, so values are compared and printed
 * exactly as stored, whatever the local time zone.
 */
export const TYPE_PARSERS: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.TIMESTAMP
      ? (v: string) => v
      : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

/** The type names `query --format json` types values by (pg's type OIDs). */
const TYPE_NAMES: Record<number, string> = {
  [pg.types.builtins.INT8]: 'int8',
  [pg.types.builtins.NUMERIC]: 'numeric',
  [pg.types.builtins.TIMESTAMP]: 'timestamp',
  [pg.types.builtins.TIMESTAMPTZ]: 'timestamptz',
  [pg.types.builtins.DATE]: 'date',
};

export async function connectWire(
  config: pg.ClientConfig,
  onError: (err: Error) => void = () => undefined,
): Promise<Connection> {
  const client = new pg.Client({ ...config, types: TYPE_PARSERS, application_name: 'sparkify-warehouse' });
  let broken: Error | undefined;
  const lost: ((err: Error) => void)[] = [];
  const notify = (err: Error) => {
    for (const listener of lost.splice(0)) listener(err);
  };
  // A terminated backend emits 'error' on an idle client; a pending query rejects on its own.
  client.on('error', (err) => {
    broken ??= err;
    onError(err);
    notify(err);
  });
  client.on('end', () => notify(broken ?? new Error('connection closed')));
  /**
   * pg's query_timeout (PG_QUERY_TIMEOUT_SECONDS) fails the statement but
   * leaves it running on the connection, with every later one queued behind
   * it: the connection is closed instead, and the error says which bound.
   */
  const timedOut = (err: unknown): unknown => {
    if (!(err instanceof Error) || err.message !== 'Query read timeout') return err;
    const timeout = new TransportError(
      `the server did not answer a statement within ${Math.round((config.query_timeout ?? 0) / 1000)}s (PG_QUERY_TIMEOUT_SECONDS): closing its connection`,
    );
    broken ??= timeout;
    client.connection.stream.destroy();
    return timeout;
  };
  const run = async <T>(q: () => Promise<T>): Promise<T> => {
    try {
      return await q();
    } catch (err) {
      throw timedOut(err);
    }
  };
  await client.connect();
  return {
    query: async <R extends object>(sql: string, values?: readonly unknown[]) => {
      const result = await run(() => client.query<R & pg.QueryResultRow>(sql, values as unknown[] | undefined));
      return { rows: result.rows };
    },
    async script(sql) {
      const result = (await run(() => client.query(sql))) as pg.QueryResult | pg.QueryResult[];
      return (Array.isArray(result) ? result : [result]).map((r) => ({
        command: r.command,
        columns: (r.fields ?? []).map((f) => f.name),
        types: (r.fields ?? []).map((f) => TYPE_NAMES[f.dataTypeID] ?? String(f.dataTypeID)),
        rows: r.rows as Record<string, unknown>[],
        rowCount: r.rowCount,
      }));
    },
    copyFromStdin: (sql) => client.query(pgCopy.from(sql)),
    // The backend's process id pg learned at connect time (not in @types/pg).
    get backendPid() {
      const pid = (client as unknown as { processID?: number | null }).processID;
      return typeof pid === 'number' && pid > 0 ? pid : undefined;
    },
    onLost(listener) {
      lost.push(listener);
    },
    explain(err) {
      if (broken && err instanceof Error && /not queryable|Connection terminated/i.test(err.message)) return broken;
      return err;
    },
    end: () => client.end(),
  };
}
