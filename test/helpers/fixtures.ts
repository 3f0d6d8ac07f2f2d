/**
 * Small inputs made for one rule each: log events and song files in the real
 * formats, written to a temporary folder that its owner removes.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { tempDir, type Owner } from './temp-dir.ts';

export type Event = Record<string, unknown>;
export type Song = Record<string, unknown>;

let ts = 1541105830796;

/** A NextSong event of user 10 with every field, overridable. */
export function event(overrides: Event = {}): Event {
  ts += 1000;
  return {
    artist: 'Some Artist',
    auth: 'Logged In',
    firstName: 'Sylvie',
    gender: 'F',
    itemInSession: 0,
    lastName: 'Cruz',
    length: 200.5,
    level: 'free',
    location: 'Washington-Arlington-Alexandria, DC-VA-MD-WV',
    method: 'PUT',
    page: 'NextSong',
    registration: 1540266185796.0,
    sessionId: 9,
    song: 'Some Song',
    status: 200,
    ts,
    userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_4)',
    userId: '10',
    ...overrides,
  };
}

export function song(overrides: Song = {}): Song {
  return {
    artist_id: 'ARFIXTURE0000001',
    artist_latitude: null,
    artist_location: '',
    artist_longitude: null,
    artist_name: 'Some Artist',
    duration: 200.5,
    num_songs: 1,
    song_id: 'SOFIXTURE0000001',
    title: 'Some Song',
    year: 2001,
    ...overrides,
  };
}

/** The log events' keys, in the order of staging_events' columns (and of Sparkify's JSONPaths file). */
export const EVENT_KEYS: readonly string[] = [
  'artist',
  'auth',
  'firstName',
  'gender',
  'itemInSession',
  'lastName',
  'length',
  'level',
  'location',
  'method',
  'page',
  'registration',
  'sessionId',
  'song',
  'status',
  'ts',
  'userAgent',
  'userId',
];

export const JSONPATHS = JSON.stringify({ jsonpaths: EVENT_KEYS.map((k) => `$['${k}']`) }, null, 4);

export interface FixtureSet {
  readonly root: string;
  readonly env: Record<string, string>;
}

/**
 * Writes log files (each an array of events as JSON Lines, or raw text) and
 * song files (each an object, or raw text) and returns the settings that load
 * them. The folder is removed by `owner` (the test's t, or a fileScope()).
 */
export async function writeFixture(
  owner: Owner,
  files: { logs?: Record<string, Event[] | string>; songs?: Record<string, Song | string>; jsonpaths?: string },
): Promise<FixtureSet> {
  const root = await tempDir(owner, 'sparkify-fixture-');
  const logDir = path.join(root, 'log_data');
  const songDir = path.join(root, 'song_data');
  await mkdir(logDir, { recursive: true });
  await mkdir(songDir, { recursive: true });
  for (const [name, content] of Object.entries(files.logs ?? {})) {
    await mkdir(path.dirname(path.join(logDir, name)), { recursive: true });
    await writeFile(
      path.join(logDir, name),
      typeof content === 'string' ? content : content.map((e) => JSON.stringify(e)).join('\n'),
    );
  }
  for (const [name, content] of Object.entries(files.songs ?? {})) {
    await mkdir(path.dirname(path.join(songDir, name)), { recursive: true });
    await writeFile(path.join(songDir, name), typeof content === 'string' ? content : JSON.stringify(content));
  }
  const jsonpathsFile = path.join(root, 'log_json_path.json');
  await writeFile(jsonpathsFile, files.jsonpaths ?? JSONPATHS);
  return { root, env: { LOG_DATA: logDir, SONG_DATA: songDir, LOG_JSONPATH: jsonpathsFile } };
}
