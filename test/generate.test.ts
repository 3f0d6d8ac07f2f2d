// npm run generate: the real formats and quirks, deterministic for a seed, and
// the counts it prints are what a load of it gives.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { generate } from '../lib/sample/generator.ts';
import { runCli } from './helpers/cli.ts';
import { filesBelow } from './helpers/files.ts';
import { load, migratedDatabase } from './helpers/load.ts';
import { tempDir } from './helpers/temp-dir.ts';
import { counts } from './helpers/warehouse.ts';

async function digest(dir: string): Promise<string> {
  const h = createHash('sha256');
  for (const f of await filesBelow(dir)) h.update(path.relative(dir, f)).update(await readFile(f));
  return h.digest('hex');
}

test('same seed, same files; another seed, other files', async (t) => {
  const a = await tempDir(t, 'gen-');
  const b = await tempDir(t, 'gen-');
  const c = await tempDir(t, 'gen-');
  await generate({ songs: 50, events: 500, seed: 7, out: a });
  await generate({ songs: 50, events: 500, seed: 7, out: b });
  await generate({ songs: 50, events: 500, seed: 8, out: c });
  t.is(await digest(a), await digest(b));
  t.not(await digest(a), await digest(c));
});

test('the real formats and quirks; the printed counts are what the load gives', async (t) => {
  const out = await tempDir(t, 'gen-');
  const r = await runCli(['generate', '--songs', '300', '--events', '3000', '--seed', '3', '--out', out]);
  t.is(r.code, 0, r.stderr);
  const songFiles = await filesBelow(path.join(out, 'song_data'));
  t.is(songFiles.length, 300);
  const texts = await Promise.all(songFiles.map((f) => readFile(f, 'utf8')));
  t.is(texts.filter((s) => s.includes('\n    "')).length, 1, 'one pretty-printed song file');
  t.true(
    texts.some((s) => /"artist_name":\d+/.test(s)),
    'an artist named with a JSON number',
  );
  const logFiles = await filesBelow(path.join(out, 'log_data'));
  t.is(logFiles.length, 30);
  const events = (await Promise.all(logFiles.map((f) => readFile(f, 'utf8'))))
    .join('\n')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  t.is(events.length, 3000);
  t.true(events.some((e) => e['userId'] === '' && e['auth'] === 'Logged Out'));
  t.true(Object.keys(events[0] ?? {}).includes('firstName'));
  const levels = new Map<string, Set<unknown>>();
  for (const e of events)
    levels.set(String(e['userId']), (levels.get(String(e['userId'])) ?? new Set()).add(e['level']));
  t.true(
    [...levels.values()].some((s) => s.size === 2),
    'a user changes level',
  );

  const expected = Object.fromEntries(
    [...r.stdout.matchAll(/^(\w+)\s+\|\s+(\d+)$/gm)].map((m) => [m[1], Number(m[2])]),
  );
  const tdb = await migratedDatabase();
  t.teardown(() => tdb.drop());
  await load(tdb, {
    LOG_DATA: path.join(out, 'log_data'),
    SONG_DATA: path.join(out, 'song_data'),
    LOG_JSONPATH: path.join(out, 'log_json_path.json'),
  });
  const got = await counts(tdb);
  for (const table of Object.keys(got)) t.is(got[table], expected[table], table);
  const matched = await tdb.query<{ n: number }>('select count(*)::int as n from songplays where song_id is not null');
  t.is(matched[0]?.n, expected['matched_songplays']);
  t.true(
    (matched[0]?.n ?? 0) > 0 && (matched[0]?.n ?? 0) < (expected['songplays'] ?? 0),
    'plays of songs that exist and of songs that do not',
  );
  const paid = await tdb.query<{ n: number }>("select count(*)::int as n from users where level = 'paid'");
  t.is(paid[0]?.n, expected['paid_users']);
});

test("--layout current: today's prefixes and song tree (song-data/<A>/<B>/<C>/TR<A><B><C>….json, log-data/), and it loads", async (t) => {
  const out = await tempDir(t, 'gen-');
  const r = await runCli([
    'generate',
    ...['--songs', '2100', '--events', '400', '--seed', '5', '--layout', 'current', '--out', out],
  ]);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, new RegExp(`^SONG_DATA=${out}/song-data$`, 'm'));
  t.regex(r.stdout, new RegExp(`^LOG_DATA=${out}/log-data$`, 'm'));
  const songFiles = (await filesBelow(path.join(out, 'song-data'))).map((f) => path.relative(out, f));
  t.is(songFiles.length, 2100);
  const misplaced = songFiles.filter((f) => !/^song-data\/([A-Z])\/([A-Z])\/([A-Z])\/TR\1\2\3[A-Z0-9]+\.json$/.test(f));
  t.deepEqual(misplaced, []);
  const texts = await Promise.all(songFiles.map((f) => readFile(path.join(out, f), 'utf8')));
  t.is(texts.filter((s) => s.includes('\n    "')).length, 2, 'pretty-printed song files, one in 2000');
  t.is((await filesBelow(path.join(out, 'log-data'))).length, 30);

  const expected = Object.fromEntries(
    [...r.stdout.matchAll(/^(\w+)\s+\|\s+(\d+)$/gm)].map((m) => [m[1], Number(m[2])]),
  );
  const tdb = await migratedDatabase();
  t.teardown(() => tdb.drop());
  await load(tdb, {
    LOG_DATA: path.join(out, 'log-data'),
    SONG_DATA: path.join(out, 'song-data'),
    LOG_JSONPATH: path.join(out, 'log_json_path.json'),
  });
  const got = await counts(tdb);
  for (const table of Object.keys(got)) t.is(got[table], expected[table], table);
});
