/**
 * The load ledger: which source objects each load loaded, so that
 * `--incremental` stages only new or changed objects. A run records its
 * objects as 'loaded' once every star table has been filled, in one
 * transaction that also drops the older records of the same objects; the
 * objects of a run that died before are staged again by the next run (the
 * transforms are idempotent, so that is safe). Rows are inserted by the
 * engine's staging strategy (one COPY on PostgreSQL).
 */
import type { Connection } from '../db/connection.ts';
import type { StagedObjects, StagingStrategy } from '../dialect/staging.ts';
import type { SourceObject } from '../sources/source-objects.ts';

export const LEDGER_TABLE = 'load_ledger';
/** The columns a ledger row fills, in this order. */
export const LEDGER_COLUMNS = 'table_name, object_uri, object_size, object_version, run_id, status, recorded_at';

/** One object loaded by a run (status 'loaded', recorded at the insert's time). */
export interface LedgerRow {
  readonly table: string;
  readonly object: SourceObject;
  readonly runId: string;
}

const fingerprint = (o: { size: number; version: string }) => `${o.size}:${o.version}`;

/** Objects never loaded, or changed (size or ETag/mtime) since they were. */
export async function newOrChanged(conn: Connection, table: string, objects: readonly SourceObject[]): Promise<SourceObject[]> {
  const { rows } = await conn.query<{ object_uri: string; object_size: string; object_version: string }>(
    `SELECT object_uri, object_size, object_version FROM ${LEDGER_TABLE} WHERE table_name = $1 AND status = 'loaded'`,
    [table],
  );
  const loaded = new Set(rows.map((r) => `${r.object_uri}\n${fingerprint({ size: Number(r.object_size), version: r.object_version })}`));
  return objects.filter((o) => !loaded.has(`${o.uri}\n${fingerprint(o)}`));
}

/**
 * Records this run's objects as loaded (once every star table is filled),
 * replacing older records of the same objects. The caller runs it in one
 * transaction; it is safe to run again (a retry after a lost
 * acknowledgement). Rows with status 'staged', which earlier builds of this
 * tool wrote before the transforms, are dropped too.
 */
export async function recordLoaded(conn: Connection, staging: StagingStrategy, runId: string, staged: readonly StagedObjects[]): Promise<void> {
  await conn.query(`DELETE FROM ${LEDGER_TABLE} WHERE run_id = $1 OR status = 'staged'`, [runId]);
  await staging.insertLedgerRows(conn, staged.flatMap((s) => s.objects.map((object) => ({ table: s.table, object, runId }))));
  await conn.query(DELETE_OLDER_RECORDS, [runId]);
}

/** Deletes the older records of the objects run $1 recorded (run after its rows are inserted). */
export const DELETE_OLDER_RECORDS = `DELETE FROM ${LEDGER_TABLE} USING ${LEDGER_TABLE} AS cur
WHERE cur.run_id = $1 AND ${LEDGER_TABLE}.run_id <> $1
    AND ${LEDGER_TABLE}.table_name = cur.table_name AND ${LEDGER_TABLE}.object_uri = cur.object_uri`;
