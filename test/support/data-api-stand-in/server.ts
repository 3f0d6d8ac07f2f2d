/**
 * A Redshift Data API stand-in: an HTTP server on 127.0.0.1 speaking the
 * service's JSON protocol (awsJson1_1: POST /, `X-Amz-Target:
 * RedshiftData.<Operation>`, errors as `{"__type": …, "message": …}`), with
 * the shapes of the published API model (aws/api-models-aws, redshift-data;
 * the same model @aws-sdk/client-redshift-data is generated from). It runs
 * each statement on a PostgreSQL server (the database named by the request's
 * `Database`) after the mechanical rewrites of ./rewrites.ts, and performs
 * COPY from S3 itself (./copy.ts, written from the COPY-from-JSON docs, not with the tool's staging code).
 *
 * Operations: ExecuteStatement (one statement; sessions with
 * SessionKeepAliveSeconds / SessionId; named parameters), DescribeStatement
 * (SUBMITTED → STARTED → FINISHED | FAILED | ABORTED, RedshiftPid,
 * RedshiftQueryId, ResultRows, HasResultSet), GetStatementResult (typed
 * fields, NextToken paging), CancelStatement; ExecuteStatement honours
 * ClientToken (the same token answers the same statement, run once).
 *
 * A session is one PostgreSQL connection (application_name
 * `data-api-session:<SessionId>`): it runs one statement at a time, ends when
 * idle for SessionKeepAliveSeconds (PostgreSQL then rolls back an open
 * transaction, as Redshift does), and ends when its backend is terminated.
 * Load errors go to public.stl_load_errors (clusters) and
 * public.sys_load_error_detail (both), created in each database on first use:
 * "STL_LOAD_ERRORS … doesn't contain queries run on … serverless" (r_STL_LOAD_ERRORS).
 * SVV_TRANSACTIONS (r_SVV_TRANSACTIONS) is a view over pg_locks.
 * STV_SLICES (r_STV_SLICES, one row a slice) is public.stv_slices, `slices`
 * rows (8 by default: a 4-node dc2.large). Every COPY's data-file GETs are
 * counted: `GET /stand-in/copies` answers them as JSON ({ copies: [{ table,
 * source, gets, rows }] }), for the tests of compaction.
 * Statements on a workgroup are billed into public.sys_serverless_usage
 * (SYS_SERVERLESS_USAGE, which "doesn't apply to provisioned … clusters"): a
 * busy window runs from a statement's start to the last end of the statements
 * that start within the minute after it, and is charged `rpus` × its seconds,
 * at least 60 ("billed for each second, with a 60-second minimum",
 * mgmt/serverless-billing); one row per window, from its start's minute to its
 * end's (the view's rows are minutes).
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { splitStatements } from '../../../lib/db/split-statements.ts';
import type { RecordProblem } from '../../../lib/errors.ts';
import { createSourceReader } from '../../../lib/sources/source-objects.ts';
import { parseCopy, performCopy } from './copy.ts';
import { rewrite, varcharBytesError } from './rewrites.ts';

export interface StandInOptions {
  /** A PostgreSQL server URL; the database part is replaced by each request's Database. */
  readonly postgresUrl: string;
  readonly port?: number;
  /** Rows per GetStatementResult page (the real service pages by size). */
  readonly pageRows?: number;
  /** Region of the S3 reads (COPY's REGION is accepted as given). */
  readonly region?: string;
  /** Rows of STV_SLICES (default 8). */
  readonly slices?: number;
  /** The workgroups' base capacity in RPUs, for SYS_SERVERLESS_USAGE (default 8). */
  readonly rpus?: number;
  /**
   * PG_LAST_COPY_ID() after a COPY that failed on its data: its page says
   * both "If the COPY fails because of invalid load data, the COPY ID is
   * updated" ('updated') and "If the COPY transaction is rolled back, the COPY
   * ID is not updated" ('not-updated', the stricter reading and the default)
   * (https://docs.aws.amazon.com/redshift/latest/dg/PG_LAST_COPY_ID.html).
   * test/redshift-live.test.ts settles it on a real cluster.
   */
  readonly lastCopyIdReading?: LastCopyIdReading;
}

export type LastCopyIdReading = 'updated' | 'not-updated';

/**
 * The Data API's own limits, enforced as the service does
 * (https://docs.aws.amazon.com/redshift/latest/mgmt/data-api.html,
 * data-api-troubleshooting.html; SqlParameter in the API reference).
 */
export const DATA_API_LIMITS = {
  /** "The maximum query statement size is 100 KB." */
  statementBytes: 100 * 1024,
  /** "The Data API size limit is 64 KB per row in the result set returned by the database." */
  rowBytes: 64 * 1024,
} as const;

/** SYS's query_id is not STL's query (r_STL_QUERY: "not the same identifier"): the stand-in keeps them apart by this offset. */
export const SYS_QUERY_ID_OFFSET = 7_000_000;

export interface StandIn {
  readonly endpoint: string;
  readonly port: number;
  close(): Promise<void>;
}

type Status = 'SUBMITTED' | 'STARTED' | 'FINISHED' | 'FAILED' | 'ABORTED';
type Target = { readonly WorkgroupName: string } | { readonly ClusterIdentifier: string };

interface Session {
  readonly id: string;
  readonly database: string;
  readonly target: Target;
  readonly keepAliveSeconds: number;
  readonly client: pg.Client;
  readonly pid: number;
  busy: boolean;
  ended: string | undefined;
  timer: NodeJS.Timeout | undefined;
  lastCopyCount: number;
  lastCopyId: number;
}

type FieldValue =
  | { isNull: true }
  | { booleanValue: boolean }
  | { longValue: number }
  | { doubleValue: number }
  | { stringValue: string };

interface Statement {
  readonly id: string;
  readonly sql: string;
  readonly database: string;
  readonly target: Target;
  readonly sessionId: string | undefined;
  readonly createdAt: number;
  readonly queryId: number;
  updatedAt: number;
  status: Status;
  error: string | undefined;
  pid: number | undefined;
  resultRows: number;
  columns: { name: string; label: string; typeName: string }[] | undefined;
  records: FieldValue[][] | undefined;
}

class ApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

const SESSION_TYPE_PARSERS = { getTypeParser: () => (v: string) => v } as unknown as pg.CustomTypesConfig;

function field(value: unknown, typeName: string): FieldValue {
  if (value === null || value === undefined) return { isNull: true };
  const text = String(value);
  if (typeName === 'bool') return { booleanValue: text === 't' || text === 'true' };
  if (typeName === 'int2' || typeName === 'int4' || typeName === 'int8' || typeName === 'oid')
    return { longValue: Number(text) };
  if (typeName === 'float4' || typeName === 'float8') return { doubleValue: Number(text) };
  return { stringValue: text };
}

const LOAD_ERROR_TABLES = [
  `CREATE TABLE IF NOT EXISTS public.stl_load_errors (userid INTEGER, slice INTEGER, tbl INTEGER, starttime TIMESTAMP, session INTEGER, query INTEGER,
    filename CHARACTER(256), line_number BIGINT, colname CHARACTER(127), type CHARACTER(10), col_length CHARACTER(10), position INTEGER,
    raw_line CHARACTER(1024), raw_field_value CHARACTER(1024), err_code INTEGER, err_reason CHARACTER(100))`,
  `CREATE TABLE IF NOT EXISTS public.sys_load_error_detail (user_id INTEGER, query_id BIGINT, transaction_id BIGINT, session_id INTEGER, table_id INTEGER, start_time TIMESTAMP,
    file_name CHARACTER(1280), line_number BIGINT, column_name CHARACTER(127), column_type CHARACTER(10), column_length CHARACTER(10), position INTEGER,
    error_code INTEGER, error_message CHARACTER(512))`,
];

const USAGE_TABLE = `CREATE TABLE IF NOT EXISTS public.sys_serverless_usage (start_time TIMESTAMP, end_time TIMESTAMP, compute_seconds DOUBLE PRECISION,
  compute_capacity DOUBLE PRECISION, data_storage INTEGER, cross_region_transferred_data INTEGER, charged_seconds INTEGER)`;

/**
 * SVV_TRANSACTIONS (r_SVV_TRANSACTIONS): "transactions that currently hold
 * locks on tables", a row per lock held or requested: txn_owner, txn_db, xid,
 * pid, txn_start, lock_mode, lockable_object_type ('relation' or
 * 'transactionid'), relation (the table id; NULL for a transaction's own
 * lock) and granted. Made from PostgreSQL's pg_locks and pg_stat_activity,
 * whose lock modes have the same names; lib/db/lock-wait.ts reads it to say
 * who holds a table a migration waits for.
 */
const TRANSACTIONS_VIEW = `CREATE OR REPLACE VIEW public.svv_transactions AS
SELECT CAST(a.usename AS TEXT) AS txn_owner, CAST(current_database() AS TEXT) AS txn_db,
  CAST(CAST(a.backend_xid AS TEXT) AS BIGINT) AS xid, l.pid AS pid,
  CAST(a.xact_start AS TIMESTAMP) AS txn_start, l.mode AS lock_mode,
  CASE l.locktype WHEN 'relation' THEN 'relation' ELSE 'transactionid' END AS lockable_object_type,
  CAST(CAST(l.relation AS BIGINT) AS INTEGER) AS relation, l.granted AS granted
FROM pg_locks AS l
JOIN pg_stat_activity AS a ON a.pid = l.pid
WHERE l.locktype IN ('relation', 'transactionid') AND (l.locktype <> 'relation' OR l.database = (SELECT oid FROM pg_database WHERE datname = current_database()))`;

/** STV_SLICES: `n` slices, two a node. */
const slicesTable = (n: number) => [
  'CREATE TABLE IF NOT EXISTS public.stv_slices (node INTEGER, slice INTEGER, localslice INTEGER, type CHARACTER(1))',
  `INSERT INTO public.stv_slices SELECT s / 2, s, s % 2, 'D' FROM generate_series(0, ${n - 1}) AS s WHERE NOT EXISTS (SELECT 1 FROM public.stv_slices)`,
];

/** A TIMESTAMP literal in UTC, whole seconds. */
const utcText = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');

export async function startDataApiStandIn(options: StandInOptions): Promise<StandIn> {
  const pageRows = options.pageRows ?? 1000;
  const reader = createSourceReader(options.region ?? process.env['AWS_REGION'] ?? 'us-west-2');
  const sessions = new Map<string, Session>();
  const statements = new Map<string, Statement>();
  /**
   * ExecuteStatement's idempotency: "ClientToken: A unique, case-sensitive
   * identifier that you provide to ensure the idempotency of the request"
   * (API_ExecuteStatement): a request sent again with a token already seen
   * gets the first answer (the same statement), and is not run again; the
   * same token with another Sql is refused (IdempotentParameterMismatch, as
   * AWS's idempotent APIs do).
   */
  const byToken = new Map<string, { readonly sql: string; readonly answer: Record<string, unknown> }>();
  const prepared = new Map<string, Promise<void>>();
  const typeNames = new Map<number, string>();
  /** Each workgroup's (and database's) current busy window, and the write of its row, one at a time. */
  const windows = new Map<string, { start: number; end: number; written: Promise<void> }>();
  const rpus = options.rpus ?? 8;
  let nextQueryId = 1000;
  const lastCopyIdReading: LastCopyIdReading = options.lastCopyIdReading ?? 'not-updated';
  /** Each COPY's data-file GETs, in the order they ran (GET /stand-in/copies). */
  const copies: { table: string; source: string; gets: number; rows: number }[] = [];

  const urlOf = (database: string) => {
    const u = new URL(options.postgresUrl);
    u.pathname = `/${database}`;
    return u.toString();
  };

  async function openClient(database: string, name: string): Promise<pg.Client> {
    const client = new pg.Client({
      connectionString: urlOf(database),
      types: SESSION_TYPE_PARSERS,
      application_name: name,
    });
    client.on('error', () => undefined);
    await client.connect();
    // Redshift sessions run in UTC unless told otherwise (r_timezone_config).
    await client.query("SET TIME ZONE 'UTC'");
    return client;
  }

  /** Runs on a connection of its own, outside any session's transaction (system tables are not transactional). */
  async function admin<T>(database: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
    const c = await openClient(database, 'data-api-stand-in');
    try {
      return await fn(c);
    } finally {
      await c.end().catch(() => undefined);
    }
  }

  function prepare(database: string): Promise<void> {
    let p = prepared.get(database);
    if (!p) {
      p = admin(database, async (c) => {
        for (const sql of [...LOAD_ERROR_TABLES, USAGE_TABLE, TRANSACTIONS_VIEW, ...slicesTable(options.slices ?? 8)])
          await c
            .query(sql)
            .catch((err: { code?: string }) =>
              err.code === '23505' || err.code === '42P07' ? undefined : Promise.reject(err),
            );
      });
      prepared.set(database, p);
      p.catch(() => prepared.delete(database));
    }
    return p;
  }

  async function typeName(client: pg.Client, oid: number): Promise<string> {
    let name = typeNames.get(oid);
    if (!name) {
      name = String(
        (await client.query('SELECT typname FROM pg_type WHERE oid = $1', [oid])).rows[0]?.typname ?? 'unknown',
      );
      typeNames.set(oid, name);
    }
    return name;
  }

  /**
   * A COPY's rejected rows, as the system tables keep them: the session (the
   * backend PID, PG_BACKEND_PID()), the table's oid, the COPY's start in UTC;
   * STL's `query` is the statement's RedshiftQueryId, SYS's `query_id` another
   * number. STL rows on provisioned clusters only (r_STL_LOAD_ERRORS: not on
   * Serverless, nor concurrency scaling).
   */
  async function recordLoadErrors(
    s: Statement,
    pid: number,
    tableId: number,
    started: Date,
    problems: readonly RecordProblem[],
  ): Promise<void> {
    if (problems.length === 0) return;
    const cut = (v: string | undefined, n: number) => (v ?? '').slice(0, n);
    const start = started.toISOString().replace('T', ' ').replace('Z', '');
    await admin(s.database, async (c) => {
      for (const p of problems) {
        if ('ClusterIdentifier' in s.target) {
          await c.query(
            `INSERT INTO public.stl_load_errors (userid, slice, tbl, starttime, session, query, filename, line_number, colname, type, col_length, position, raw_line, raw_field_value, err_code, err_reason)
             VALUES (100, 0, $1, $2, $3, $4, $5, $6, $7, '', '', 0, '', $8, 1200, $9)`,
            [
              tableId,
              start,
              pid,
              s.queryId,
              cut(p.file, 256),
              p.line,
              cut(p.field, 127),
              cut(p.value, 1024),
              cut(p.reason, 100),
            ],
          );
        }
        await c.query(
          `INSERT INTO public.sys_load_error_detail (user_id, query_id, transaction_id, session_id, table_id, start_time, file_name, line_number, column_name, column_type, column_length, position, error_code, error_message)
           VALUES (100, $1, 0, $2, $3, $4, $5, $6, $7, '', '', 0, 1200, $8)`,
          [
            s.queryId + SYS_QUERY_ID_OFFSET,
            pid,
            tableId,
            start,
            cut(p.file, 1280),
            p.line,
            cut(p.field, 127),
            cut(p.reason, 512),
          ],
        );
      }
    });
  }

  /** Bills a finished statement on a workgroup into its busy window's SYS_SERVERLESS_USAGE row. */
  function recordUsage(s: Statement): Promise<void> {
    if (!('WorkgroupName' in s.target)) return Promise.resolve();
    const key = `${s.target.WorkgroupName}/${s.database}`;
    const open = windows.get(key);
    const w =
      open && s.createdAt <= open.end + 60_000
        ? open
        : { start: s.createdAt, end: s.updatedAt, written: open?.written ?? Promise.resolve() };
    w.end = Math.max(w.end, s.updatedAt);
    windows.set(key, w);
    const from = Math.floor(w.start / 60_000) * 60_000;
    const seconds = (w.end - w.start) / 1000;
    const row = [
      utcText(from),
      utcText(Math.max(from + 60_000, Math.ceil(w.end / 60_000) * 60_000)),
      rpus * seconds,
      rpus,
      rpus * Math.max(60, Math.ceil(seconds)),
    ];
    w.written = w.written
      .then(() =>
        admin(s.database, async (c) => {
          await c.query('DELETE FROM public.sys_serverless_usage WHERE start_time = $1', [row[0]]);
          await c.query('INSERT INTO public.sys_serverless_usage VALUES ($1, $2, $3, $4, 0, 0, $5)', row);
        }),
      )
      .catch(() => undefined);
    return w.written;
  }

  /** Runs one statement on a PostgreSQL connection; fills in the statement's outcome. */
  async function runOn(
    client: pg.Client,
    s: Statement,
    session: Session | undefined,
    parameters: readonly { name: string; value: string }[],
  ): Promise<void> {
    const pid = (client as unknown as { processID: number }).processID;
    s.pid = pid;
    s.status = 'STARTED';
    s.updatedAt = Date.now();
    let ended: 'FINISHED' | 'ABORTED' | 'FAILED';
    try {
      const copy = parseCopy(s.sql);
      if (copy) {
        const started = new Date();
        const tableId = Number(
          (await client.query<{ id: string }>('SELECT CAST(to_regclass($1) AS oid) AS id', [copy.table])).rows[0]?.id ??
            0,
        );
        const outcome = await performCopy(client, copy, reader);
        copies.push({ table: copy.table, source: copy.source, gets: outcome.gets, rows: outcome.rows });
        await recordLoadErrors(s, pid, tableId, started, outcome.rejected);
        // PG_LAST_COPY_ID is "updated when the COPY command begins the load process"; a missing prefix
        // loads nothing. A COPY that failed on its data: under the reading chosen (lastCopyIdReading).
        const began = !outcome.error || outcome.rejected.length > 0;
        const failedOnData = outcome.error !== undefined && outcome.rejected.length > 0;
        if (session && began && !(failedOnData && lastCopyIdReading === 'not-updated')) session.lastCopyId = s.queryId;
        if (outcome.error) throw outcome.error;
        if (session) session.lastCopyCount = outcome.rows;
        s.resultRows = outcome.rows;
      } else {
        let text = rewrite(s.sql, {
          lastCopyCount: session?.lastCopyCount ?? 0,
          lastCopyId: session?.lastCopyId ?? -1,
        });
        const values: string[] = [];
        for (const p of parameters) {
          values.push(p.value);
          text = text.replace(new RegExp(`(?<![:\\w]):${p.name}\\b`, 'g'), `$${values.length}`);
        }
        // TRUNCATE "commits the transaction in which it is run" (r_TRUNCATE).
        if (/^\s*TRUNCATE\b/i.test(text)) await client.query('COMMIT');
        const result = await client.query({ text, values, rowMode: 'array' });
        if (result.fields && result.fields.length > 0) {
          const names = await Promise.all(result.fields.map((f) => typeName(client, f.dataTypeID)));
          const rows = result.rows as unknown[][];
          const wide = rows.findIndex(
            (row) =>
              row.reduce<number>((n, v) => n + (v === null ? 0 : Buffer.byteLength(String(v))), 0) >
              DATA_API_LIMITS.rowBytes,
          );
          if (wide !== -1)
            throw new Error(
              `ERROR: Packet for query is too large: row ${wide + 1} of the result is over the Data API's ${DATA_API_LIMITS.rowBytes} bytes per row`,
            );
          s.columns = result.fields.map((f, i) => ({ name: f.name, label: f.name, typeName: names[i] ?? 'unknown' }));
          s.records = rows.map((row) => row.map((v, i) => field(v, names[i] ?? 'unknown')));
          s.resultRows = s.records.length;
        } else {
          s.resultRows = result.rowCount ?? -1;
        }
      }
      ended = 'FINISHED';
    } catch (err) {
      const e = err as { message?: string; code?: string };
      // pg_cancel_backend (CancelStatement) ends a statement as ABORTED; everything else FAILED.
      ended = e.code === '57014' ? 'ABORTED' : 'FAILED';
      s.error =
        varcharBytesError(e.message ?? '') ??
        (/^ERROR:/.test(e.message ?? '') ? e.message : `ERROR: ${e.message ?? String(err)}`);
    }
    s.updatedAt = Date.now();
    // Billed before the statement is seen to end, so that the client's next statement reads its usage row.
    await recordUsage(s);
    s.status = ended;
  }

  function endSession(session: Session, why: string): void {
    if (session.ended) return;
    session.ended = why;
    clearTimeout(session.timer);
    void session.client.end().catch(() => undefined);
  }

  function idle(session: Session): void {
    session.busy = false;
    clearTimeout(session.timer);
    session.timer = setTimeout(
      () => endSession(session, `idle for ${session.keepAliveSeconds}s (SessionKeepAliveSeconds)`),
      session.keepAliveSeconds * 1000,
    );
    session.timer.unref();
  }

  function targetOf(input: Record<string, unknown>): Target {
    const workgroup = input['WorkgroupName'];
    const cluster = input['ClusterIdentifier'];
    if (typeof workgroup === 'string' && typeof cluster === 'string')
      throw new ApiError('ValidationException', 'Specify either WorkgroupName or ClusterIdentifier, not both');
    if (typeof workgroup === 'string') {
      if (input['DbUser'] !== undefined)
        throw new ApiError(
          'ValidationException',
          'DbUser is not supported with WorkgroupName: Redshift Serverless maps the IAM identity to a database user',
        );
      return { WorkgroupName: workgroup };
    }
    if (typeof cluster === 'string') return { ClusterIdentifier: cluster };
    throw new ApiError(
      'ValidationException',
      'Either WorkgroupName or ClusterIdentifier is required when SessionId is not given',
    );
  }

  async function executeStatement(input: Record<string, unknown>): Promise<Record<string, unknown>> {
    const token = input['ClientToken'];
    const seen = typeof token === 'string' ? byToken.get(token) : undefined;
    if (seen) {
      if (seen.sql !== input['Sql'])
        throw new ApiError(
          'IdempotentParameterMismatchException',
          'The ClientToken was already used with different parameters',
        );
      return seen.answer;
    }
    const answer = await executeNewStatement(input);
    if (typeof token === 'string') byToken.set(token, { sql: String(input['Sql']), answer });
    return answer;
  }

  async function executeNewStatement(input: Record<string, unknown>): Promise<Record<string, unknown>> {
    const sql = input['Sql'];
    if (typeof sql !== 'string' || sql.trim() === '') throw new ApiError('ValidationException', 'Sql is required');
    if (splitStatements(sql).length !== 1)
      throw new ApiError(
        'ValidationException',
        'ExecuteStatement runs exactly one SQL statement; use BatchExecuteStatement for several',
      );
    if (Buffer.byteLength(sql) > DATA_API_LIMITS.statementBytes)
      throw new ApiError('ValidationException', 'Cannot process query string larger than 100kB');
    const parameters = (input['Parameters'] ?? []) as { name?: unknown; value?: unknown }[];
    for (const p of parameters) {
      if (typeof p.name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(p.name) || typeof p.value !== 'string')
        throw new ApiError('ValidationException', 'Each parameter needs a name and a string value');
      // SqlParameter.value: "Length Constraints: Minimum length of 1" (API reference, SqlParameter).
      if (p.value.length < 1)
        throw new ApiError(
          'ValidationException',
          `1 validation error detected: Value '' at 'parameters.${p.name}.member.value' failed to satisfy constraint: Member must have length greater than or equal to 1`,
        );
    }
    if (input['SecretArn'] !== undefined && input['DbUser'] !== undefined)
      throw new ApiError('ValidationException', 'Specify either SecretArn or DbUser, not both');
    const sessionId = input['SessionId'];
    let session: Session | undefined;
    if (typeof sessionId === 'string') {
      for (const name of [
        'WorkgroupName',
        'ClusterIdentifier',
        'Database',
        'SecretArn',
        'DbUser',
        'SessionKeepAliveSeconds',
      ]) {
        if (input[name] !== undefined)
          throw new ApiError(
            'ValidationException',
            `${name} cannot be specified with SessionId: the session already has it`,
          );
      }
      session = sessions.get(sessionId);
      if (!session || session.ended)
        throw new ApiError(
          'ValidationException',
          `Session ${sessionId} is not available: it ended${session?.ended ? ` (${session.ended})` : ''}`,
        );
      if (session.busy)
        throw new ApiError('ActiveStatementsExceededException', `Session ${sessionId} is running another statement`);
      clearTimeout(session.timer);
    }
    const target = session?.target ?? targetOf(input);
    const database = session?.database ?? input['Database'];
    if (typeof database !== 'string' || database === '')
      throw new ApiError('ValidationException', 'Database is required');
    const keepAlive = input['SessionKeepAliveSeconds'];
    if (
      keepAlive !== undefined &&
      (typeof keepAlive !== 'number' || !Number.isInteger(keepAlive) || keepAlive < 0 || keepAlive > 86400)
    ) {
      throw new ApiError('ValidationException', 'SessionKeepAliveSeconds must be 0 to 86400');
    }
    try {
      await prepare(database);
      if (!session && typeof keepAlive === 'number' && keepAlive > 0) {
        const id = randomUUID();
        const client = await openClient(database, `data-api-session:${id}`);
        const created: Session = {
          id,
          database,
          target,
          keepAliveSeconds: keepAlive,
          client,
          pid: (client as unknown as { processID: number }).processID,
          busy: false,
          ended: undefined,
          timer: undefined,
          lastCopyCount: 0,
          lastCopyId: -1,
        };
        client.on('error', (err) => endSession(created, `its connection ended: ${err.message}`));
        client.on('end', () => endSession(created, 'its connection ended'));
        sessions.set(id, created);
        session = created;
      }
    } catch (err) {
      throw new ApiError(
        'DatabaseConnectionException',
        `Connection to the database ${database} failed: ${(err as Error).message}`,
      );
    }
    const s: Statement = {
      id: randomUUID(),
      sql,
      database,
      target,
      sessionId: session?.id,
      createdAt: Date.now(),
      updatedAt: Date.now(),
      queryId: nextQueryId++,
      status: 'SUBMITTED',
      error: undefined,
      pid: undefined,
      resultRows: -1,
      columns: undefined,
      records: undefined,
    };
    statements.set(s.id, s);
    const params = parameters as { name: string; value: string }[];
    if (session) {
      const held = session;
      held.busy = true;
      void runOn(held.client, s, held, params).finally(() => (held.ended ? undefined : idle(held)));
    } else {
      void (async () => {
        let client: pg.Client | undefined;
        try {
          client = await openClient(database, 'data-api-statement');
          await runOn(client, s, undefined, params);
        } catch (err) {
          s.status = 'FAILED';
          s.error = `ERROR: ${(err as Error).message}`;
        } finally {
          await client?.end().catch(() => undefined);
        }
      })();
    }
    return {
      Id: s.id,
      CreatedAt: s.createdAt / 1000,
      Database: database,
      ...target,
      ...(session ? { SessionId: session.id } : {}),
      ...pick(input, ['SecretArn', 'DbUser']),
    };
  }

  function statement(input: Record<string, unknown>): Statement {
    const id = input['Id'];
    const s = typeof id === 'string' ? statements.get(id.replace(/:\d+$/, '')) : undefined;
    if (!s) throw new ApiError('ResourceNotFoundException', `Query does not exist: ${String(id)}`);
    return s;
  }

  function describeStatement(input: Record<string, unknown>): Record<string, unknown> {
    const s = statement(input);
    return {
      Id: s.id,
      Status: s.status,
      ...(s.error ? { Error: s.error } : {}),
      QueryString: s.sql,
      Database: s.database,
      ...s.target,
      ...(s.sessionId ? { SessionId: s.sessionId } : {}),
      CreatedAt: s.createdAt / 1000,
      UpdatedAt: s.updatedAt / 1000,
      Duration: (s.updatedAt - s.createdAt) * 1_000_000,
      HasResultSet: s.status === 'FINISHED' && s.columns !== undefined,
      ResultRows: s.status === 'FINISHED' ? s.resultRows : -1,
      ResultSize: s.records ? JSON.stringify(s.records).length : 0,
      RedshiftQueryId: s.queryId,
      ...(s.pid ? { RedshiftPid: s.pid } : {}),
    };
  }

  function getStatementResult(input: Record<string, unknown>): Record<string, unknown> {
    const s = statement(input);
    if (s.status !== 'FINISHED')
      throw new ApiError('ValidationException', `Query has not finished: its status is ${s.status}`);
    if (!s.columns || !s.records)
      throw new ApiError(
        'ResourceNotFoundException',
        'Query does not have result. Please check query status with DescribeStatement.',
      );
    const token = input['NextToken'];
    const offset =
      typeof token === 'string' && token !== ''
        ? Number(Buffer.from(token, 'base64').toString('utf8').split(':')[1])
        : 0;
    if (!Number.isInteger(offset) || offset < 0 || offset > s.records.length)
      throw new ApiError('ValidationException', 'Invalid NextToken');
    const end = Math.min(offset + pageRows, s.records.length);
    return {
      Records: s.records.slice(offset, end),
      ColumnMetadata: s.columns.map((c) => ({
        name: c.name,
        label: c.label,
        typeName: c.typeName,
        nullable: 1,
        isCaseSensitive: true,
        isCurrency: false,
        isSigned: true,
        precision: 0,
        scale: 0,
        schemaName: '',
        tableName: '',
      })),
      TotalNumRows: s.records.length,
      ...(end < s.records.length ? { NextToken: Buffer.from(`${s.id}:${end}`).toString('base64') } : {}),
    };
  }

  async function cancelStatement(input: Record<string, unknown>): Promise<Record<string, unknown>> {
    const s = statement(input);
    if (s.status !== 'STARTED' && s.status !== 'SUBMITTED')
      throw new ApiError('ValidationException', `Could not cancel a query that is already in ${s.status} state`);
    if (s.pid) await admin(s.database, (c) => c.query('SELECT pg_cancel_backend($1)', [s.pid]));
    return { Status: true };
  }

  const operations: Record<
    string,
    (input: Record<string, unknown>) => Promise<Record<string, unknown>> | Record<string, unknown>
  > = {
    ExecuteStatement: executeStatement,
    DescribeStatement: describeStatement,
    GetStatementResult: getStatementResult,
    CancelStatement: cancelStatement,
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const reply = (status: number, body: unknown, type?: string) => {
        res.writeHead(status, {
          'content-type': 'application/x-amz-json-1.1',
          ...(type ? { 'x-amzn-errortype': type } : {}),
          'x-amzn-requestid': randomUUID(),
        });
        res.end(JSON.stringify(body));
      };
      if (req.method === 'GET' && req.url === '/stand-in/copies') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ copies }));
        return;
      }
      const target = String(req.headers['x-amz-target'] ?? '');
      const m = /^RedshiftData\.(\w+)$/.exec(target);
      const operation = m ? operations[m[1] ?? ''] : undefined;
      if (req.method !== 'POST' || !operation) {
        reply(
          400,
          { __type: 'UnknownOperationException', message: `Unknown operation ${target}` },
          'UnknownOperationException',
        );
        return;
      }
      let input: Record<string, unknown>;
      try {
        input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      } catch {
        reply(400, { __type: 'SerializationException', message: 'Invalid JSON' }, 'SerializationException');
        return;
      }
      Promise.resolve()
        .then(() => operation(input))
        .then(
          (out) => reply(200, out),
          (err: unknown) => {
            if (err instanceof ApiError) reply(400, { __type: err.type, message: err.message }, err.type);
            else
              reply(
                500,
                { __type: 'InternalServerException', message: (err as Error).message },
                'InternalServerException',
              );
          },
        );
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    async close() {
      for (const s of sessions.values()) endSession(s, 'the stand-in stopped');
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
    },
  };
}

function pick(input: Record<string, unknown>, names: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(names.filter((n) => input[n] !== undefined).map((n) => [n, input[n]]));
}
