/**
 * Amazon Redshift: the production engine. Renders DISTSTYLE/DISTKEY/SORTKEY,
 * byte-sized VARCHARs and IDENTITY columns, and fixes node-pg-migrate's
 * bookkeeping SQL (lib/migrate/migrate.ts runs node-pg-migrate through it).
 */
import type { Dialect } from '../dialect.ts';
import { checkTableDef, sqlType, type ColumnDef, type Distribution, type TableDef } from '../table-def.ts';

function columnSql(c: ColumnDef): string {
  // IDENTITY(0, 1): values are unique but not consecutive nor in load order (Redshift docs).
  const identity = c.identity ? ' IDENTITY(0, 1)' : '';
  return `${c.name} ${sqlType(c.type)}${identity}${c.notNull ? ' NOT NULL' : ''}`;
}

function distributionSql(d: Distribution): string {
  return d.style === 'key' ? `DISTSTYLE KEY DISTKEY (${d.key})` : `DISTSTYLE ${d.style.toUpperCase()}`;
}

function tableOptions(def: TableDef): string {
  const options: string[] = [];
  if (def.backup === false) options.push('BACKUP NO');
  options.push(distributionSql(def.distribution));
  if (def.sortKey && def.sortKey.length > 0) options.push(`COMPOUND SORTKEY (${def.sortKey.join(', ')})`);
  return options.join('\n');
}

/** node-pg-migrate 9.0.0's exact bookkeeping strings (pinned in package.json; tested in test/migrate-redshift-path.test.ts). */
const SERIAL_PK = /\bid SERIAL PRIMARY KEY\b/;
const MARK_AS_RUN = /VALUES \('([^']*)', NOW\(\)\);?$/;

export const redshiftDialect: Dialect = {
  name: 'redshift',
  sampleVersion:
    'PostgreSQL 8.0.2 on i686-pc-linux-gnu, compiled by GCC gcc (GCC) 3.4.2 20041017 (Red Hat 3.4.2-6.fc3), Redshift 1.0.77467',
  lockSessionSettings: [],
  createTable(def: TableDef): string[] {
    checkTableDef(def);
    return [`CREATE TABLE ${def.name} (\n    ${def.columns.map(columnSql).join(',\n    ')}\n)\n${tableOptions(def)}`];
  },
  createTableAs(def) {
    // CREATE TABLE AS takes the table attributes before AS and inherits no distribution
    // (https://docs.aws.amazon.com/redshift/latest/dg/r_CREATE_TABLE_AS.html); a TEMP table lives as long as the session.
    return `CREATE TEMP TABLE ${def.name}\n${distributionSql(def.distribution)}\nAS\n${def.select}`;
  },
  dropTable(name: string): string[] {
    return [`DROP TABLE IF EXISTS ${name}`];
  },
  rewriteMigrationSql(sql: string): string {
    return sql
      .replace(SERIAL_PK, 'id INTEGER IDENTITY(1, 1) PRIMARY KEY')
      .replace(MARK_AS_RUN, "VALUES ('$1', GETDATE());");
  },
  minutesBetween(from: string, to: string): string {
    // DATEDIFF counts the boundaries of its date part crossed between the two
    // (https://docs.aws.amazon.com/redshift/latest/dg/r_DATEDIFF_function.html):
    // counted in seconds it drops the milliseconds, and 00:00:59.999 to 00:01:00.001
    // would be a minute. Counted in milliseconds it is the exact difference of
    // start times (which hold milliseconds), floored to minutes as PostgreSQL does.
    return `CAST(FLOOR(DATEDIFF(millisecond, ${from}, ${to}) / 60000.0) AS INTEGER)`;
  },
  daysBetween(from: string, to: string): string {
    // DATEDIFF(day, …) counts the day boundaries (midnights) crossed between the two
    // (https://docs.aws.amazon.com/redshift/latest/dg/r_DATEDIFF_function.html): the
    // difference of their calendar days, as PostgreSQL's DATE - DATE. It answers a
    // BIGINT; the cast keeps the type PostgreSQL's INTEGER.
    return `CAST(DATEDIFF(day, ${from}, ${to}) AS INTEGER)`;
  },
  clearTable(table: string): string {
    // Commits (https://docs.aws.amazon.com/redshift/latest/dg/r_TRUNCATE.html): run outside any transaction.
    return `TRUNCATE ${table}`;
  },
  scratchTable(): string[] {
    return [];
  },
  redesignScratchTable(def: TableDef): string[] {
    // DROP and CREATE are transactional; ALTER DISTSTYLE / ALTER SORTKEY cannot run beside a VACUUM
    // (https://docs.aws.amazon.com/redshift/latest/dg/r_ALTER_TABLE.html). A scratch table loses nothing.
    return [`DROP TABLE ${def.name}`, ...this.createTable(def)];
  },
  informationalPrimaryKey(table: string, columns: readonly string[], drop: boolean): string[] {
    // "Define primary key and foreign key constraints … Even though they are informational only, the query
    // optimizer uses those constraints to generate more efficient query plans"
    // (https://docs.aws.amazon.com/redshift/latest/dg/c_best-practices-defining-constraints.html); the MERGE
    // targets' keys are unique because the upsert makes them so (lib/load/upsert.ts). Named, to be dropped by name.
    const name = `${table}_merge_key`;
    return [
      drop
        ? `ALTER TABLE ${table} DROP CONSTRAINT ${name}`
        : `ALTER TABLE ${table} ADD CONSTRAINT ${name} PRIMARY KEY (${columns.join(', ')})`,
    ];
  },
  uniqueKeyIndex(): string[] {
    // "Uniqueness, primary key, and foreign key constraints are informational only; they are not enforced by
    // Amazon Redshift when you populate a table" (https://docs.aws.amazon.com/redshift/latest/dg/t_Defining_constraints.html),
    // and it has no indexes: the load checks the surrogate key itself after each insert (lib/load/upsert.ts).
    return [];
  },
  enforcesUniqueKeys: false,
  // "Amazon Redshift automatically analyzes tables that you create with CTAS commands. You do not need to run
  // the ANALYZE command on these tables when they are first created" (https://docs.aws.amazon.com/redshift/latest/dg/r_CTAS_usage_notes.html).
  analyzesCreateTableAs: true,
  currentTimestamp(): string {
    return 'GETDATE()';
  },
  chargedRpuSecondsSql(): string {
    // SYS_SERVERLESS_USAGE: one row per minute of a workgroup's use; charged_seconds are the
    // RPU-seconds billed for it, the 60-second minimum included, computed once a transaction
    // ends; superusers only (https://docs.aws.amazon.com/redshift/latest/dg/SYS_SERVERLESS_USAGE.html).
    // Minutes that overlap the window count whole: another workload's use in them is counted too.
    return `SELECT CAST(COALESCE(SUM(charged_seconds), 0) AS BIGINT) AS charged, COUNT(*) AS intervals
FROM sys_serverless_usage
WHERE end_time > CAST($1 AS TIMESTAMP) AND start_time < CAST($2 AS TIMESTAMP)`;
  },
  emptyTargetBeforeFirstLoad() {
    // Redshift's TRUNCATE commits the transaction it runs in.
    return undefined;
  },
  isTransient(err): boolean {
    // Error 1023: a serializable isolation violation between concurrent transactions; the whole transaction can run again.
    return typeof err.message === 'string' && /Serializable isolation violation|\b1023\b/i.test(err.message);
  },
};
