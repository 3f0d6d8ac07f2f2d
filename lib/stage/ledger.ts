/**
 * The load ledger: which source objects each load loaded, so that
 * `--incremental` stages only new or changed objects. A run records its
 * objects as 'loaded' once every star table has been filled, in one
 * transaction that also drops the older records of the same objects; the
 * objects of a run that died before are staged again by the next run (the
 * transforms are idempotent, so that is safe). This module writes the
 * ledger on both engines and compares the listed objects with it, in SQL:
 * the object list copied into a temporary table (COPY FROM STDIN on
 * PostgreSQL; on Redshift a gzip'd JSON Lines file under the stage prefix,
 * COPY'd from S3), so that neither the ledger nor the list of what is new is
 * held whole by this process, and Redshift gets a fixed number of statements
 * instead of one INSERT per 500 objects (issue 27 item 5, issue 26).
 */
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type { Connection } from '../db/connection.ts';
import type { DialectName } from '../dialect/dialect.ts';
import { redshiftDialect } from '../dialect/redshift/dialect.ts';
import type { JsonMapping } from '../sources/json-mapping.ts';
import type { SourceObject, SourceObjects } from '../sources/source-objects.ts';
import { Positions, selectObjects } from '../sources/object-list.ts';
import { escapeText } from './postgres/copy-row.ts';
import type { LedgerFile, LedgerFiles } from './plan.ts';
import type { StagedObjects } from './strategy.ts';

export const LEDGER_TABLE = 'load_ledger';
/** The columns a ledger row fills, in this order. */
export const LEDGER_COLUMNS =
  'table_name, object_uri, object_size, object_version, mapping_fingerprint, run_id, status, recorded_at';

/** One object loaded by a run (status 'loaded', recorded at the insert's time). */
export interface LedgerRow {
  readonly table: string;
  readonly object: SourceObject;
  readonly runId: string;
  /** mappingFingerprint of the mapping the object was staged with. */
  readonly mapping: string;
}

/**
 * What an object was staged with besides its bytes: the JSON mapping ('auto',
 * 'auto ignorecase', or the JSONPaths file's paths as parsed) and the COPY
 * column list, as a SHA-256 in hex (64 characters, load_ledger.mapping_fingerprint).
 * A fixed LOG_JSONPATH changes it, so `--incremental` stages every object of
 * that table again (issue 26, item 3). Paths are compared as parsed: a
 * reformatted file with the same paths is the same mapping.
 */
export function mappingFingerprint(mapping: JsonMapping | string, columns: readonly string[]): string {
  const what =
    typeof mapping === 'string'
      ? { unread: mapping }
      : mapping.kind === 'auto'
        ? { auto: mapping.ignoreCase ? 'ignorecase' : 'exact' }
        : { paths: mapping.paths };
  return createHash('sha256')
    .update(JSON.stringify({ ...what, columns }))
    .digest('hex');
}

const fingerprint = (o: { size: number; version: string }, mapping: string | null) =>
  `${o.size}:${o.version}:${mapping ?? ''}`;

/**
 * The temporary tables the ledger compares and writes through. A temporary
 * table is visible to its session only and dropped when the session ends
 * (Amazon Redshift Database Developer Guide, CREATE TABLE, TEMPORARY:
 * https://docs.aws.amazon.com/redshift/latest/dg/r_CREATE_TABLE_NEW.html);
 * a Data API connection is one session (lib/db/data-api-connection.ts), so it
 * lives from its COPY to the statements that read it. Each is dropped first
 * (a run that died in the same session may have left one) and after use.
 */
export const LISTED_TABLE = 'ledger_listed';
export const LOADED_TABLE = 'ledger_loaded';
const LISTED_COLUMNS = ['ordinal', 'object_uri', 'object_size', 'object_version'] as const;
const LOADED_COLUMNS = ['table_name', 'object_uri', 'object_size', 'object_version', 'mapping_fingerprint'] as const;
const LISTED_DDL = `CREATE TEMP TABLE ${LISTED_TABLE} (ordinal INTEGER NOT NULL, object_uri VARCHAR(2048) NOT NULL, object_size BIGINT, object_version VARCHAR(256))`;
const LOADED_DDL = `CREATE TEMP TABLE ${LOADED_TABLE} (table_name VARCHAR(64) NOT NULL, object_uri VARCHAR(2048) NOT NULL, object_size BIGINT, object_version VARCHAR(256), mapping_fingerprint VARCHAR(64))`;
const dropTable = (table: string) => `DROP TABLE IF EXISTS ${table}`;

/**
 * The listed objects the ledger records as loaded with the same size,
 * version and mapping ($1 the table, $2 the mapping) are deleted from the
 * temporary list: what is left is new or changed (a record without a
 * mapping, written before mapping_fingerprint existed, matches nothing).
 */
export const DELETE_UNCHANGED = `DELETE FROM ${LISTED_TABLE} USING ${LEDGER_TABLE} AS rec
WHERE rec.table_name = $1 AND rec.status = 'loaded'
    AND rec.object_uri = ${LISTED_TABLE}.object_uri
    AND rec.object_size = ${LISTED_TABLE}.object_size
    AND rec.object_version = ${LISTED_TABLE}.object_version
    AND rec.mapping_fingerprint = $2`;

/**
 * Ordinals of new or changed objects read a page at a time, after the last one
 * read ($1): a result stays far below the Data API's cap on a result set
 * ("If you need to return more than 100 MB, you can run multiple statement
 * calls with the LIMIT clause in your query": Amazon Redshift Management
 * Guide, Troubleshooting issues for Amazon Redshift Data API,
 * https://docs.aws.amazon.com/redshift/latest/mgmt/data-api-troubleshooting.html).
 */
export const FRESH_PAGE_ROWS = 100_000;
export const freshPage = (rows: number) =>
  `SELECT ordinal FROM ${LISTED_TABLE} WHERE ordinal > $1 ORDER BY ordinal LIMIT ${rows}`;

/** Lines of one listed object, tab-separated for PostgreSQL's COPY FROM STDIN (text format). */
const listedText = (o: SourceObject, i: number) => `${i}\t${escapeText(o.uri)}\t${o.size}\t${escapeText(o.version)}\n`;
/** …and as JSON Lines for Redshift's COPY … FORMAT AS JSON 'auto' (keys are the column names). */
const listedJson = (o: SourceObject, i: number) =>
  `${JSON.stringify({ ordinal: i, object_uri: o.uri, object_size: o.size, object_version: o.version })}\n`;

/** Lines joined a batch at a time: one string per batch, never one for the whole list. */
function* batched<T>(items: Iterable<T>, line: (item: T, i: number) => string): Generator<string> {
  let batch = '';
  let n = 0;
  let i = 0;
  for (const item of items) {
    batch += line(item, i);
    i += 1;
    n += 1;
    if (n === LEDGER_BATCH) {
      yield batch;
      batch = '';
      n = 0;
    }
  }
  if (batch) yield batch;
}

/** Where the ledger reads and writes through: PostgreSQL's COPY FROM STDIN, Redshift's COPY of a file, or neither. */
export type LedgerPath = 'copy-from-stdin' | 'copy-from-s3' | 'client';

export function ledgerPath(engine: DialectName, files: LedgerFiles | undefined): LedgerPath {
  if (engine === 'postgres') return 'copy-from-stdin';
  return files ? 'copy-from-s3' : 'client';
}

/**
 * Objects never loaded, or changed since they were: size, ETag/mtime, or the
 * mapping they were staged with (a record without one, written before
 * mapping_fingerprint existed, counts as changed). The comparison runs in SQL
 * where the listed objects can be copied into a temporary table (PostgreSQL
 * through COPY FROM STDIN, Redshift through a file under the stage prefix):
 * only the ordinals of the new or changed ones come back, a page at a time,
 * so neither the ledger nor its answer is held here whole. Without a prefix on
 * Redshift, the ledger's records of the table are read (the path before; docs/redshift.md).
 */
export async function newOrChanged(
  conn: Connection,
  engine: DialectName,
  table: string,
  objects: SourceObjects,
  mapping: string,
  options: { readonly files?: LedgerFiles | undefined; readonly pageRows?: number } = {},
): Promise<SourceObjects> {
  const { files, pageRows = FRESH_PAGE_ROWS } = options;
  const path = ledgerPath(engine, files);
  if (path === 'client') return newOrChangedHere(conn, table, objects, mapping);
  if (objects.length === 0) return [];
  await conn.query(dropTable(LISTED_TABLE));
  await conn.query(LISTED_DDL);
  try {
    if (path === 'copy-from-stdin') {
      const copyFromStdin = conn.copyFromStdin;
      if (!copyFromStdin)
        throw new Error(
          'the ledger on PostgreSQL is compared through COPY FROM STDIN, which this connection does not have',
        );
      await pipeline(
        Readable.from(batched(objects, listedText)),
        copyFromStdin(`COPY ${LISTED_TABLE} (${LISTED_COLUMNS.join(', ')}) FROM STDIN`),
      );
    } else {
      const file = await (files as LedgerFiles).put(`listed-${table}.jsonl.gz`, batched(objects, listedJson));
      try {
        await conn.query(file.copy(LISTED_TABLE, LISTED_COLUMNS));
      } finally {
        await file.remove();
      }
    }
    // Statistics of the list (PostgreSQL's autovacuum never analyzes a temporary table; Redshift's
    // COPY runs with STATUPDATE OFF): without them the planner guesses the list's size and may
    // nest-loop the DELETE below over a million rows.
    await conn.query(`ANALYZE ${LISTED_TABLE}`);
    await conn.query(DELETE_UNCHANGED, [table, mapping]);
    // The answer is kept as positions in the listing (4 bytes each), not as objects (issue 26).
    const fresh = new Positions();
    for (let after = -1; ; ) {
      const { rows } = await conn.query<{ ordinal: number | string }>(freshPage(pageRows), [after]);
      for (const r of rows) fresh.push(Number(r.ordinal));
      if (rows.length < pageRows) break;
      after = Number(rows[rows.length - 1]?.ordinal);
    }
    return selectObjects(objects, fresh);
  } finally {
    await conn.query(dropTable(LISTED_TABLE));
  }
}

/** Redshift without a prefix for the object list: the table's ledger read here, as before. */
async function newOrChangedHere(
  conn: Connection,
  table: string,
  objects: SourceObjects,
  mapping: string,
): Promise<SourceObjects> {
  const { rows } = await conn.query<{
    object_uri: string;
    object_size: string;
    object_version: string;
    mapping_fingerprint: string | null;
  }>(
    `SELECT object_uri, object_size, object_version, mapping_fingerprint FROM ${LEDGER_TABLE} WHERE table_name = $1 AND status = 'loaded'`,
    [table],
  );
  const loaded = new Set(
    rows.map(
      (r) =>
        `${r.object_uri}\n${fingerprint({ size: Number(r.object_size), version: r.object_version }, r.mapping_fingerprint)}`,
    ),
  );
  const fresh = new Positions();
  let i = 0;
  for (const o of objects) {
    if (!loaded.has(`${o.uri}\n${fingerprint(o, mapping)}`)) fresh.push(i);
    i += 1;
  }
  return selectObjects(objects, fresh);
}

/** The ledger rows of what a run staged, one at a time (never all at once). */
function* ledgerRows(runId: string, staged: readonly StagedObjects[]): Generator<LedgerRow> {
  for (const s of staged) for (const object of s.objects) yield { table: s.table, object, runId, mapping: s.mapping };
}

/**
 * Records this run's objects as loaded (once every star table is filled),
 * replacing older records of the same objects. The caller runs it in one
 * transaction; it is safe to run again (a retry after a lost
 * acknowledgement). Rows with status 'staged', which earlier builds of this
 * tool wrote before the transforms, are dropped too. On Redshift with a
 * prefix for the object list, a constant number of statements whatever the
 * object count: the list COPY'd into a temporary table, then one INSERT … SELECT.
 */
export async function recordLoaded(
  conn: Connection,
  engine: DialectName,
  runId: string,
  staged: readonly StagedObjects[],
  files?: LedgerFiles,
): Promise<void> {
  const path = ledgerPath(engine, files);
  if (path !== 'copy-from-s3') {
    await conn.query(DELETE_RUN, [runId]);
    await insertLedgerRows(conn, engine, ledgerRows(runId, staged));
    await conn.query(DELETE_OLDER_RECORDS, [runId]);
    return;
  }
  const file = await (files as LedgerFiles).put(
    'loaded.jsonl.gz',
    batched(
      ledgerRows(runId, staged),
      ({ table, object: o, mapping }) =>
        `${JSON.stringify({ table_name: table, object_uri: o.uri, object_size: o.size, object_version: o.version, mapping_fingerprint: mapping })}\n`,
    ),
  );
  try {
    for (const { sql, values } of recordStatements(file, runId)) await conn.query(sql, values);
  } finally {
    await file.remove();
  }
}

const DELETE_RUN = `DELETE FROM ${LEDGER_TABLE} WHERE run_id = $1 OR status = 'staged'`;

/** Redshift's ledger write, set-based: the statements after the list's file is written (the dry run prints them too). */
function recordStatements(file: LedgerFile, runId: string): { sql: string; values?: unknown[] }[] {
  return [
    { sql: dropTable(LOADED_TABLE) },
    { sql: LOADED_DDL },
    { sql: file.copy(LOADED_TABLE, LOADED_COLUMNS) },
    { sql: DELETE_RUN, values: [runId] },
    {
      sql: `INSERT INTO ${LEDGER_TABLE} (${LEDGER_COLUMNS})
SELECT ${LOADED_COLUMNS.join(', ')}, $1, 'loaded', ${redshiftDialect.currentTimestamp()}
FROM ${LOADED_TABLE}`,
      values: [runId],
    },
    { sql: DELETE_OLDER_RECORDS, values: [runId] },
    { sql: dropTable(LOADED_TABLE) },
  ];
}

/** `$n` replaced by the dry run's placeholders (a run sends them as parameters). */
const shown = (sql: string, values: readonly string[]) =>
  sql.replace(/\$(\d+)/g, (_, n: string) => values[Number(n) - 1] ?? _);

/**
 * The ledger's statements as the dry run prints them: before staging, how an
 * incremental load finds each table's new or changed objects; after the
 * transforms, how the run's objects are recorded.
 */
export function ledgerScript(
  engine: DialectName,
  files: LedgerFiles | undefined,
): { fresh(table: string): string[]; record: string[] } {
  const path = ledgerPath(engine, files);
  const fill = (table: string) =>
    path === 'copy-from-stdin'
      ? [
          `-- COPY ${LISTED_TABLE} (${LISTED_COLUMNS.join(', ')}) FROM STDIN: the listed objects of ${table}, streamed by the loader`,
        ]
      : [
          `-- the listed objects of ${table}, written as gzip'd JSON Lines under the stage prefix (removed after this COPY)`,
          `${(files as LedgerFiles).planned(`listed-${table}.jsonl.gz`).copy(LISTED_TABLE, LISTED_COLUMNS)};`,
        ];
  return {
    fresh: (table) =>
      path === 'client'
        ? [
            `-- ${table}: LOAD_STAGE_PREFIX and LOAD_MANIFEST_PREFIX are not set, so the ledger's records of ${table} are read by the loader and compared there`,
            `SELECT object_uri, object_size, object_version, mapping_fingerprint FROM ${LEDGER_TABLE} WHERE table_name = '${table}' AND status = 'loaded';`,
            '',
          ]
        : [
            `-- the ledger: the new or changed objects of ${table}, found in SQL`,
            `${dropTable(LISTED_TABLE)};`,
            `${LISTED_DDL};`,
            ...fill(table),
            `ANALYZE ${LISTED_TABLE};`,
            `${shown(DELETE_UNCHANGED, [`'${table}'`, "'MAPPING-FINGERPRINT'"])};`,
            `-- read ${FRESH_PAGE_ROWS} at a time, after the last ordinal read (-1 first)`,
            `${shown(freshPage(FRESH_PAGE_ROWS), ['-1'])};`,
            `${dropTable(LISTED_TABLE)};`,
            '',
          ],
    record:
      path === 'copy-from-s3'
        ? [
            "-- the run's objects, written as gzip'd JSON Lines under the stage prefix (removed after this COPY)",
            ...recordStatements((files as LedgerFiles).planned('loaded.jsonl.gz'), 'RUN-ID').map(
              ({ sql, values }) =>
                `${shown(
                  sql,
                  (values ?? []).map((v) => `'${String(v)}'`),
                )};`,
            ),
          ]
        : [
            shown(`${DELETE_RUN};`, ["'RUN-ID'"]),
            path === 'copy-from-stdin'
              ? `-- COPY ${LEDGER_TABLE} (${LEDGER_COLUMNS}) FROM STDIN: the run's objects, streamed by the loader`
              : `-- INSERT INTO ${LEDGER_TABLE} (${LEDGER_COLUMNS}) VALUES …: the run's objects, ${LEDGER_BATCH} rows a statement`,
            `${shown(DELETE_OLDER_RECORDS, ["'RUN-ID'"])};`,
          ],
  };
}

/** Inserts ledger rows (inside the caller's transaction), the engine's fastest way. */
export async function insertLedgerRows(
  conn: Connection,
  engine: DialectName,
  rows: Iterable<LedgerRow>,
): Promise<void> {
  switch (engine) {
    case 'postgres':
      return copyLedgerRows(conn, rows);
    case 'redshift':
      return insertLedgerRowsInBatches(conn, rows);
    default: {
      const never: never = engine;
      throw new Error(`no ledger writer for ${String(never)}`);
    }
  }
}

const LEDGER_BATCH = 500;
/** Ledger rows of one run from which the ledger is analyzed after they are copied (PostgreSQL). */
const LEDGER_ANALYZE_FROM = 1000;

/** PostgreSQL: one COPY for every row (20k song files: a tenth of the time of multi-row INSERTs), streamed. */
async function copyLedgerRows(conn: Connection, rows: Iterable<LedgerRow>): Promise<void> {
  const copyFromStdin = conn.copyFromStdin;
  if (!copyFromStdin)
    throw new Error('the ledger on PostgreSQL is written with COPY FROM STDIN, which this connection does not have');
  const { rows: now } = await conn.query<{ now: string }>(`SELECT CAST(CAST(NOW() AS TIMESTAMP) AS VARCHAR) AS now`);
  const recordedAt = escapeText(String(now[0]?.now ?? ''));
  let count = 0;
  const line = ({ table, object: o, runId, mapping }: LedgerRow) => {
    count += 1;
    return `${escapeText(table)}\t${escapeText(o.uri)}\t${o.size}\t${escapeText(o.version)}\t${escapeText(mapping)}\t${escapeText(runId)}\tloaded\t${recordedAt}\n`;
  };
  await pipeline(
    Readable.from(batched(rows, line)),
    copyFromStdin(`COPY ${LEDGER_TABLE} (${LEDGER_COLUMNS}) FROM STDIN`),
  );
  // Statistics that count the rows just copied (ANALYZE in the same transaction counts them as
  // live): recordLoaded's next DELETE joins them with the older records. With the statistics of
  // the last autoanalyze, which had never seen this run's id, the planner expected one row of
  // it and chose a nested loop that ran for minutes on a re-run of 100k song files (figures:
  // docs/performance.md); with them, a hash join. A run of a few objects is looked up fine
  // either way and does not pay for the sample.
  if (count >= LEDGER_ANALYZE_FROM) await conn.query(`ANALYZE ${LEDGER_TABLE}`);
}

/** Redshift without a prefix for the object list: multi-row INSERTs (it has no COPY FROM STDIN). */
async function insertLedgerRowsInBatches(conn: Connection, rows: Iterable<LedgerRow>): Promise<void> {
  let batch: LedgerRow[] = [];
  const flush = async () => {
    const values: unknown[] = [];
    const tuples = batch.map(({ table, object: o, runId, mapping }, j) => {
      values.push(table, o.uri, o.size, o.version, mapping, runId);
      const p = j * 6;
      return `($${p + 1}, $${p + 2}, $${p + 3}, $${p + 4}, $${p + 5}, $${p + 6}, 'loaded', ${redshiftDialect.currentTimestamp()})`;
    });
    await conn.query(`INSERT INTO ${LEDGER_TABLE} (${LEDGER_COLUMNS}) VALUES ${tuples.join(', ')}`, values);
    batch = [];
  };
  for (const row of rows) {
    batch.push(row);
    if (batch.length === LEDGER_BATCH) await flush();
  }
  if (batch.length > 0) await flush();
}

/** Deletes the older records of the objects run $1 recorded (run after its rows are inserted). */
export const DELETE_OLDER_RECORDS = `DELETE FROM ${LEDGER_TABLE} USING ${LEDGER_TABLE} AS cur
WHERE cur.run_id = $1 AND ${LEDGER_TABLE}.run_id <> $1
    AND ${LEDGER_TABLE}.table_name = cur.table_name AND ${LEDGER_TABLE}.object_uri = cur.object_uri`;
