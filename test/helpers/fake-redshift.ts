/**
 * A stand-in for a Redshift cluster, which cannot run here: a connection that
 * records every statement and answers the few the load reads back. It checks
 * the order and text of what the tool sends, never SQL results.
 *
 * COPY ids follow PG_LAST_COPY_ID's documented rules
 * (https://docs.aws.amazon.com/redshift/latest/dg/PG_LAST_COPY_ID.html): the
 * session starts at `sessionCopyId` (an earlier COPY of the session, -1 for
 * none), and every COPY that begins loading takes the next id (a COPY that
 * fails before loading, `failBeforeLoad`, leaves it). The load-error tables
 * answer by that id (`query = $1` / `query_id = $1`), as Redshift does.
 *
 * `reader` stands for S3 (the JSONPaths file and the source listings).
 */
import type { Connection } from '../../lib/db/connection.ts';
import type { Database } from '../../lib/db/database.ts';
import { dialectByName } from '../../lib/dialect/index.ts';
import type { SourceObject, SourceReader } from '../../lib/sources/source-objects.ts';
import { JSONPATHS } from './fixtures.ts';

type Row = Record<string, unknown>;

export interface FakeRedshiftOptions {
  /** The COPY into this table fails ("Load into table … failed"). */
  failCopyOf?: string;
  /** …before its load began (a permission error, say): PG_LAST_COPY_ID does not move. */
  failBeforeLoad?: boolean;
  /** The rows the failing COPY rejected. */
  loadErrors?: Row[];
  /** Rows each successful COPY skipped (under MAXERROR), by table. */
  skipped?: Record<string, Row[]>;
  /** PG_LAST_COPY_ID() before the load: an earlier COPY of the session (default -1: none). */
  sessionCopyId?: number;
  /** Load errors recorded under the session's earlier COPY (sessionCopyId). */
  earlierErrors?: Row[];
  /** No STL tables (Serverless): a query on stl_load_errors fails. */
  serverless?: boolean;
  /** STL answers but holds nothing (concurrency scaling, Serverless): only SYS_LOAD_ERROR_DETAIL has the rows. */
  stlEmpty?: boolean;
  ledger?: Row[];
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

export function fakeRedshift(options: FakeRedshiftOptions = {}): FakeRedshift {
  const statements: string[] = [];
  const values: (readonly unknown[] | undefined)[] = [];
  let lastCopyId = options.sessionCopyId ?? -1;
  /** The rejected rows of each COPY id. */
  const errorsById = new Map<number, Row[]>();
  if (options.earlierErrors) errorsById.set(lastCopyId, options.earlierErrors);
  const client: Connection = {
    async query<R extends object>(text: string, params?: unknown[]): Promise<{ rows: R[] }> {
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
    const copy = /^COPY (\w+)/.exec(text);
    if (copy) {
      const table = copy[1] as string;
      const failing = options.failCopyOf === table;
      if (!(failing && options.failBeforeLoad)) {
        lastCopyId = lastCopyId < 0 ? 1001 : lastCopyId + 1;
        errorsById.set(lastCopyId, failing ? (options.loadErrors ?? []) : (options.skipped?.[table] ?? []));
      }
      if (failing) throw Object.assign(new Error(`Load into table '${table}' failed. Check 'stl_load_errors' system table for details.`), { code: 'XX000' });
      return [];
    }
    // By session (every COPY of this session) or by the COPY's id ($1), as the query asks.
    const bySession = /\bsession(_id)? = PG_BACKEND_PID\(\)/.test(text);
    const errorsOf = () => (bySession ? [...errorsById.values()].flat() : (errorsById.get(Number(params?.[0])) ?? []));
    if (/FROM stl_load_errors/.test(text)) {
      if (options.serverless) throw new Error('relation "stl_load_errors" does not exist');
      if (options.stlEmpty) return [];
      return errorsOf();
    }
    // SYS_LOAD_ERROR_DETAIL has no raw field value.
    if (/FROM sys_load_error_detail/.test(text)) return errorsOf().map((r) => ({ ...r, value: '' }));
    if (/PG_LAST_COPY_COUNT/.test(text)) return [{ n: '42', copy_id: String(lastCopyId) }];
    if (/PG_LAST_COPY_ID/.test(text)) return [{ copy_id: String(lastCopyId) }];
    if (/AS out_of_range/.test(text)) return [options.outOfRange ?? { out_of_range: '0', lowest: null, highest: null }];
    if (/^SELECT object_uri, object_size, object_version FROM load_ledger/.test(text)) return options.ledger ?? [];
    // lib/stage/checks.ts: each column's non-NULL count (0 for options.nullColumns).
    if (/ AS c0\b/.test(text)) {
      const counts: Record<string, string> = { n: '7' };
      for (const m of text.matchAll(/COUNT\((\w+)\) AS (c\d+)/g)) counts[m[2] as string] = options.nullColumns?.includes(m[1] as string) ? '0' : '7';
      return [counts];
    }
    if (/COUNT\(\*\)/.test(text)) return [{ n: '7' }];
    return [];
  }
  const objects = options.objects ?? DEFAULT_OBJECTS;
  const reader: SourceReader = {
    async list(uri) {
      if (options.listFails) throw new Error(`${uri}: cannot list objects: CredentialsProviderError: Could not load credentials from any providers`);
      return Object.entries(objects)
        .filter(([key]) => key.startsWith(uri))
        .map(([key, text]): SourceObject => ({ uri: key, size: Buffer.byteLength(text), version: `etag-${Buffer.byteLength(text)}` }));
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
