// Staging in worker threads gives exactly what the main-thread path gives:
// every row, the same errors, the same --max-errors behaviour.
import path from 'node:path';
import test from 'ava';
import { generate } from '../lib/generator.ts';
import { event, song, writeFixture } from './helpers/fixtures.ts';
import { load, migratedDatabase } from './helpers/load.ts';
import { checksums } from './helpers/warehouse.ts';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';

test('workers and the main thread stage the same rows (many files, several objects per worker)', async (t) => {
  const out = await mkdtemp(path.join(os.tmpdir(), 'gen-'));
  const expected = await generate({ songs: 1500, events: 20000, seed: 11, out });
  const env = { LOG_DATA: path.join(out, 'log_data'), SONG_DATA: path.join(out, 'song_data'), LOG_JSONPATH: path.join(out, 'log_json_path.json') };
  const inline = await migratedDatabase();
  const threaded = await migratedDatabase();
  t.teardown(() => Promise.all([inline.drop(), threaded.drop()]));
  const a = await load(inline, env, { workers: 0 });
  const b = await load(threaded, env, { workers: 2 });
  t.is(b.steps[0]?.rows, expected.staging_events);
  t.is(b.steps[1]?.rows, expected.staging_songs);
  t.deepEqual(b.steps.map((s) => s.rows), a.steps.map((s) => s.rows));
  t.deepEqual(await checksums(threaded), await checksums(inline));
});

test('a bad record found by a worker fails the load naming file, line and field; --max-errors skips it', async (t) => {
  const tdb = await migratedDatabase();
  t.teardown(() => tdb.drop());
  const logs = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`day-${i}.json`, [event({ ts: 1541000000000 + i * 10 }), event({ ts: 1541000000001 + i * 10 })]]));
  logs['day-7.json'] = [event({ ts: 1541000099000 }), event({ ts: 'soon' })];
  const f = await writeFixture({ logs, songs: { 'A/1.json': song() } });
  const before = await checksums(tdb);
  const e = await t.throwsAsync(load(tdb, f.env, { workers: 2 }));
  t.regex(e?.message ?? '', /day-7\.json:2, field ts \(column ts\): 'soon' is not an integer/);
  t.deepEqual(await checksums(tdb), before);
  const r = await load(tdb, f.env, { workers: 2, maxErrors: 1 });
  t.is(r.skipped.length, 1);
  t.is(r.steps[0]?.rows, 23);
});
