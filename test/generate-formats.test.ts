// The generator's files have the formats of Sparkify's real files (../shared/sparkify): for every
// key, the same kinds of raw JSON text (a float written `1541016707796.0`, a string wrapped in
// escaped quotes, `\/` and `\uXXXX` escapes, …) and about the same share of the quirks. Formats are
// compared, not values. Skips visibly without the real data; REQUIRE_SHARED_DATA=1 makes it mandatory.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { generate } from '../lib/sample/generator.ts';
import { sharedSparkify } from './helpers/cli.ts';
import { filesBelow } from './helpers/files.ts';
import { tempDir } from './helpers/temp-dir.ts';

const data = sharedSparkify();
if (!data && process.env['REQUIRE_SHARED_DATA'] === '1')
  throw new Error('REQUIRE_SHARED_DATA=1 but ../shared/sparkify is missing');

/** The raw text of each value of a flat JSON object, in order (whitespace of pretty-printing ignored). */
function rawFields(text: string): [string, string][] {
  return [...text.matchAll(/"(\w+)"\s*:\s*("(?:[^"\\]|\\.)*"|[^,}\s]+)/g)].map((m) => [m[1] as string, m[2] as string]);
}

/** The format of one raw value: its JSON kind and, for strings, the escapes and wrapping it uses. */
function format(raw: string): string {
  if (raw === 'null') return 'null';
  if (/^-?\d+$/.test(raw)) return 'integer';
  if (/^-?\d+\.0$/.test(raw)) return 'float ending .0';
  if (/^-?\d+\.\d+$/.test(raw)) return 'float';
  if (raw === '""') return 'empty string';
  if (raw.startsWith('"\\"') && raw.endsWith('\\""')) return 'string in escaped quotes';
  return 'string';
}

interface Profile {
  keys: string;
  formats: Map<string, Set<string>>;
  records: number;
  /** Records with at least one \uXXXX escape. */
  unicode: number;
  /** Slashes: escaped ones and bare ones. */
  escapedSlashes: number;
  bareSlashes: number;
  quotedAgents: number;
  agents: number;
  pretty: number;
  /** Files that end with a newline. */
  finalNewline: number;
}

function profile(texts: string[], split: (text: string) => string[]): Profile {
  const p: Profile = {
    keys: '',
    formats: new Map(),
    records: 0,
    unicode: 0,
    escapedSlashes: 0,
    bareSlashes: 0,
    quotedAgents: 0,
    agents: 0,
    pretty: 0,
    finalNewline: 0,
  };
  const orders = new Set<string>();
  for (const text of texts) {
    if (text.endsWith('\n')) p.finalNewline += 1;
    if (/^\{\n {4}"/.test(text)) p.pretty += 1;
    for (const record of split(text)) {
      const fields = rawFields(record);
      orders.add(fields.map(([k]) => k).join(','));
      p.records += 1;
      if (/\\u[0-9a-f]{4}/.test(record)) p.unicode += 1;
      for (const [key, raw] of fields) {
        (p.formats.get(key) ?? p.formats.set(key, new Set()).get(key))?.add(format(raw));
        p.escapedSlashes += raw.split('\\/').length - 1;
        p.bareSlashes += raw.replace(/\\\//g, '').split('/').length - 1;
        if (key === 'userAgent' && raw !== 'null') {
          p.agents += 1;
          if (format(raw) === 'string in escaped quotes') p.quotedAgents += 1;
        }
      }
    }
  }
  p.keys = [...orders].join(' | ');
  return p;
}

const lines = (text: string) => text.split('\n').filter((l) => l.trim() !== '');
const whole = (text: string) => [text];
const texts = async (dir: string) => Promise.all((await filesBelow(dir)).map((f) => readFile(f, 'utf8')));
const sorted = (m: Map<string, Set<string>>) => Object.fromEntries([...m].map(([k, v]) => [k, [...v].sort()]).sort());
/** Shares within a factor of two of each other. */
const near = (a: number, b: number) => a <= 2 * b && b <= 2 * a;

test('generated files have the real files’ formats and quirks, in about their proportions', async (t) => {
  if (!data) {
    t.log('SKIPPED: ../shared/sparkify is not here (REQUIRE_SHARED_DATA=1 makes this a failure)');
    t.pass();
    return;
  }
  const out = await tempDir(t, 'gen-formats-');
  await generate({ songs: 2000, events: 20_000, seed: 11, out });
  const realLogs = profile(await texts(path.join(data, 'log_data')), lines);
  const genLogs = profile(await texts(path.join(out, 'log_data')), lines);
  const realSongs = profile(await texts(path.join(data, 'song_data')), whole);
  const genSongs = profile(await texts(path.join(out, 'song_data')), whole);

  for (const [what, real, gen] of [
    ['log_data', realLogs, genLogs],
    ['song_data', realSongs, genSongs],
  ] as const) {
    t.is(gen.keys, real.keys, `${what}: keys, in the same order`);
    t.deepEqual(sorted(gen.formats), sorted(real.formats), `${what}: the formats of every key`);
    t.is(gen.bareSlashes, 0, `${what}: every slash escaped`);
    t.true(real.escapedSlashes > 0 && gen.escapedSlashes > 0, `${what}: escaped slashes`);
    t.true(
      near(gen.unicode / gen.records, real.unicode / real.records),
      `${what}: \\uXXXX escapes in ${gen.unicode} of ${gen.records} records, real ${real.unicode} of ${real.records}`,
    );
    t.is(gen.finalNewline, 0, `${what}: no file ends with a newline (${real.finalNewline} real ones do)`);
  }
  t.true(
    near(genLogs.quotedAgents / genLogs.agents, realLogs.quotedAgents / realLogs.agents),
    `user agents in escaped quotes: ${genLogs.quotedAgents} of ${genLogs.agents}, real ${realLogs.quotedAgents} of ${realLogs.agents}`,
  );
  t.true(realSongs.pretty >= 1 && genSongs.pretty >= 1, 'pretty-printed song files');
  t.true(
    genSongs.pretty / genSongs.records <= (4 * realSongs.pretty) / realSongs.records,
    `pretty-printed song files: ${genSongs.pretty} of ${genSongs.records}, real ${realSongs.pretty} of ${realSongs.records}`,
  );
});

test('sessions last minutes to hours, as the real ones do', async (t) => {
  const out = await tempDir(t, 'gen-sessions-');
  await generate({ songs: 50, events: 20_000, seed: 12, out });
  const minutes = (dir: string) =>
    texts(dir).then((all) => {
      const span = new Map<number, [number, number]>();
      for (const line of all.flatMap(lines)) {
        const e = JSON.parse(line) as { sessionId: number; ts: number };
        const [lo, hi] = span.get(e.sessionId) ?? [e.ts, e.ts];
        span.set(e.sessionId, [Math.min(lo, e.ts), Math.max(hi, e.ts)]);
      }
      return [...span.values()].map(([lo, hi]) => (hi - lo) / 60_000).sort((a, b) => a - b);
    });
  const gen = await minutes(path.join(out, 'log_data'));
  const median = gen[Math.floor(gen.length / 2)] ?? NaN;
  const longest = gen[gen.length - 1] ?? NaN;
  t.true(median >= 1 && median <= 60, `median session ${median.toFixed(0)} minutes`);
  t.true(longest >= 120 && longest <= 24 * 60, `longest session ${longest.toFixed(0)} minutes`);
  if (data) {
    const real = await minutes(path.join(data, 'log_data'));
    t.log(
      `sessions: median ${median.toFixed(0)} min, longest ${longest.toFixed(0)} min; real: median ${real[Math.floor(real.length / 2)]?.toFixed(0)} min, longest ${real[real.length - 1]?.toFixed(0)} min`,
    );
  }
});
