/**
 * The Redshift Data API transport: a `Connection` over HTTPS + IAM, for
 * Serverless workgroups and clusters that no network route reaches on port
 * 5439. One connection is one Data API session
 * (https://docs.aws.amazon.com/redshift/latest/mgmt/data-api-calling.html):
 * the first ExecuteStatement asks for one (SessionKeepAliveSeconds), every
 * later one runs in it (SessionId), so BEGIN … COMMIT spans calls, SET
 * search_path holds and LOCK TABLE is kept until COMMIT, as on the wire path.
 *
 * Each statement: ExecuteStatement (exactly one SQL statement; `$N`
 * parameters are sent as the Data API's named `:pN` parameters), then
 * DescribeStatement polled with bounded backoff until FINISHED, FAILED or
 * ABORTED (with a total timeout, after which it is cancelled), then
 * GetStatementResult page by page (NextToken), the typed fields mapped to the
 * values pg gives (int2/int4/float as numbers, int8 and numeric as strings,
 * timestamps as their text, booleans, NULL as null).
 *
 * Not here: COPY FROM STDIN (the Data API has none: `copyFromStdin` is
 * undefined, and the Redshift dialect's COPY from S3 is used).
 */
import {
  CancelStatementCommand,
  DescribeStatementCommand,
  ExecuteStatementCommand,
  GetStatementResultCommand,
  RedshiftDataClient,
  type ColumnMetadata,
  type DescribeStatementResponse,
  type ExecuteStatementInput,
  type Field,
} from '@aws-sdk/client-redshift-data';
import { randomUUID } from 'node:crypto';
import type { DataApiSetting } from '../config/data-api.ts';
import { DEFAULT_TRANSPORT, type TransportSettings } from '../config/transport.ts';
import type { Logger } from '../log.ts';
import type { Connection, QueryResult, StatementResult } from './connection.ts';
import { splitStatements, stripComments } from './split-statements.ts';

export interface DataApiOptions {
  readonly setting: DataApiSetting;
  readonly log: Logger;
  /** One client shared by every connection of a run (tests pass a mocked one). */
  readonly client: RedshiftDataClient;
  /**
   * How long an idle session lives (SessionKeepAliveSeconds). Short, because
   * it is also how long a crashed run's open transaction, and so the
   * warehouse lock, outlives it; the lock's session is kept busy by its
   * keep-alive query every 5 s.
   */
  readonly sessionKeepAliveSeconds?: number;
  /** DescribeStatement polling: first and longest wait between calls. */
  readonly pollMs?: readonly [number, number];
  /** A statement running longer is cancelled and fails (default 6 hours: a load may wait that long for the lock). */
  readonly statementTimeoutMs?: number;
}

export const DEFAULT_SESSION_KEEP_ALIVE_SECONDS = 120;
const DEFAULT_POLL_MS = [10, 1000] as const;
const DEFAULT_STATEMENT_TIMEOUT_MS = 6 * 3600 * 1000;

/** Errors the Data API returns when it is busy: the call did nothing, so it is sent again (bounded). */
const BUSY = new Set([
  'ThrottlingException',
  'ActiveStatementsExceededException',
  'ActiveSessionsExceededException',
  'ActiveWaitingRequestsExceededException',
  'TooManyRequestsException',
]);
const BUSY_ATTEMPTS = 8;

/**
 * A statement the Data API reports FAILED or ABORTED, with its id and its
 * RedshiftQueryId ("also available in the query column of the STL_QUERY
 * system view": https://docs.aws.amazon.com/redshift-data/latest/APIReference/API_DescribeStatement.html),
 * by which a failed COPY's rows are found in STL_LOAD_ERRORS (lib/stage/redshift/load-errors.ts).
 */
export class DataApiStatementError extends Error {
  override name = 'DataApiStatementError';
  constructor(
    message: string,
    readonly statementId: string,
    readonly status: string,
    readonly queryId?: number,
  ) {
    super(message);
  }
}

/**
 * The Data API's limits on what is sent: "The maximum query statement size is
 * 100 KB" (https://docs.aws.amazon.com/redshift/latest/mgmt/data-api.html,
 * Considerations when calling the Data API), and a parameter's value has a
 * length of at least 1 (SqlParameter: value, "Length Constraints: Minimum
 * length of 1", https://docs.aws.amazon.com/redshift-data/latest/APIReference/API_SqlParameter.html).
 * A statement is checked against the first after its parameters are
 * substituted, so that what the cluster parses fits too.
 */
export const MAX_STATEMENT_BYTES = 100 * 1024;

/** A SQL string literal of a parameter value (standard quoting: quotes doubled; backslashes are literal). */
function inlineLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

export function createDataApiClient(
  setting: DataApiSetting,
  region: string,
  transport: TransportSettings = DEFAULT_TRANSPORT,
): RedshiftDataClient {
  // The SDK reads AWS_ENDPOINT_URL_REDSHIFT_DATA itself; passing the validated value makes the setting explicit (and .env-proof).
  return new RedshiftDataClient({
    region,
    ...(setting.endpoint ? { endpoint: setting.endpoint } : {}),
    // A call that cannot connect within DATA_API_CONNECT_TIMEOUT_SECONDS, or receives nothing for
    // DATA_API_REQUEST_TIMEOUT_SECONDS, fails with a
    // TimeoutError, which the SDK retries: a DescribeStatement that never returns no longer hangs the run.
    requestHandler: {
      connectionTimeout: transport.dataApiConnectTimeoutMs,
      socketTimeout: transport.dataApiRequestTimeoutMs,
    },
  });
}

/** Where and as whom a new session runs (not sent with SessionId). */
export function sessionTarget(setting: DataApiSetting): Partial<ExecuteStatementInput> {
  const target =
    setting.target.kind === 'serverless'
      ? { WorkgroupName: setting.target.workgroup }
      : { ClusterIdentifier: setting.target.clusterId };
  const auth =
    setting.auth.kind === 'secret'
      ? { SecretArn: setting.auth.secretArn }
      : setting.auth.kind === 'db-user'
        ? { DbUser: setting.auth.dbUser }
        : {};
  return { ...target, Database: setting.database, ...auth };
}

/**
 * `$1`-style parameters as the Data API's named parameters (`:p1`). NULL and
 * the empty string are written inline (a parameter value is a string of at
 * least one character); the statement as the cluster sees it (every value
 * substituted) must be at most MAX_STATEMENT_BYTES.
 */
export function namedParameters(
  sql: string,
  values: readonly unknown[] | undefined,
): { sql: string; parameters: { name: string; value: string }[] | undefined } {
  const parameters: { name: string; value: string }[] = [];
  let substitutedBytes = 0;
  const text =
    !values || values.length === 0
      ? sql
      : sql.replace(/\$(\d+)\b/g, (whole, n: string) => {
          const i = Number(n) - 1;
          if (i < 0 || i >= values.length) return whole;
          const v = values[i];
          if (v === null || v === undefined) return 'NULL';
          const value = v instanceof Date ? v.toISOString() : String(v);
          if (value === '') return "''";
          const name = `p${n}`;
          if (!parameters.some((p) => p.name === name)) parameters.push({ name, value });
          substitutedBytes += Buffer.byteLength(inlineLiteral(value)) - Buffer.byteLength(`:${name}`);
          return `:${name}`;
        });
  const bytes = Buffer.byteLength(text) + substitutedBytes;
  if (bytes > MAX_STATEMENT_BYTES) {
    throw new Error(
      `a statement of ${bytes} bytes (its parameters substituted) is over the Data API's limit of ${MAX_STATEMENT_BYTES} bytes: ${text.trim().split('\n')[0]?.slice(0, 80) ?? ''}…`,
    );
  }
  return { sql: text, parameters: parameters.length > 0 ? parameters : undefined };
}

/** A Data API field as pg gives the same column (pg's default parsers, and TIMESTAMP as text: lib/db/wire-connection.ts). */
export function fieldValue(field: Field, column: ColumnMetadata | undefined): unknown {
  if (field.isNull) return null;
  if (field.booleanValue !== undefined) return field.booleanValue;
  if (field.longValue !== undefined) return column?.typeName === 'int8' ? String(field.longValue) : field.longValue;
  if (field.doubleValue !== undefined) return field.doubleValue;
  if (field.stringValue !== undefined) return field.stringValue;
  if (field.blobValue !== undefined) return Buffer.from(field.blobValue);
  return null;
}

function commandOf(sql: string): string {
  return (/^\s*([A-Za-z]+)/.exec(stripComments(sql))?.[1] ?? '').toUpperCase();
}

/** Whether a statement leaves the session inside a transaction (after it succeeded). */
function transactionAfter(command: string, sql: string, before: boolean): boolean {
  if (command === 'BEGIN' || /^\s*START\s+TRANSACTION/i.test(stripComments(sql))) return true;
  if (command === 'COMMIT' || command === 'ROLLBACK' || command === 'END' || command === 'ABORT') return false;
  return before;
}

/** The session itself is gone (expired, ended, or its backend terminated), not just one statement. */
function sessionGone(err: unknown): boolean {
  const e = err as { name?: unknown; message?: unknown };
  const message = typeof e.message === 'string' ? e.message : '';
  return (
    ((e.name === 'ValidationException' || e.name === 'ResourceNotFoundException') && /session/i.test(message)) ||
    /terminating connection|connection to the server was lost|server closed the connection|session .*(ended|terminated|not available|expired)/i.test(
      message,
    )
  );
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Sends a call again while the Data API says it is busy (throttled, too many statements or sessions), with bounded backoff. */
async function sendBusyAware<T>(what: string, log: Logger, send: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await send();
    } catch (err) {
      const name = (err as { name?: unknown }).name;
      if (typeof name !== 'string' || !BUSY.has(name) || attempt >= BUSY_ATTEMPTS) throw err;
      const delay = Math.min(200 * 2 ** (attempt - 1), 5000) * (0.75 + Math.random() * 0.5);
      log.warn(
        `${what}: the Data API is busy (${name}); sending it again in ${(delay / 1000).toFixed(1)}s (attempt ${attempt + 1} of ${BUSY_ATTEMPTS})`,
      );
      await sleep(delay);
    }
  }
}

export function connectDataApi(options: DataApiOptions): Connection {
  const { client, log, setting } = options;
  const keepAlive = options.sessionKeepAliveSeconds ?? DEFAULT_SESSION_KEEP_ALIVE_SECONDS;
  const [firstPoll, maxPoll] = options.pollMs ?? DEFAULT_POLL_MS;
  const timeoutMs = options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
  let sessionId: string | undefined;
  let pid: number | undefined;
  let inTransaction = false;
  /** SET statements run outside a transaction, replayed when an idle session expired and a new one replaces it. */
  const settings: string[] = [];
  let broken: Error | undefined;
  let ended = false;
  const lost: ((err: Error) => void)[] = [];
  const markLost = (err: Error) => {
    broken ??= err;
    for (const listener of lost.splice(0)) listener(broken);
  };

  async function execute(sql: string, parameters: { name: string; value: string }[] | undefined): Promise<string> {
    // One idempotency token per statement, the same on every send of it (the SDK's own retries reuse the
    // serialized request; sendBusyAware's re-sends reuse this input): a retried ExecuteStatement whose first
    // answer was lost is not run twice ("ClientToken: A unique, case-sensitive identifier that you provide
    // to ensure the idempotency of the request", API_ExecuteStatement).
    const token = { ClientToken: randomUUID() };
    const input: ExecuteStatementInput = sessionId
      ? { Sql: sql, SessionId: sessionId, Parameters: parameters, ...token }
      : { Sql: sql, ...sessionTarget(setting), SessionKeepAliveSeconds: keepAlive, Parameters: parameters, ...token };
    const out = await sendBusyAware('ExecuteStatement', log, () => client.send(new ExecuteStatementCommand(input)));
    if (!out.Id) throw new Error('the Data API returned no statement id');
    if (!sessionId && out.SessionId) {
      sessionId = out.SessionId;
      log.debug(`Data API session ${sessionId} opened (kept alive ${keepAlive}s when idle)`);
    }
    return out.Id;
  }

  async function awaitStatement(id: string): Promise<DescribeStatementResponse> {
    const started = Date.now();
    let wait = firstPoll;
    for (;;) {
      const d = await sendBusyAware('DescribeStatement', log, () =>
        client.send(new DescribeStatementCommand({ Id: id })),
      );
      if (typeof d.RedshiftPid === 'number' && d.RedshiftPid > 0) pid = d.RedshiftPid;
      if (d.Status === 'FINISHED') return d;
      if (d.Status === 'FAILED')
        throw new DataApiStatementError(
          d.Error ?? `statement ${id} failed`,
          id,
          'FAILED',
          typeof d.RedshiftQueryId === 'number' ? d.RedshiftQueryId : undefined,
        );
      if (d.Status === 'ABORTED')
        throw new DataApiStatementError(
          `statement ${id} was cancelled before it finished (ABORTED)${d.Error ? `: ${d.Error}` : ''}`,
          id,
          'ABORTED',
        );
      if (Date.now() - started > timeoutMs) {
        await client.send(new CancelStatementCommand({ Id: id })).catch(() => undefined);
        throw new DataApiStatementError(
          `statement ${id} did not finish within ${Math.round(timeoutMs / 1000)}s: cancelled`,
          id,
          'ABORTED',
        );
      }
      await sleep(wait);
      wait = Math.min(wait * 2, maxPoll);
    }
  }

  async function results(id: string): Promise<{ columns: string[]; types: string[]; rows: Record<string, unknown>[] }> {
    const rows: Record<string, unknown>[] = [];
    let columns: ColumnMetadata[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await sendBusyAware('GetStatementResult', log, () =>
        client.send(new GetStatementResultCommand({ Id: id, NextToken: token })),
      );
      if (page.ColumnMetadata && page.ColumnMetadata.length > 0) columns = page.ColumnMetadata;
      for (const record of page.Records ?? []) {
        const row: Record<string, unknown> = {};
        record.forEach((field, i) => {
          const column = columns[i];
          row[column?.label ?? column?.name ?? `?column${i}?`] = fieldValue(field, column);
        });
        rows.push(row);
      }
      token = page.NextToken || undefined;
      pages += 1;
    } while (token);
    if (pages > 1) log.debug(`Data API statement ${id}: ${rows.length} rows in ${pages} pages`);
    return {
      columns: columns.map((c, i) => c.label ?? c.name ?? `?column${i}?`),
      types: columns.map((c) => c.typeName ?? ''),
      rows,
    };
  }

  /**
   * One statement at a time in the session, in call order, as pg queues a
   * wire connection's queries: the lock's keep-alive and the guard's check
   * may ask at once, and a session runs one statement at a time.
   */
  let queue: Promise<unknown> = Promise.resolve();
  function run(sql: string, values?: readonly unknown[]): Promise<StatementResult> {
    const next = queue.then(() => runNow(sql, values));
    queue = next.catch(() => undefined);
    return next;
  }

  /** One statement in the session: its rows (when it has a result set), command and row count. */
  async function runNow(sql: string, values?: readonly unknown[]): Promise<StatementResult> {
    if (broken) throw broken;
    if (ended) throw new Error('the Data API connection was closed');
    const { sql: text, parameters } = namedParameters(sql, values);
    const command = commandOf(text);
    let id: string;
    try {
      id = await execute(text, parameters);
    } catch (err) {
      if (!sessionGone(err) || !sessionId) throw err;
      if (inTransaction) {
        markLost(
          new Error(
            `the Data API session ${sessionId} ended inside a transaction, which Redshift rolled back (${(err as Error).message})`,
          ),
        );
        throw broken;
      }
      // An idle session expired between statements: open a new one and restore its settings.
      log.debug(`Data API session ${sessionId} ended while idle (${(err as Error).message}); opening a new one`);
      sessionId = undefined;
      for (const set of settings) await awaitStatement(await execute(set, undefined));
      id = await execute(text, parameters);
    }
    log.debug(
      `Data API statement ${id}${sessionId ? ` (session ${sessionId})` : ''}: ${text.trim().split('\n')[0]?.slice(0, 120) ?? ''}`,
    );
    let described: DescribeStatementResponse;
    try {
      described = await awaitStatement(id);
    } catch (err) {
      if (sessionGone(err))
        markLost(
          new Error(
            `the Data API session ${sessionId ?? ''} ended (${(err as Error).message}); Redshift rolled back its open transaction`,
          ),
        );
      // A failed statement aborts the open transaction, which stays open until ROLLBACK, as on the wire path.
      throw err;
    }
    inTransaction = transactionAfter(command, text, inTransaction);
    if (command === 'SET' && !inTransaction) settings.push(text);
    const rowCount =
      typeof described.ResultRows === 'number' && described.ResultRows >= 0 ? described.ResultRows : null;
    if (!described.HasResultSet) return { command, columns: [], rows: [], rowCount };
    const { columns, types, rows } = await results(id);
    return { command, columns, types, rows, rowCount: rows.length };
  }

  return {
    async query<R extends object>(sql: string, values?: readonly unknown[]): Promise<QueryResult<R>> {
      const result = await run(sql, values);
      return { rows: result.rows as R[] };
    },
    async script(sql) {
      const out: StatementResult[] = [];
      for (const statement of splitStatements(sql)) out.push(await run(statement));
      return out;
    },
    copyFromStdin: undefined,
    get backendPid() {
      return pid;
    },
    onLost(listener) {
      if (broken) listener(broken);
      else lost.push(listener);
    },
    explain(err) {
      return broken && err !== broken && sessionGone(err) ? broken : err;
    },
    async end() {
      // The Data API has no call that ends a session: an idle one ends after SessionKeepAliveSeconds.
      if (ended) return;
      if (inTransaction && !broken) await run('ROLLBACK').catch(() => undefined);
      ended = true;
      for (const listener of lost.splice(0)) listener(new Error('connection closed'));
    },
  };
}
