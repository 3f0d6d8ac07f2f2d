/**
 * Writes Sparkify-shaped sample data: song_data/ (one JSON object per file,
 * Million Song Dataset keys) and log_data/ (JSON Lines of app events, camelCase
 * keys, ts in epoch ms), plus log_json_path.json, with the real files' quirks
 * in about their real proportions (measured on ../shared/sparkify; checked by
 * test/generate-formats.test.ts): JSON written the way the source's encoder
 * wrote it (slashes escaped as `\/`, every non-ASCII character as `\uXXXX`,
 * in about 6% of song files and 4% of events), `registration` as a float
 * (`1541016707796.0`), three users in four with a user agent wrapped in
 * literal quotes (`"\"Mozilla\/5.0 …\""`), about one song file in 2000
 * pretty-printed (4-space indent, no final newline; log files have none
 * either), artists named with JSON numbers, logged-out events with an empty
 * userId, users moving from free to paid, plays of songs that exist and of
 * songs that do not, and sessions of a few plays about 3-4 minutes apart, so
 * that they last minutes to hours. Deterministic for a seed; streams its
 * output; returns the counts the warehouse must hold after loading it.
 */
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';

/**
 * Where the files go. `seed`: the prefixes of the seed projects' bucket
 * (song_data/A/<B>/<C>/<D>/TR….json, log_data/), the 2019 subset the sample
 * copies. `current`: today's udacity-dend prefixes (song-data/<A>/<B>/<C>/TR….json,
 * the folders named by the track id's 3rd to 5th letters as in the Million
 * Song Dataset, and log-data/).
 */
export const LAYOUTS = {
  seed: { songs: 'song_data', logs: 'log_data' },
  current: { songs: 'song-data', logs: 'log-data' },
} as const;
export type Layout = keyof typeof LAYOUTS;

/**
 * Today's udacity-dend at full size: 385,252 one-record song objects (the
 * staged song rows public write-ups report) and the 30 log files of November
 * 2018 with their 8,056 events.
 */
export const FULL_SIZE = { songs: 385_252, events: 8_056, days: 30, layout: 'current' } as const;

export interface GenerateOptions {
  readonly songs: number;
  readonly events: number;
  readonly seed: number;
  readonly out: string;
  /** Number of log files (days of November 2018, at most 30). */
  readonly days?: number;
  /** Folder names and song-file tree (default `seed`). */
  readonly layout?: Layout;
}

export interface ExpectedCounts {
  readonly staging_events: number;
  readonly staging_songs: number;
  readonly users: number;
  readonly paid_users: number;
  readonly songs: number;
  readonly artists: number;
  readonly songplays: number;
  readonly matched_songplays: number;
  readonly time: number;
  /** One interval per level a user shows (levels only go from free to paid here). */
  readonly user_levels: number;
}

/** mulberry32: small, fast, deterministic. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const WORDS = [
  'Night',
  'Summer',
  'Love',
  'River',
  'Dream',
  'Fire',
  'Blue',
  'Heart',
  'Road',
  'Rain',
  'Gold',
  'Moon',
  'Wild',
  'City',
  'Echo',
  'Stone',
  'Light',
  'Ocean',
  'Shadow',
  'Velvet',
  'AC/DC',
];
/** Written as \uXXXX escapes; one word in 70 is one of these (about 6% of song files, 4% of events, as in the real data). */
const ACCENTED = ['Électrique', 'Çava', 'Niño', 'Über', 'Kettensäge', 'Düsseldorf', 'Ubá'];
const FIRST = [
  'Lily',
  'Jacob',
  'Kate',
  'Chloe',
  'Aleena',
  'Tegan',
  'Mohammad',
  'Jayden',
  'Ryan',
  'Layla',
  'Matthew',
  'Sara',
  'Ava',
  'Noah',
];
const LAST = [
  'Koch',
  'Klein',
  'Harrell',
  'Cuevas',
  'Kirby',
  'Levine',
  'Rodriguez',
  'Bell',
  'Smith',
  'Griffin',
  'Jones',
  'Long',
  'Robinson',
];
const PLACES = [
  'San Francisco-Oakland-Hayward, CA',
  'Chicago-Naperville-Elgin, IL-IN-WI',
  'Atlanta-Sandy Springs-Roswell, GA',
  'Lansing-East Lansing, MI',
  'Tampa-St. Petersburg-Clearwater, FL',
  'New York-Newark-Jersey City, NY-NJ-PA',
];
const AGENTS = [
  'Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/36.0.1985.143 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_4) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/36.0.1985.125 Safari/537.36',
  'Mozilla/5.0 (Windows NT 6.1; WOW64; rv:31.0) Gecko/20100101 Firefox/31.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 7_1_2 like Mac OS X) AppleWebKit/537.51.2 (KHTML, like Gecko) Version/7.0 Mobile/11D257 Safari/9537.53',
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Ubuntu Chromium/36.0.1985.125 Chrome/36.0.1985.125 Safari/537.36',
  'Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.2; WOW64; Trident/6.0)',
];
const OTHER_PAGES = ['Home', 'Settings', 'Help', 'About', 'Thumbs Up', 'Add to Playlist', 'Downgrade', 'Upgrade'];

/**
 * JSON as the source's encoder wrote it (PHP's json_encode): `/` escaped as
 * `\/` and every character outside ASCII as `\uXXXX` (surrogate pairs for the
 * rest). Both only ever occur inside strings, so a text replace is exact.
 */
export function sourceJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent)
    .replace(/\//g, '\\/')
    .replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** One event as a log line: registration keeps its `.0` (the source wrote it as a float). */
function eventLine(e: Record<string, unknown>): string {
  return sourceJson(e).replace(/"registration":(\d+),/, '"registration":$1.0,');
}

function code(n: number, width: number, rnd: () => number): string {
  let s = '';
  for (let i = 0; i < width; i += 1) s += (LETTERS + '0123456789')[Math.floor(rnd() * 36)];
  return s + n.toString(36).toUpperCase();
}

interface SongRow {
  song_id: string;
  title: string;
  artist_id: string;
  artist_name: string | number;
  duration: number;
}

export async function generate(options: GenerateOptions): Promise<ExpectedCounts> {
  const rnd = prng(options.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const word = () => (rnd() < 1 / 70 ? pick(ACCENTED) : pick(WORDS));
  const layout = options.layout ?? 'seed';
  const songDir = path.join(options.out, LAYOUTS[layout].songs);
  const logDir = path.join(options.out, LAYOUTS[layout].logs);
  await mkdir(songDir, { recursive: true });
  await mkdir(logDir, { recursive: true });
  await writeFile(
    path.join(options.out, 'log_json_path.json'),
    `${JSON.stringify({ jsonpaths: ['artist', 'auth', 'firstName', 'gender', 'itemInSession', 'lastName', 'length', 'level', 'location', 'method', 'page', 'registration', 'sessionId', 'song', 'status', 'ts', 'userAgent', 'userId'].map((k) => `$['${k}']`) }, null, 4)}\n`,
  );

  // Artists: about one per 1.1 songs; one in 997 is named with a JSON number, and one has a number for a location (two real files in 1943 have each).
  const artistCount = Math.max(1, Math.round(options.songs / 1.1));
  const artists = Array.from({ length: artistCount }, (_, i) => ({
    id: `AR${code(i, 6, rnd)}`.slice(0, 18),
    name: i % 997 === 5 ? 100 + i : `${word()} ${word()} ${i}`,
    location: i % 997 === 3 ? 27 + i : rnd() < 0.4 ? '' : pick(PLACES),
    lat: rnd() < 0.5 ? null : Math.round((rnd() * 140 - 70) * 1e5) / 1e5,
    lon: rnd() < 0.5 ? null : Math.round((rnd() * 340 - 170) * 1e5) / 1e5,
  }));

  const songs: SongRow[] = [];
  const usedArtists = new Set<string>();
  const dirs = new Set<string>();
  for (let i = 0; i < options.songs; i += 1) {
    const artist = artists[i < artistCount ? i : Math.floor(rnd() * artistCount)] as (typeof artists)[number];
    usedArtists.add(artist.id);
    const third = LETTERS[Math.floor(i / 676) % 26] as string;
    const suffix = code(i, 5, rnd);
    // Today's tree is named by the track id's letters 3 to 5, so the 5th is a letter there.
    const track = `TR${LETTERS[i % 26]}${LETTERS[Math.floor(i / 26) % 26]}${layout === 'current' ? third : ''}${suffix}`;
    const song = {
      artist_id: artist.id,
      artist_latitude: artist.lat,
      artist_location: artist.location,
      artist_longitude: artist.lon,
      artist_name: artist.name,
      duration: Math.round((90 + rnd() * 300) * 1e5) / 1e5,
      num_songs: 1,
      song_id: `SO${code(i, 8, rnd)}`.slice(0, 18),
      title: `${word()} ${word()} No. ${i}`,
      year: rnd() < 0.3 ? 0 : 1960 + Math.floor(rnd() * 50),
    };
    songs.push(song);
    const dir =
      layout === 'current'
        ? path.join(songDir, track.slice(2, 3), track.slice(3, 4), track.slice(4, 5))
        : path.join(songDir, 'A', track.slice(2, 3), track.slice(3, 4), third);
    if (!dirs.has(dir)) {
      mkdirSync(dir, { recursive: true });
      dirs.add(dir);
    }
    // The real bucket has one pretty-printed file in 1943; so does the sample (the first, and one in 2000).
    const text = sourceJson(song, i % 2000 === 0 ? 4 : undefined);
    // Synchronous: for many small files a third of the time of promise-based writes (no
    // thread-pool round trip per file); 385,252 of them are written in about a minute.
    writeFileSync(path.join(dir, `${track}.json`), text);
  }

  // Users: some start free and upgrade to paid part-way.
  const userCount = Math.max(5, Math.min(5000, Math.round(options.events / 80)));
  const users = Array.from({ length: userCount }, (_, i) => ({
    id: String(i + 2),
    first: pick(FIRST),
    last: pick(LAST),
    gender: rnd() < 0.5 ? 'F' : 'M',
    location: pick(PLACES),
    // Three users in four have their user agent wrapped in literal quotes, as in the real logs.
    agent: rnd() < 0.76 ? `"${pick(AGENTS)}"` : pick(AGENTS),
    registration: 1540000000000 + Math.floor(rnd() * 1e9),
    // The fraction of the month after which the user is paid (> 1: never).
    paidFrom: rnd() < 0.25 ? 0 : rnd() < 0.35 ? rnd() : 2,
  }));
  type User = (typeof users)[number];

  const days = Math.min(30, Math.max(1, options.days ?? 30));
  const start = Date.UTC(2018, 10, 1);
  const span = days * 86400000;
  const step = span / Math.max(options.events, 1);
  const seenUsers = new Set<string>();
  const latestLevel = new Map<string, string>();
  const userLevels = new Set<string>();
  let songplays = 0;
  let matched = 0;
  let ts = start;
  let written = 0;
  // Sessions: a few of them are open at once, each a user playing one song after another, about
  // 200 s apart whatever the size (so more of them are open at once in a larger sample); each
  // event ends its session with probability 1/9, so they last minutes to hours, as the real
  // ones do (median 4 minutes, the longest about 8 hours).
  const open = Math.max(1, Math.min(Math.floor(users.length / 2), Math.round(200_000 / step)));
  const active = new Set<User>();
  let lastSession = 0;
  const newSession = () => {
    let user = pick(users);
    for (let tries = 0; active.has(user) && tries < 20; tries += 1) user = pick(users);
    active.add(user);
    lastSession += 1;
    return { user, id: lastSession, item: 0 };
  };
  const sessions = Array.from({ length: open }, newSession);
  for (let day = 0; day < days; day += 1) {
    const file = path.join(logDir, '2018', '11', `2018-11-${String(day + 1).padStart(2, '0')}-events.json`);
    await mkdir(path.dirname(file), { recursive: true });
    const stream = createWriteStream(file);
    const until = Math.round(((day + 1) / days) * options.events);
    let buf = '';
    let sep = '';
    for (; written < until; written += 1) {
      ts += 1 + Math.floor(rnd() * step * 2);
      const slot = Math.floor(rnd() * sessions.length);
      const session = sessions[slot] as ReturnType<typeof newSession>;
      const user = session.user;
      const loggedOut = rnd() < 0.03;
      const level = (ts - start) / span >= user.paidFrom ? 'paid' : 'free';
      const r = rnd();
      let page = r < 0.82 ? 'NextSong' : pick(OTHER_PAGES);
      let artist: string | null = null;
      let title: string | null = null;
      let length: number | null = null;
      if (loggedOut) page = rnd() < 0.5 ? 'Home' : 'Login';
      if (page === 'NextSong') {
        if (rnd() < 0.6 && songs.length > 0) {
          const s = pick(songs);
          artist = String(s.artist_name);
          title = s.title;
          length = s.duration;
          matched += 1;
        } else {
          artist = `${word()} Band`;
          title = `Unknown Track ${written}`;
          length = Math.round((90 + rnd() * 300) * 1e5) / 1e5;
        }
        songplays += 1;
      }
      const e = loggedOut
        ? {
            artist: null,
            auth: 'Logged Out',
            firstName: null,
            gender: null,
            itemInSession: session.item,
            lastName: null,
            length: null,
            level,
            location: null,
            method: 'GET',
            page,
            registration: null,
            sessionId: session.id,
            song: null,
            status: 200,
            ts,
            userAgent: null,
            userId: '',
          }
        : {
            artist,
            auth: 'Logged In',
            firstName: user.first,
            gender: user.gender,
            itemInSession: session.item,
            lastName: user.last,
            length,
            level,
            location: user.location,
            method: page === 'NextSong' ? 'PUT' : 'GET',
            page,
            registration: user.registration,
            sessionId: session.id,
            song: title,
            status: 200,
            ts,
            userAgent: user.agent,
            userId: user.id,
          };
      session.item += 1;
      if (rnd() < 1 / 9) {
        active.delete(user);
        sessions[slot] = newSession();
      }
      if (!loggedOut) {
        seenUsers.add(user.id);
        latestLevel.set(user.id, level);
        userLevels.add(`${user.id} ${level}`);
      }
      // Lines end with \n but the file does not (as the real ones).
      buf += sep + eventLine(e);
      sep = '\n';
      if (buf.length > 1 << 20) {
        if (!stream.write(buf)) await once(stream, 'drain');
        buf = '';
      }
    }
    stream.end(buf);
    await once(stream, 'finish');
  }
  // Logged-out events that were NextSong never happen (page is Home/Login), so every play has a user.
  return {
    staging_events: options.events,
    staging_songs: options.songs,
    users: seenUsers.size,
    paid_users: [...latestLevel.values()].filter((l) => l === 'paid').length,
    songs: options.songs,
    artists: usedArtists.size,
    songplays,
    matched_songplays: matched,
    time: songplays,
    user_levels: userLevels.size,
  };
}
