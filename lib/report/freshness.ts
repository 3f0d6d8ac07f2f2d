/**
 * Source freshness (`sources --freshness`, the report page), as dbt's `source
 * freshness`: the newest object's time under each source (S3 LastModified, a
 * file's mtime) and the newest event loaded (songplays.start_time, the
 * newest play), each with its age, judged against --warn-after and
 * --error-after. LOG_DATA and the loaded events are judged; SONG_DATA is
 * shown but not judged (song metadata changes rarely: an old song file is not
 * stale data).
 */
import ms from 'ms';
import type { Sources } from '../config/config.ts';
import type { Connection } from '../db/connection.ts';
import { tableExists } from '../db/schema.ts';
import { ConfigError } from '../errors.ts';
import type { SourceObject, SourceReader } from '../sources/source-objects.ts';

export type FreshnessStatus = 'pass' | 'warn' | 'error' | 'not judged' | 'unknown';

export interface FreshnessThresholds {
  /** Durations as given (`12h`, `3d`), and in milliseconds. */
  readonly warnAfter?: { readonly text: string; readonly ms: number } | undefined;
  readonly errorAfter?: { readonly text: string; readonly ms: number } | undefined;
}

export interface FreshnessRow {
  /** LOG_DATA, SONG_DATA, or "loaded events". */
  readonly source: string;
  /** The prefix or folder, or the table and column read. */
  readonly where: string;
  /** ISO 8601 UTC; null when there is none (an empty source, an empty table) or it could not be read. */
  readonly newest: string | null;
  /** The object that is newest (sources only). */
  readonly newestObject: string | null;
  readonly ageSeconds: number | null;
  readonly status: FreshnessStatus;
  /** Why the status is unknown. */
  readonly note: string | null;
}

export interface FreshnessReport {
  readonly checkedAt: string;
  readonly warnAfter: string | null;
  readonly errorAfter: string | null;
  /** The worst status of the judged rows (unknown counts as warn). */
  readonly status: 'pass' | 'warn' | 'error';
  readonly sources: readonly FreshnessRow[];
}

/** A duration flag's text (`90m`, `12h`, `3d`, `1w`: the `ms` package's units) in milliseconds. */
export function parseDuration(flag: string, text: string): { text: string; ms: number } {
  const value = ms(text as ms.StringValue) as number | undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
    throw new ConfigError([`${flag}: a duration such as 30m, 12h, 3d or 1w, got '${text}'`]);
  return { text, ms: value };
}

/** The status of an age against the thresholds. */
export function judge(ageMs: number, t: FreshnessThresholds): 'pass' | 'warn' | 'error' {
  if (t.errorAfter && ageMs > t.errorAfter.ms) return 'error';
  if (t.warnAfter && ageMs > t.warnAfter.ms) return 'warn';
  return 'pass';
}

/** The newest object by its modification time. */
export function newestObject(objects: Iterable<SourceObject>): SourceObject | undefined {
  let newest: SourceObject | undefined;
  for (const o of objects) if (o.modified && (!newest?.modified || o.modified > newest.modified)) newest = o;
  return newest;
}

/** The newest play loaded, as text both engines give the same way. */
export const NEWEST_EVENT_SQL = 'SELECT CAST(MAX(start_time) AS VARCHAR(32)) AS newest FROM songplays';

/** `2018-11-30 00:22:07.796` (a TIMESTAMP cast to text) as ISO 8601 UTC. */
function isoOf(text: string): string {
  const [date, time = '00:00:00'] = text.trim().split(' ');
  const [hms = '00:00:00', fraction = ''] = time.split('.');
  return `${date}T${hms}.${fraction.padEnd(3, '0').slice(0, 3)}Z`;
}

interface Reading {
  readonly newest: string | null;
  readonly newestObject: string | null;
  readonly note: string | null;
}

function row(
  source: string,
  where: string,
  reading: Reading,
  judged: boolean,
  t: FreshnessThresholds,
  now: Date,
): FreshnessRow {
  const ageMs = reading.newest === null ? null : now.getTime() - Date.parse(reading.newest);
  const status: FreshnessStatus = ageMs === null ? 'unknown' : judged ? judge(ageMs, t) : 'not judged';
  return { source, where, ...reading, ageSeconds: ageMs === null ? null : Math.round(ageMs / 1000), status };
}

async function readSource(reader: SourceReader, uri: string): Promise<Reading> {
  try {
    const newest = newestObject(await reader.list(uri));
    return newest?.modified
      ? { newest: newest.modified, newestObject: newest.uri, note: null }
      : { newest: null, newestObject: null, note: 'no objects' };
  } catch (err) {
    return { newest: null, newestObject: null, note: (err as Error).message };
  }
}

async function readWarehouse(conn: Connection | undefined): Promise<Reading> {
  if (!conn) return { newest: null, newestObject: null, note: 'the warehouse was not reached' };
  try {
    if (!(await tableExists(conn, 'songplays')))
      return { newest: null, newestObject: null, note: 'no songplays table: run `migrate up` and `load`' };
    const { rows } = await conn.query<{ newest: string | null }>(NEWEST_EVENT_SQL);
    const newest = rows[0]?.newest ?? null;
    return newest === null
      ? { newest: null, newestObject: null, note: 'songplays is empty' }
      : { newest: isoOf(newest), newestObject: null, note: null };
  } catch (err) {
    return { newest: null, newestObject: null, note: (err as Error).message };
  }
}

/** Reads the sources' newest objects and the warehouse's newest play (conn undefined: not read). */
export async function checkFreshness(
  reader: SourceReader,
  sources: Sources,
  conn: Connection | undefined,
  t: FreshnessThresholds,
  now: Date = new Date(),
): Promise<FreshnessReport> {
  const rows = [
    row('LOG_DATA', sources.logData, await readSource(reader, sources.logData), true, t, now),
    row('SONG_DATA', sources.songData, await readSource(reader, sources.songData), false, t, now),
    row('loaded events', 'songplays.start_time', await readWarehouse(conn), true, t, now),
  ];
  const judged = rows.filter((r) => r.source !== 'SONG_DATA');
  const status = judged.some((r) => r.status === 'error')
    ? 'error'
    : judged.some((r) => r.status === 'warn' || r.status === 'unknown')
      ? 'warn'
      : 'pass';
  return {
    checkedAt: now.toISOString(),
    warnAfter: t.warnAfter?.text ?? null,
    errorAfter: t.errorAfter?.text ?? null,
    status,
    sources: rows,
  };
}

/** An age as people read it: `3d`, `5h`, `12m`. */
export const ageText = (seconds: number | null): string => (seconds === null ? '' : ms(seconds * 1000));

/** One line per row, for the command line and the report page. */
export function freshnessRows(r: FreshnessReport): Record<string, string>[] {
  return r.sources.map((s) => ({
    source: s.source,
    where: s.where,
    newest: s.newest ?? '',
    age: ageText(s.ageSeconds),
    status: s.status,
    note: s.note ?? (s.newestObject ? `newest object: ${s.newestObject}` : ''),
  }));
}
