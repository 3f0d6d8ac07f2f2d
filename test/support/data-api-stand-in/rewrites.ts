/**
 * The Data API stand-in's whole rewrite table: what only Redshift has, turned
 * mechanically into what the test PostgreSQL runs with the same effect, each
 * with the page of the Amazon Redshift Database Developer Guide
 * (https://docs.aws.amazon.com/redshift/latest/dg/PAGE.html) it imitates.
 * Everything else the tool sends runs unchanged, so a test through the
 * stand-in executes the Redshift plan itself. COPY from S3 is not a rewrite:
 * the stand-in performs it (copy.ts).
 */

/** Redshift's answer to `select version()` (r_VERSION). */
export const REDSHIFT_VERSION =
  'PostgreSQL 8.0.2 on i686-pc-linux-gnu, compiled by GCC gcc (GCC) 3.4.2 20041017 (Red Hat 3.4.2-6.fc3), Redshift 1.0.77467';

/** What the session knows when a statement is rewritten. */
export interface RewriteContext {
  /** PG_LAST_COPY_COUNT() of the session: rows loaded by its last COPY. */
  readonly lastCopyCount: number;
  /** pg_last_copy_id() of the session: the query id of its last COPY (-1: none). */
  readonly lastCopyId: number;
}

interface Rewrite {
  readonly what: string;
  /** The Developer Guide page the rewrite imitates. */
  readonly page: string;
  readonly apply: (sql: string, ctx: RewriteContext) => string;
}

const replace = (re: RegExp, by: string) => (sql: string) => sql.replace(re, by);

/** Epoch units per second of DATEDIFF's sub-second and second date parts the tool sends (r_Dateparts_for_datetime_functions). */
const DATEPART_PER_SECOND: Record<string, number> = {
  second: 1,
  seconds: 1,
  sec: 1,
  secs: 1,
  s: 1,
  millisecond: 1000,
  milliseconds: 1000,
  ms: 1000,
  msec: 1000,
  msecs: 1000,
};
/** Seconds per unit of DATEDIFF's day date part (r_Dateparts_for_datetime_functions); a day boundary is midnight (UTC here). */
const SECONDS_PER_DATEPART: Record<string, number> = { day: 86400, days: 86400, d: 86400 };

/** Redshift's DATEDIFF(second|millisecond|day, a, b) counts the boundaries crossed: floor(b) - floor(a) in epoch units. */
function datediffBoundaries(sql: string): string {
  const re = /\bDATEDIFF\s*\(\s*(second|seconds|sec|secs|s|millisecond|milliseconds|ms|msec|msecs|day|days|d)\s*,/gi;
  let out = '';
  let last = 0;
  for (let m = re.exec(sql); m; m = re.exec(sql)) {
    const args: string[] = [];
    let depth = 0;
    let start = re.lastIndex;
    let i = start;
    for (; i < sql.length; i += 1) {
      const c = sql[i];
      if (c === '(') depth += 1;
      else if (c === ')') {
        if (depth === 0) break;
        depth -= 1;
      } else if (c === ',' && depth === 0) {
        args.push(sql.slice(start, i));
        start = i + 1;
      }
    }
    args.push(sql.slice(start, i));
    if (args.length !== 2) continue;
    const [a, b] = args as [string, string];
    const part = (m[1] ?? '').toLowerCase();
    const per = DATEPART_PER_SECOND[part] ?? 1;
    const seconds = SECONDS_PER_DATEPART[part];
    const scale = seconds !== undefined ? ` / ${seconds}` : per === 1 ? '' : ` * ${per}`;
    const units = (x: string) => `FLOOR(EXTRACT(EPOCH FROM CAST(${x.trim()} AS TIMESTAMP))${scale})`;
    out += `${sql.slice(last, m.index)}(${units(b)} - ${units(a)})`;
    last = i + 1;
    re.lastIndex = i + 1;
  }
  return out + sql.slice(last);
}

/** Where a column's VARCHAR(n) byte check is named: `<column>_bytes_<n>` (read back by varcharBytesError). */
const VARCHAR_BYTES_CHECK = /violates check constraint "\w+?_bytes_(\d+)"/;

/**
 * VARCHAR(n) counts bytes on Redshift ("a VARCHAR(12) column can contain 12
 * single-byte characters, 6 two-byte characters, …", r_Character_types),
 * characters on PostgreSQL: a column declared in CREATE TABLE or ADD COLUMN
 * gets a CHECK on its octet length, so an INSERT or UPDATE of too many bytes
 * fails as on Redshift (varcharBytesError gives Redshift's message).
 */
function varcharBytes(sql: string): string {
  const declares =
    (/^\s*CREATE\s+(TEMP\s+|TEMPORARY\s+)?TABLE\b/i.test(sql) && !/\bAS\s+SELECT\b/i.test(sql)) ||
    /^\s*ALTER\s+TABLE\b[\s\S]*\bADD\s+COLUMN\b/i.test(sql);
  if (!declares) return sql;
  return sql.replace(
    /(?<=(?:[(,]|ADD\s+COLUMN)\s*)(\w+)\s+(VARCHAR|CHARACTER\s+VARYING)\s*\(\s*(\d+)\s*\)/gi,
    (_m, name: string, type: string, n: string) =>
      `${name} ${type}(${n}) CONSTRAINT ${name}_bytes_${n} CHECK (octet_length(${name}) <= ${n})`,
  );
}

/** Redshift's error for a value over a VARCHAR's bytes, from the stand-in's CHECK violation (undefined: another error). */
export function varcharBytesError(message: string): string | undefined {
  const n = VARCHAR_BYTES_CHECK.exec(message)?.[1];
  return n === undefined ? undefined : `ERROR: value too long for type character varying(${n})`;
}

export const REWRITES: readonly Rewrite[] = [
  {
    what: 'VARCHAR(n) in CREATE TABLE / ADD COLUMN holds n bytes, not n characters',
    page: 'r_Character_types',
    apply: varcharBytes,
  },
  {
    what: "version() answers as Redshift's",
    page: 'r_VERSION',
    apply: replace(/\bversion\s*\(\s*\)/gi, `'${REDSHIFT_VERSION}'`),
  },
  {
    what: 'DISTSTYLE ALL|EVEN|KEY|AUTO dropped (data distribution)',
    page: 'r_CREATE_TABLE_NEW',
    apply: replace(/\bDISTSTYLE\s+(ALL|EVEN|KEY|AUTO)\b/gi, ''),
  },
  {
    what: 'DISTKEY (column) and a column DISTKEY dropped',
    page: 'r_CREATE_TABLE_NEW',
    apply: replace(/\bDISTKEY\b(\s*\(\s*\w+\s*\))?/gi, ''),
  },
  {
    what: '[COMPOUND|INTERLEAVED] SORTKEY (columns), SORTKEY AUTO and a column SORTKEY dropped',
    page: 'r_CREATE_TABLE_NEW',
    apply: replace(/\b((COMPOUND|INTERLEAVED)\s+)?SORTKEY\b(\s*\([^)]*\)|\s+AUTO\b)?/gi, ''),
  },
  {
    what: 'BACKUP YES|NO dropped (snapshots)',
    page: 'r_CREATE_TABLE_NEW',
    apply: replace(/\bBACKUP\s+(YES|NO)\b/gi, ''),
  },
  {
    what: 'ENCODE <encoding> dropped (compression)',
    page: 'c_Compression_encodings',
    apply: replace(/\bENCODE\s+\w+/gi, ''),
  },
  {
    what: 'IDENTITY(seed, step) as an identity column',
    page: 'r_CREATE_TABLE_NEW',
    apply: replace(
      /\bIDENTITY\s*\(\s*(-?\d+)\s*,\s*(-?\d+)\s*\)/gi,
      'GENERATED BY DEFAULT AS IDENTITY (START WITH $1 MINVALUE $1 INCREMENT BY $2)',
    ),
  },
  {
    what: "GETDATE() as the current statement's start without fractional seconds, even inside a transaction block (sessions run in UTC, as Redshift does)",
    page: 'r_GETDATE',
    apply: replace(
      /\bGETDATE\s*\(\s*\)/gi,
      "CAST(date_trunc('second', statement_timestamp() AT TIME ZONE 'UTC') AS TIMESTAMP)",
    ),
  },
  {
    what: "SYSDATE as the current transaction's start (microseconds, UTC)",
    page: 'r_SYSDATE',
    apply: replace(/\bSYSDATE\b/gi, "CAST(transaction_timestamp() AT TIME ZONE 'UTC' AS TIMESTAMP)"),
  },
  {
    what: 'DATEDIFF(second|millisecond|day, a, b) as the number of boundaries of that part crossed',
    page: 'r_DATEDIFF_function',
    apply: datediffBoundaries,
  },
  {
    what: "PG_LAST_COPY_COUNT() as the session's last COPY row count",
    page: 'PG_LAST_COPY_COUNT',
    apply: (sql, ctx) => sql.replace(/\bPG_LAST_COPY_COUNT\s*\(\s*\)/gi, `CAST(${ctx.lastCopyCount} AS BIGINT)`),
  },
  {
    what: "PG_LAST_COPY_ID() as the query id of the session's last COPY",
    page: 'PG_LAST_COPY_ID',
    apply: (sql, ctx) => sql.replace(/\bPG_LAST_COPY_ID\s*\(\s*\)/gi, `CAST(${ctx.lastCopyId} AS INTEGER)`),
  },
  {
    what: 'STL_LOAD_ERRORS and SYS_LOAD_ERROR_DETAIL as tables the stand-in fills (schema public, so any search_path sees them)',
    page: 'r_STL_LOAD_ERRORS',
    apply: replace(/(?<![\w.])(stl_load_errors|sys_load_error_detail)\b/gi, 'public.$1'),
  },
  {
    what: 'SYS_SERVERLESS_USAGE as the table the stand-in bills workgroup statements into (schema public)',
    page: 'SYS_SERVERLESS_USAGE',
    apply: replace(/(?<![\w.])(sys_serverless_usage)\b/gi, 'public.$1'),
  },
  {
    what: 'ANALYZE … PREDICATE COLUMNS / ALL COLUMNS as a plain ANALYZE',
    page: 'r_ANALYZE',
    apply: replace(/\b(PREDICATE|ALL)\s+COLUMNS\b/gi, ''),
  },
];

export function rewrite(sql: string, ctx: RewriteContext): string {
  return REWRITES.reduce((text, r) => r.apply(text, ctx), sql);
}
