/**
 * The load ledger: which source objects each load loaded, so that
 * `--incremental` stages only new or changed objects. A run records its
 * objects as 'loaded' once every star table has been filled, in one
 * transaction that also drops the older records of the same objects; the
 * objects of a run that died before are staged again by the next run (the
 * transforms are idempotent, so that is safe). This module writes the
 * ledger on both engines: one COPY FROM STDIN on PostgreSQL, multi-row
 * INSERTs on Redshift (no COPY FROM STDIN there).
 */
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type { Connection } from '../db/connection.ts';
import type { DialectName } from '../dialect/dialect.ts';
import { redshiftDialect } from '../dialect/redshift/dialect.ts';
import type { JsonMapping } from '../sources/json-mapping.ts';
import type { SourceObject } from '../sources/source-objects.ts';
import { escapeText } from './postgres/copy-row.ts';
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
 * Objects never loaded, or changed since they were: size, ETag/mtime, or the
 * mapping they were staged with (a record without one, written before
 * mapping_fingerprint existed, counts as changed).
 */
export async function newOrChanged(
  conn: Connection,
  table: string,
  objects: readonly SourceObject[],
  mapping: string,
): Promise<SourceObject[]> {
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
  return objects.filter((o) => !loaded.has(`${o.uri}\n${fingerprint(o, mapping)}`));
}

/**
 * Records this run's objects as loaded (once every star table is filled),
 * replacing older records of the same objects. The caller runs it in one
 * transaction; it is safe to run again (a retry after a lost
 * acknowledgement). Rows with status 'staged', which earlier builds of this
 * tool wrote before the transforms, are dropped too.
 */
export async function recordLoaded(
  conn: Connection,
  engine: DialectName,
  runId: string,
  staged: readonly StagedObjects[],
): Promise<void> {
  await conn.query(`DELETE FROM ${LEDGER_TABLE} WHERE run_id = $1 OR status = 'staged'`, [runId]);
  await insertLedgerRows(
    conn,
    engine,
    staged.flatMap((s) => s.objects.map((object) => ({ table: s.table, object, runId, mapping: s.mapping }))),
  );
  await conn.query(DELETE_OLDER_RECORDS, [runId]);
}

/** Inserts ledger rows (inside the caller's transaction), the engine's fastest way. */
export async function insertLedgerRows(
  conn: Connection,
  engine: DialectName,
  rows: readonly LedgerRow[],
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

/** PostgreSQL: one COPY for every row (20k song files: a tenth of the time of multi-row INSERTs). */
async function copyLedgerRows(conn: Connection, rows: readonly LedgerRow[]): Promise<void> {
  const copyFromStdin = conn.copyFromStdin;
  if (!copyFromStdin)
    throw new Error('the ledger on PostgreSQL is written with COPY FROM STDIN, which this connection does not have');
  const { rows: now } = await conn.query<{ now: string }>(`SELECT CAST(CAST(NOW() AS TIMESTAMP) AS VARCHAR) AS now`);
  const recordedAt = escapeText(String(now[0]?.now ?? ''));
  const lines = function* () {
    for (let i = 0; i < rows.length; i += LEDGER_BATCH) {
      yield rows
        .slice(i, i + LEDGER_BATCH)
        .map(
          ({ table, object: o, runId, mapping }: LedgerRow) =>
            `${escapeText(table)}\t${escapeText(o.uri)}\t${o.size}\t${escapeText(o.version)}\t${escapeText(mapping)}\t${escapeText(runId)}\tloaded\t${recordedAt}\n`,
        )
        .join('');
    }
  };
  await pipeline(Readable.from(lines()), copyFromStdin(`COPY ${LEDGER_TABLE} (${LEDGER_COLUMNS}) FROM STDIN`));
  // Statistics that count the rows just copied (ANALYZE in the same transaction counts them as
  // live): recordLoaded's next DELETE joins them with the older records. With the statistics of
  // the last autoanalyze, which had never seen this run's id, the planner expected one row of
  // it and chose a nested loop that ran for minutes on a re-run of 100k song files (figures:
  // docs/performance.md); with them, a hash join. A run of a few objects is looked up fine
  // either way and does not pay for the sample.
  if (rows.length >= LEDGER_ANALYZE_FROM) await conn.query(`ANALYZE ${LEDGER_TABLE}`);
}

/** Redshift: multi-row INSERTs (it has no COPY FROM STDIN). */
async function insertLedgerRowsInBatches(conn: Connection, rows: readonly LedgerRow[]): Promise<void> {
  for (let i = 0; i < rows.length; i += LEDGER_BATCH) {
    const values: unknown[] = [];
    const tuples = rows.slice(i, i + LEDGER_BATCH).map(({ table, object: o, runId, mapping }, j) => {
      values.push(table, o.uri, o.size, o.version, mapping, runId);
      const p = j * 6;
      return `($${p + 1}, $${p + 2}, $${p + 3}, $${p + 4}, $${p + 5}, $${p + 6}, 'loaded', ${redshiftDialect.currentTimestamp()})`;
    });
    await conn.query(`INSERT INTO ${LEDGER_TABLE} (${LEDGER_COLUMNS}) VALUES ${tuples.join(', ')}`, values);
  }
}

/** Deletes the older records of the objects run $1 recorded (run after its rows are inserted). */
export const DELETE_OLDER_RECORDS = `DELETE FROM ${LEDGER_TABLE} USING ${LEDGER_TABLE} AS cur
WHERE cur.run_id = $1 AND ${LEDGER_TABLE}.run_id <> $1
    AND ${LEDGER_TABLE}.table_name = cur.table_name AND ${LEDGER_TABLE}.object_uri = cur.object_uri`;
