/**
 * The stand-in's COPY … FROM 's3://…' … FORMAT AS JSON, done as Redshift does
 * it (https://docs.aws.amazon.com/redshift/latest/dg/r_COPY.html,
 * copy-usage_notes-copy-from-json.html): every object under the prefix, or
 * those a MANIFEST lists (loading-data-files-using-manifest.html), read from
 * the S3 endpoint (s3rver in the tests), mapped with the JSONPaths file or
 * 'auto', converted with Redshift's JSON rules, into the table in the
 * session's transaction. The tool's own PostgreSQL staging code does that
 * work (lib/stage/postgres/).
 *
 * MAXERROR n: "If the load returns the error_count number of errors or
 * greater, the load fails … Set this value to 0 or 1 if you want the load to
 * fail as soon as the first error occurs" (copy-parameters-data-load.html),
 * so n - 1 bad records are tolerated. Rejected records are handed back for
 * the load-error tables; a failed COPY fails with Redshift's message.
 */
import type { Connection } from '../../../lib/db/connection.ts';
import { stagingColumns } from '../../../lib/stage/postgres/staging.ts';
import { copyIntoTable } from '../../../lib/stage/postgres/copy-from-stdin.ts';
import { InputError, type RecordProblem } from '../../../lib/errors.ts';
import { autoMapping, parseJsonPathsFile } from '../../../lib/sources/json-mapping.ts';
import { readText, type SourceObject, type SourceReader } from '../../../lib/sources/source-objects.ts';

export interface CopyStatement {
  readonly table: string;
  readonly columns: readonly string[];
  readonly source: string;
  readonly manifest: boolean;
  readonly format: string;
  readonly maxError: number;
}

const COPY = /^\s*COPY\s+([\w."]+)\s*\(([^)]*)\)\s+FROM\s+'([^']*)'(\s+MANIFEST)?([\s\S]*)$/i;

/** A COPY from S3 as the tool renders it (lib/dialect/redshift/copy.ts), or undefined for any other statement. */
export function parseCopy(sql: string): CopyStatement | undefined {
  const m = COPY.exec(sql);
  if (!m || !(m[3] ?? '').startsWith('s3://')) return undefined;
  const rest = m[5] ?? '';
  if (!/\b(IAM_ROLE\s+'[^']+'|ACCESS_KEY_ID\s+'[^']+'\s+SECRET_ACCESS_KEY\s+'[^']+')/i.test(rest)) {
    throw new Error('ERROR: Invalid credentials. Must be of the format: credentials \'aws_iam_role=...\' or \'aws_access_key_id=...;aws_secret_access_key=...[;token=...]\'');
  }
  const format = /\bFORMAT\s+(?:AS\s+)?JSON\s+'([^']*)'/i.exec(rest)?.[1];
  if (format === undefined) throw new Error('ERROR: the stand-in performs COPY … FORMAT AS JSON only');
  return {
    table: (m[1] ?? '').replace(/"/g, ''),
    columns: (m[2] ?? '').split(',').map((c) => c.trim().replace(/"/g, '')),
    source: m[3] ?? '',
    manifest: Boolean(m[4]),
    format,
    maxError: Number(/\bMAXERROR\s+(?:AS\s+)?(\d+)/i.exec(rest)?.[1] ?? '0'),
  };
}

async function manifestObjects(reader: SourceReader, uri: string): Promise<SourceObject[]> {
  const manifest = JSON.parse(await readText(reader, uri)) as { entries?: { url?: string; mandatory?: boolean }[] };
  const out: SourceObject[] = [];
  for (const entry of manifest.entries ?? []) {
    const url = entry.url ?? '';
    const found = (await reader.list(url)).find((o) => o.uri === url);
    if (found) out.push(found);
    else if (entry.mandatory) throw new Error(`ERROR: Manifest file ${uri}: mandatory file ${url} is not found`);
  }
  return out;
}

export interface CopyOutcome {
  readonly rows: number;
  /** Records rejected: tolerated ones when the COPY succeeded, all of them when it failed. */
  readonly rejected: readonly RecordProblem[];
  /** Redshift's error when the COPY failed. */
  readonly error: Error | undefined;
}

/** Runs the COPY on `conn` (the session's connection, inside its transaction when one is open). */
export async function performCopy(conn: Connection, copy: CopyStatement, reader: SourceReader): Promise<CopyOutcome> {
  const copyFromStdin = conn.copyFromStdin;
  if (!copyFromStdin) throw new Error('the stand-in needs COPY FROM STDIN on its PostgreSQL session');
  const { rows: schemaRows } = await conn.query<{ schema: string }>('SELECT current_schema() AS schema');
  const schema = schemaRows[0]?.schema ?? 'public';
  const columns = await stagingColumns(conn, { table: copy.table, columns: copy.columns }, schema);
  const objects = copy.manifest ? await manifestObjects(reader, copy.source) : await reader.list(copy.source);
  if (objects.length === 0) return { rows: 0, rejected: [], error: new Error(`ERROR: The specified S3 prefix '${copy.source.replace(/^s3:\/\/[^/]+\/?/, '')}' does not exist`) };
  const mapping = autoMapping(copy.format) ?? parseJsonPathsFile(await readText(reader, copy.format), copy.format, copy.columns);
  try {
    const result = await copyIntoTable(copyFromStdin, { table: copy.table, columns, source: copy.source, mapping }, { reader, maxErrors: Math.max(copy.maxError - 1, 0), objects });
    return { rows: result.rows, rejected: result.skipped, error: undefined };
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    const error = new Error(`ERROR: Load into table '${copy.table}' failed. Check 'stl_load_errors' system table for details.`);
    const rejected = err.problems.length > 0 ? err.problems : [{ file: copy.source, line: 0, reason: err.message }];
    return { rows: 0, rejected, error };
  }
}
