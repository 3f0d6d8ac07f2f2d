/**
 * A stand-in for a Redshift cluster, which cannot run here: a connection that
 * records every statement and answers the few the load reads back. It checks
 * the order and text of what the tool sends, never SQL results.
 *
 * Load errors follow the system tables' documented columns: each COPY's
 * rejected rows are kept with the session (PG_BACKEND_PID(): SESSION_PID),
 * the table's id (pg_class oid: TABLE_ID) and the start time of its
 * transaction (SYSDATE, r_SYSDATE), and the STL / SYS queries answer by that
 * window (`session = $1 AND tbl = $2 AND starttime >= $3`), as Redshift does.
 * `earlierErrors` are rows of an earlier COPY of the same session and table,
 * which a query for this load's COPY must not return.
 *
 * `reader` stands for S3 (the JSONPaths file and the source listings).
 */
import { gunzipSync } from 'node:zlib';
import type { Connection } from '../../lib/db/connection.ts';
import { parseS3Uri } from '../../lib/config/s3-uri.ts';
import type { Database } from '../../lib/db/database.ts';
import { dialectByName } from '../../lib/dialect/index.ts';
import type { SourceObject, SourceReader } from '../../lib/sources/source-objects.ts';
import { JSONPATHS } from './fixtures.ts';

type Row = Record<string, unknown>;

export interface FakeRedshiftOptions {
  /** The COPY into this table fails ("Load into table … failed"). */
  failCopyOf?: string;
  /** …before its load began (a permission error, say): S3's error, no rejected row. */
  failBeforeLoad?: boolean;
  /** The rows the failing COPY rejected. */
  loadErrors?: Row[];
  /** Rows each successful COPY skipped (under MAXERROR), by table. */
  skipped?: Record<string, Row[]>;
  /** Load errors of an earlier COPY of this session into staging_events (an earlier transaction). */
  earlierErrors?: Row[];
  /** No STL tables (Serverless): a query on stl_load_errors fails. */
  serverless?: boolean;
  /** STL answers but holds nothing (concurrency scaling, Serverless): only SYS_LOAD_ERROR_DETAIL has the rows. */
  stlEmpty?: boolean;
  /** The records of load_ledger the load reads back (lib/stage/ledger.ts). */
  ledger?: Row[];
  /**
   * Reads an object list the ledger wrote for its COPY into ledger_listed
   * (gzip'd JSON Lines under the stage prefix, lib/stage/ledger.ts): the fake
   * then keeps the list, deletes the entries `ledger` holds with the same
   * size, version and mapping, and answers the pages of what is left, as the
   * SQL does. Default: read from S3 as this process's settings say (s3rver in the tests).
   */
  readObjectList?: (uri: string) => Promise<Buffer>;
  outOfRange?: Row;
  /** The objects the reader stands for, by s3:// URI, with their text (default: Sparkify's JSONPaths file and one object per source). */
  objects?: Record<string, string>;
  /** The reader's list() fails (no credentials). */
  listFails?: boolean;
  /** Columns NULL in every staged row (lib/stage/checks.ts). */
  nullColumns?: readonly string[];
}

export interface FakeRedshift {
  readonly db: Database;
  /** Every statement sent, in order, across connections. */
  readonly statements: string[];
  /** The parameters sent with each statement (same index as statements). */
  readonly values: (readonly unknown[] | undefined)[];
  /** S3 as the load sees it: the JSONPaths file and the objects under each source. */
  readonly reader: SourceReader;
}

export const DEFAULT_OBJECTS: Record<string, string> = {
  's3://udacity-dend/log_json_path.json': JSONPATHS,
  's3://udacity-dend/log_data/2018/11/2018-11-01-events.json': '{}',
  's3://udacity-dend/song_data/A/A/A/TRAAAAK128F9318786.json': '{}',
};

/** An object's bytes, read with the tool's S3 client and this process's settings. */
async function readFromS3(uri: string): Promise<Buffer> {
  const [{ createS3Client }, { GetObjectCommand }] = await Promise.all([
    import('../../lib/sources/s3-client.ts'),
    import('@aws-sdk/client-s3'),
  ]);
  const client = createS3Client(process.env['AWS_REGION'] ?? 'us-east-1', process.env);
  try {
    const { bucket, key } = parseS3Uri(uri);
    const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return Buffer.from((await out.Body?.transformToByteArray()) ?? []);
  } finally {
    client.destroy();
  }
}

/** load_runs' columns after every migration (20261202000100000 and the ones adding cost, context, drift). */
const LOAD_RUNS_COLUMNS = [
  'run_id',
  'command',
  'started_at',
  'ended_at',
  'outcome',
  'steps',
  'skipped_records',
  'skipped',
  'error',
  'cost',
  'context',
  'drift',
];

export function fakeRedshift(options: FakeRedshiftOptions = {}): FakeRedshift {
  const statements: string[] = [];
  const values: (readonly unknown[] | undefined)[] = [];
  const SESSION = 4242;
  const TABLE_IDS: Record<string, number> = { staging_events: 108001, staging_songs: 108002 };
  /** SYSDATE: the start of the current transaction, one second per transaction (text sorts as time). */
  let transactions = 0;
  const sysdate = () => `2026-12-07 10:00:${String(transactions).padStart(2, '0')}`;
  /** Every COPY's rejected rows, with the window the system tables keep. */
  const rejected: { session: number; tableId: number; start: string; rows: Row[] }[] = [];
  if (options.earlierErrors)
    rejected.push({
      session: SESSION,
      tableId: TABLE_IDS['staging_events'] as number,
      start: '2026-12-06 23:59:59',
      rows: options.earlierErrors,
    });
  interface ListedObject {
    ordinal: number;
    object_uri: string;
    object_size: number;
    object_version: string;
  }
  /** The temporary table ledger_listed (lib/stage/ledger.ts). */
  let listed: ListedObject[] = [];
  const client: Connection = {
    async query<R extends object>(text: string, params?: unknown[]): Promise<{ rows: R[] }> {
      const listFile = /^COPY ledger_listed \([^)]*\)\nFROM '([^']+)'/.exec(text)?.[1];
      if (listFile)
        listed = gunzipSync(await (options.readObjectList ?? readFromS3)(listFile))
          .toString('utf8')
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as ListedObject);
      return { rows: answer(text, params) as R[] };
    },
    async script() {
      throw new Error('not used by the load');
    },
    // Redshift takes no COPY FROM STDIN.
    copyFromStdin: undefined,
    backendPid: undefined,
    onLost() {},
    explain: (err) => err,
    async end() {},
  };
  function answer(text: string, params?: readonly unknown[]): Row[] {
    statements.push(text);
    values.push(params);
    if (text === 'BEGIN') transactions += 1;
    const copy = /^COPY (\w+)/.exec(text);
    if (copy) {
      const table = copy[1] as string;
      const failing = options.failCopyOf === table;
      if (failing && options.failBeforeLoad)
        throw Object.assign(new Error('S3ServiceException:Access Denied,Status 403,Error AccessDenied'), {
          code: 'XX000',
        });
      rejected.push({
        session: SESSION,
        tableId: TABLE_IDS[table] ?? 0,
        start: sysdate(),
        rows: failing ? (options.loadErrors ?? []) : (options.skipped?.[table] ?? []),
      });
      if (failing)
        throw Object.assign(
          new Error(`Load into table '${table}' failed. Check 'stl_load_errors' system table for details.`),
          { code: 'XX000' },
        );
      return [];
    }
    // By the COPY's window ($1 session, $2 table id, $3 start), as the system tables keep it.
    const inWindow = () =>
      rejected
        .filter(
          (r) =>
            r.session === Number(params?.[0]) && r.tableId === Number(params?.[1]) && r.start >= String(params?.[2]),
        )
        .flatMap((r) => r.rows);
    if (/FROM stl_load_errors/.test(text)) {
      if (options.serverless) throw new Error('relation "stl_load_errors" does not exist');
      if (options.stlEmpty) return [];
      return /WHERE query = -1/.test(text) ? [{ n: '0' }] : inWindow();
    }
    // SYS_LOAD_ERROR_DETAIL has no raw field value.
    if (/FROM sys_load_error_detail/.test(text)) return inWindow().map((r) => ({ ...r, value: null }));
    if (/PG_LAST_COPY_COUNT/.test(text)) return [{ n: '42' }];
    // lib/load/run-record.ts: load_runs' columns, as every migration leaves them.
    if (/^SELECT column_name FROM information_schema\.columns/.test(text) && params?.[0] === 'load_runs')
      return LOAD_RUNS_COLUMNS.map((column_name) => ({ column_name }));
    if (/^SELECT PG_BACKEND_PID\(\)/.test(text)) return [{ pid: SESSION }];
    if (/FROM pg_class c/.test(text)) return [{ table_id: TABLE_IDS[String(params?.[0])] }];
    if (/SYSDATE/.test(text)) return [{ since: sysdate() }];
    if (/AS out_of_range/.test(text)) return [options.outOfRange ?? { out_of_range: '0', lowest: null, highest: null }];
    if (/^SELECT object_uri, object_size, object_version(, mapping_fingerprint)? FROM load_ledger/.test(text))
      return options.ledger ?? [];
    if (/^CREATE TEMP TABLE ledger_listed/.test(text) || /^DROP TABLE IF EXISTS ledger_listed/.test(text)) {
      if (/^CREATE/.test(text)) listed = [];
      return [];
    }
    if (/^DELETE FROM ledger_listed USING load_ledger/.test(text)) {
      const same = (o: ListedObject, r: Row) =>
        r['object_uri'] === o.object_uri &&
        String(r['object_size']) === String(o.object_size) &&
        r['object_version'] === o.object_version &&
        r['mapping_fingerprint'] === params?.[1];
      listed = listed.filter((o) => !(options.ledger ?? []).some((r) => same(o, r)));
      return [];
    }
    const page = /^SELECT ordinal FROM ledger_listed WHERE ordinal > \$1 ORDER BY ordinal LIMIT (\d+)/.exec(text);
    if (page)
      return listed
        .filter((o) => o.ordinal > Number(params?.[0]))
        .slice(0, Number(page[1]))
        .map((o) => ({ ordinal: o.ordinal }));
    // lib/stage/checks.ts: each column's non-NULL count (0 for options.nullColumns).
    if (/ AS c0\b/.test(text)) {
      const counts: Record<string, string> = { n: '7' };
      for (const m of text.matchAll(/COUNT\((\w+)\) AS (c\d+)/g))
        counts[m[2] as string] = options.nullColumns?.includes(m[1] as string) ? '0' : '7';
      return [counts];
    }
    // lib/load/upsert.ts: the surrogate key checked after the MERGE (no repeated id).
    if (/HAVING COUNT\(\*\) > 1/.test(text)) return [];
    if (/COUNT\(\*\)/.test(text)) return [{ n: '7' }];
    return [];
  }
  const objects = options.objects ?? DEFAULT_OBJECTS;
  const reader: SourceReader = {
    async list(uri) {
      if (options.listFails)
        throw new Error(
          `${uri}: cannot list objects: CredentialsProviderError: Could not load credentials from any providers`,
        );
      return Object.entries(objects)
        .filter(([key]) => key.startsWith(uri))
        .map(
          ([key, text]): SourceObject => ({
            uri: key,
            size: Buffer.byteLength(text),
            version: `etag-${Buffer.byteLength(text)}`,
          }),
        );
    },
    async open(object) {
      return [Buffer.from(objects[object.uri] ?? '')];
    },
  };
  const db: Database = {
    dialect: dialectByName('redshift'),
    description: 'fake-redshift:5439/dev',
    schema: 'public',
    connect: async () => client,
    close: async () => undefined,
  };
  return { db, statements, values, reader };
}
