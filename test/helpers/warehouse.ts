/**
 * Reads the warehouse back for assertions: row counts and a checksum of every
 * table's full content (the same rows, not only the same counts).
 */
import { pipeline } from '../../loaders/index.ts';
import type { ExpectedCounts } from '../../lib/sample/generator.ts';
import type { TestDatabase } from './database.ts';

/** Every table the load fills (the registered steps). */
export const ALL_TABLES = pipeline.tables;

export async function counts(tdb: TestDatabase): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of ALL_TABLES) {
    const rows = await tdb.query<{ n: string }>(`select count(*) as n from ${t}`);
    out[t] = Number(rows[0]?.n);
  }
  return out;
}

export async function checksums(tdb: TestDatabase): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const t of ALL_TABLES) {
    const rows = await tdb.query<{ sum: string | null }>(
      `select md5(string_agg(x.t, '|' order by x.t)) as sum from (select cast(r.* as text) as t from ${t} as r) as x`,
    );
    out[t] = rows[0]?.sum ?? 'empty';
  }
  return out;
}

/** Checksums of the content, leaving out songplay_id (an identity: its values are not part of the data). */
export async function contentChecksums(tdb: TestDatabase): Promise<Record<string, string>> {
  const out = await checksums(tdb);
  const rows = await tdb.query<{ sum: string | null }>(
    `select md5(string_agg(x.t, '|' order by x.t)) as sum from (select cast((start_time, user_id, level, song_id, artist_id, session_id, location, user_agent) as text) as t from songplays) as x`,
  );
  out['songplays'] = rows[0]?.sum ?? 'empty';
  return out;
}

/**
 * The registered tables' counts next to the generator's, for the tables the
 * generator counts (it knows the sample's true answer for those; a star
 * table added later is left out of both sides until the generator counts it).
 */
export function comparableCounts(
  actual: Record<string, number>,
  expected: ExpectedCounts,
): { actual: Record<string, number>; expected: Record<string, number> } {
  const known = ALL_TABLES.filter((table) => table in expected);
  if (known.length === 0) throw new Error('the generator counts none of the registered tables');
  return {
    actual: Object.fromEntries(known.map((table) => [table, actual[table] ?? NaN])),
    expected: Object.fromEntries(known.map((table) => [table, expected[table as keyof ExpectedCounts]])),
  };
}
