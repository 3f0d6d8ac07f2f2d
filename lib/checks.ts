/**
 * Data-quality checks after a load (npm run verify). Redshift enforces no
 * keys, so uniqueness, NOT NULL and references are checked here. Every check
 * is a portable query that returns the offending rows; none means it passed.
 */
import type pg from 'pg';

export interface Check {
  readonly name: string;
  readonly description: string;
  /** Offending rows, unordered (the runner counts them and shows the first few). */
  readonly sql: string;
}

const unique = (table: string, key: string[]): Check => ({
  name: `${table}: ${key.join(', ')} unique`,
  description: `no two rows of ${table} share (${key.join(', ')})`,
  sql: `SELECT ${key.join(', ')}, COUNT(*) AS copies FROM ${table} GROUP BY ${key.join(', ')} HAVING COUNT(*) > 1`,
});

const notNull = (table: string, key: string[]): Check => ({
  name: `${table}: ${key.join(', ')} not NULL`,
  description: `every row of ${table} has its key`,
  sql: `SELECT * FROM ${table} WHERE ${key.map((k) => `${k} IS NULL`).join(' OR ')}`,
});

const references = (column: string, target: string, targetColumn: string, nullable: boolean): Check => ({
  name: `songplays.${column} in ${target}`,
  description: `every songplay's ${column}${nullable ? ', when not NULL,' : ''} is in ${target}`,
  sql: `SELECT sp.songplay_id, sp.${column}
FROM songplays AS sp
LEFT JOIN ${target} AS t ON t.${targetColumn} = sp.${column}
WHERE ${nullable ? `sp.${column} IS NOT NULL AND ` : ''}t.${targetColumn} IS NULL`,
});

/** The star schema's keys: unique and not NULL (the report's schema diagram marks them too). */
export const KEYS: readonly { readonly table: string; readonly key: readonly string[]; readonly natural?: boolean }[] = [
  { table: 'users', key: ['user_id'] },
  { table: 'songs', key: ['song_id'] },
  { table: 'artists', key: ['artist_id'] },
  { table: 'time', key: ['start_time'] },
  { table: 'songplays', key: ['songplay_id'] },
  { table: 'songplays', key: ['user_id', 'session_id', 'start_time'], natural: true },
];

/** The fact table's references to the dimensions (Redshift enforces none, so they are checked; the diagram draws them). */
export const REFERENCES: readonly { readonly column: string; readonly target: string; readonly targetColumn: string; readonly nullable: boolean }[] = [
  { column: 'user_id', target: 'users', targetColumn: 'user_id', nullable: false },
  { column: 'start_time', target: 'time', targetColumn: 'start_time', nullable: false },
  { column: 'song_id', target: 'songs', targetColumn: 'song_id', nullable: true },
  { column: 'artist_id', target: 'artists', targetColumn: 'artist_id', nullable: true },
];

export const CHECKS: readonly Check[] = [
  ...KEYS.map((k) => unique(k.table, [...k.key])),
  notNull('users', ['user_id']),
  notNull('songs', ['song_id']),
  notNull('artists', ['artist_id']),
  notNull('time', ['start_time']),
  notNull('songplays', ['songplay_id', 'start_time', 'user_id', 'session_id']),
  ...REFERENCES.map((r) => references(r.column, r.target, r.targetColumn, r.nullable)),
  {
    name: 'staged NextSong events have their songplay',
    description: 'every NextSong event of a known user in staging is in songplays (nothing lost)',
    sql: `SELECT e.user_id, e.session_id, e.ts
FROM staging_events AS e
LEFT JOIN songplays AS sp
    ON sp.user_id = e.user_id
    AND sp.session_id = e.session_id
    AND sp.start_time = TIMESTAMP 'epoch' + (e.ts / 1000) * INTERVAL '1 second' + (e.ts % 1000) * INTERVAL '1 millisecond'
WHERE e.page = 'NextSong' AND e.user_id IS NOT NULL AND e.session_id IS NOT NULL AND e.ts IS NOT NULL
    AND sp.songplay_id IS NULL`,
  },
];

export const ROW_COUNTS_SQL = `SELECT 'staging_events' AS table_name, COUNT(*) AS row_count FROM staging_events
UNION ALL SELECT 'staging_songs', COUNT(*) FROM staging_songs
UNION ALL SELECT 'users', COUNT(*) FROM users
UNION ALL SELECT 'songs', COUNT(*) FROM songs
UNION ALL SELECT 'artists', COUNT(*) FROM artists
UNION ALL SELECT 'songplays', COUNT(*) FROM songplays
UNION ALL SELECT 'time', COUNT(*) FROM time`;

export const MATCH_RATE_SQL = `SELECT COUNT(*) AS songplays,
    SUM(CASE WHEN song_id IS NOT NULL THEN 1 ELSE 0 END) AS matched
FROM songplays`;

export interface CheckResult {
  readonly check: Check;
  readonly failures: number;
  readonly sample: readonly Record<string, unknown>[];
}

export interface VerifyReport {
  readonly counts: readonly { table_name: string; row_count: number }[];
  readonly matched: number;
  readonly songplays: number;
  readonly results: readonly CheckResult[];
}

export async function runChecks(client: pg.Client, sampleSize = 5): Promise<VerifyReport> {
  const counts = (await client.query<{ table_name: string; row_count: string }>(ROW_COUNTS_SQL)).rows.map((r) => ({ table_name: r.table_name, row_count: Number(r.row_count) }));
  const rate = (await client.query<{ songplays: string; matched: string | null }>(MATCH_RATE_SQL)).rows[0];
  const results: CheckResult[] = [];
  for (const check of CHECKS) {
    const { rows } = await client.query<{ n: string }>(`SELECT COUNT(*) AS n FROM (${check.sql}) AS offending`);
    const failures = Number(rows[0]?.n ?? 0);
    const sample = failures > 0 ? (await client.query(`SELECT * FROM (${check.sql}) AS offending ORDER BY 1 LIMIT ${sampleSize}`)).rows : [];
    results.push({ check, failures, sample });
  }
  return { counts, matched: Number(rate?.matched ?? 0), songplays: Number(rate?.songplays ?? 0), results };
}
