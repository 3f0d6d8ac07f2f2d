/**
 * The rows a failed Redshift COPY rejected, read back from the system tables,
 * so the error names the S3 file, line, column, value and reason.
 */
import type { Connection } from '../../db/connection.ts';
import type { RecordProblem } from '../../errors.ts';

/** Provisioned clusters log COPY errors in STL_LOAD_ERRORS; Serverless in SYS_LOAD_ERROR_DETAIL. */
export const LOAD_ERRORS_QUERIES = [
  `SELECT TRIM(filename) AS file, line_number AS line, TRIM(colname) AS field,
    TRIM(raw_field_value) AS value, TRIM(err_reason) AS reason
FROM stl_load_errors
WHERE session = PG_BACKEND_PID()
ORDER BY starttime DESC
LIMIT 20`,
  `SELECT TRIM(file_name) AS file, line_number AS line, TRIM(column_name) AS field,
    '' AS value, TRIM(error_message) AS reason
FROM sys_load_error_detail
WHERE session_id = PG_BACKEND_PID()
ORDER BY start_time DESC
LIMIT 20`,
] as const;

export async function readLoadErrors(conn: Connection): Promise<RecordProblem[]> {
  for (const query of LOAD_ERRORS_QUERIES) {
    try {
      const { rows } = await conn.query<{ file: string; line: number; field: string; value: string; reason: string }>(query);
      return rows.map((r) => ({ file: r.file, line: Number(r.line), field: r.field || undefined, value: r.value || undefined, reason: r.reason }));
    } catch {
      // Not this kind of Redshift (provisioned vs Serverless): try the other table.
    }
  }
  return [];
}
