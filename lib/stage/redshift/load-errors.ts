/**
 * The rows one Redshift COPY rejected, read back from the system tables, so
 * the load names the S3 file, line, column, value and reason: the cause of a
 * failed COPY, and the records a successful COPY skipped under --max-errors.
 *
 * Only the rows of *that* COPY, by its query id (PG_LAST_COPY_ID(), "updated
 * when the COPY command begins the load process … If the COPY fails because
 * of invalid load data, the COPY ID is updated";
 * https://docs.aws.amazon.com/redshift/latest/dg/PG_LAST_COPY_ID.html), never
 * by session, which would blame an earlier COPY of the same session.
 *
 * STL_LOAD_ERRORS has the raw field value but "only contains queries run on
 * main clusters" (not concurrency scaling clusters, and it is empty or absent
 * on Serverless; https://docs.aws.amazon.com/redshift/latest/dg/r_STL_LOAD_ERRORS.html),
 * so an empty or failing STL answer falls back to SYS_LOAD_ERROR_DETAIL,
 * which exists on both (https://docs.aws.amazon.com/redshift/latest/dg/SYS_LOAD_ERROR_DETAIL.html;
 * it has no raw value).
 */
import type { Connection } from '../../db/connection.ts';
import type { RecordProblem } from '../../errors.ts';

/** Most rows read back for one COPY (a failed COPY may report more than MAXERROR: see copy.ts). */
export const LOAD_ERRORS_LIMIT = 100000;

/** The COPY id of the session now (-1: no COPY yet). */
export const LAST_COPY_ID = 'SELECT PG_LAST_COPY_ID() AS copy_id';

/** STL first (it has the value), then SYS; `$1` is the COPY's query id. */
export const LOAD_ERRORS_QUERIES = [
  `SELECT TRIM(filename) AS file, line_number AS line, TRIM(colname) AS field,
    TRIM(raw_field_value) AS value, TRIM(err_reason) AS reason
FROM stl_load_errors
WHERE query = $1
ORDER BY filename, line_number
LIMIT ${LOAD_ERRORS_LIMIT}`,
  `SELECT TRIM(file_name) AS file, line_number AS line, TRIM(column_name) AS field,
    '' AS value, TRIM(error_message) AS reason
FROM sys_load_error_detail
WHERE query_id = $1
ORDER BY file_name, line_number
LIMIT ${LOAD_ERRORS_LIMIT}`,
] as const;

/** The COPY id PG_LAST_COPY_ID() answered (a number; -1 when none). */
export function copyIdOf(row: { copy_id?: unknown } | undefined): number {
  const id = Number(row?.copy_id ?? -1);
  return Number.isFinite(id) ? id : -1;
}

/**
 * Whether STL_LOAD_ERRORS can be queried here (not on Serverless). Asked
 * before the staging transaction, so that the reads inside it never query a
 * table that is missing, which would abort the transaction.
 */
export async function hasStlLoadErrors(conn: Connection): Promise<boolean> {
  try {
    await conn.query('SELECT COUNT(*) AS n FROM stl_load_errors WHERE query = -1');
    return true;
  } catch {
    return false;
  }
}

/**
 * The rows COPY `copyId` rejected (none when the id is -1): STL_LOAD_ERRORS
 * first (when `stl` is true, or not known and it answers), then
 * SYS_LOAD_ERROR_DETAIL when STL has none.
 */
export async function readLoadErrors(conn: Connection, copyId: number, stl?: boolean): Promise<RecordProblem[]> {
  if (copyId < 0) return [];
  const queries = stl === false ? LOAD_ERRORS_QUERIES.slice(1) : LOAD_ERRORS_QUERIES;
  for (const query of queries) {
    let rows: { file: string; line: number; field: string; value: string; reason: string }[];
    try {
      rows = (await conn.query<{ file: string; line: number; field: string; value: string; reason: string }>(query, [copyId])).rows;
    } catch (err) {
      // No STL tables here (Serverless): SYS_LOAD_ERROR_DETAIL next; inside a transaction, stl says which to query.
      if (stl === true) throw err;
      continue;
    }
    if (rows.length > 0) return rows.map((r) => ({ file: r.file, line: Number(r.line), field: r.field || undefined, value: r.value || undefined, reason: r.reason }));
  }
  return [];
}
