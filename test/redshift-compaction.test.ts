// Issue 27, items 4 and 6: compaction on the Redshift path, proved through the
// Data API stand-in (which performs COPY … MANIFEST GZIP from s3rver and counts
// the GETs of each COPY) with the real command line. A 20k-object song source
// (and a few pretty-printed objects with hard strings) staged compacted gives
// the same staging rows as the direct COPY of the prefix; the compacted COPY
// makes one GET per chunk; the chunks are removed afterwards; a bad record
// inside a chunk is named by its own object and line, on failure and under
// --max-errors; a second, incremental run compacts and COPYs only the new
// objects; LOAD_STAGE_PREFIX must be set and in the COPY's region.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import test from 'ava';
import { generate } from '../lib/sample/generator.ts';
import { runCli } from './helpers/cli.ts';
import { startDataApiStandIn, type DataApiStandIn } from './helpers/data-api.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { song } from './helpers/fixtures.ts';
import { startS3, type TestS3 } from './helpers/s3.ts';
import { fileScope, tempDir } from './helpers/temp-dir.ts';

const BUCKET = 'sparkify-compaction';
const STAGE = 'sparkify-stage';
const SONGS = 20_000;
/** The stand-in's STV_SLICES rows. */
const SLICES = 8;
const SOURCES = {
  SONG_DATA: `s3://${BUCKET}/song_data/`,
  LOG_DATA: `s3://${BUCKET}/log_data/`,
  LOG_JSONPATH: `s3://${BUCKET}/meta/log_json_path.json`,
  LOAD_STAGE_PREFIX: `s3://${STAGE}/runs/`,
};

/** Pretty-printed song objects whose strings hold escaped quotes, backslashes, braces and blanks. */
const HARD = {
  'song_data/Z/Z/Z/TRZHARD0001.json': `{\n    "num_songs": 1,\n    "artist_id": "ARZHARD0000001",\n    "artist_latitude": 40.7,\n    "artist_longitude": -74.0,\n    "artist_location": "  New York, \\"NY\\"  ",\n    "artist_name": "The \\\\ Backslash {Band}",\n    "song_id": "SOZHARD0000001",\n    "title": "Tab\\tand  [brackets] \\u00e9",\n    "duration": 218.93179,\n    "year": 0\n}`,
  'song_data/Z/Z/Z/TRZHARD0002.json': `{"num_songs":1,"artist_id":"ARZHARD0000002","artist_latitude":null,"artist_longitude":null,\n"artist_location":"", "artist_name":"ends with \\\\", "song_id":"SOZHARD0000002", "title":"1.50", "duration":1.50, "year":2001}\n\n`,
};

const scope = fileScope();
let s3: TestS3;
let standIn: DataApiStandIn;
let objects = 0;

/** The 20k song objects, made here (one in 50 pretty-printed, as the real files are now and then). */
function* songObjects(): Generator<readonly [string, string]> {
  const letters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  for (let i = 0; i < SONGS; i += 1) {
    const id = String(i).padStart(10, '0');
    const path3 = [i % 26, Math.floor(i / 26) % 26, Math.floor(i / 676) % 26].map((n) => letters[n]).join('/');
    const record = song({
      song_id: `SO${id}ABCDEF`.slice(0, 18),
      artist_id: `AR${id}ABCDEF`.slice(0, 18),
      title: `Song "${i}" \\ ${i % 7 === 0 ? '{ [ ' : ''}${letters[i % 26]}`,
      artist_name: `Artist ${i % 997}`,
      duration: 100 + (i % 1000) / 7,
      year: 1950 + (i % 70),
    });
    yield [`song_data/${path3}/TR${id}.json`, i % 50 === 0 ? JSON.stringify(record, null, 4) : JSON.stringify(record)];
  }
}

/** The machine is shared: a stage of 20k objects, twice, takes minutes under load (AVA's default is 2). */
const SLOW = 10 * 60_000;
/** Each command may take as long as its test (a 20k-object stage on a loaded machine takes minutes). */
const cli = (args: readonly string[], env: Record<string, string | undefined>) =>
  runCli(args, env, { timeoutMs: SLOW });

test.before(async (t) => {
  t.timeout(SLOW);
  const out = await tempDir(scope, 'compaction-gen-');
  await generate({ songs: 50, events: 300, seed: 27, out });
  s3 = await startS3([BUCKET, STAGE]);
  objects = await s3.seed(BUCKET, songObjects());
  await s3.upload(BUCKET, 'log_data/', path.join(out, 'log_data'));
  await s3.put(BUCKET, 'meta/log_json_path.json', await readFile(path.join(out, 'log_json_path.json')));
  for (const [key, body] of Object.entries(HARD)) await s3.put(BUCKET, key, body);
  objects += Object.keys(HARD).length;
  standIn = await startDataApiStandIn(s3);
});

test.after.always(async () => {
  await standIn?.close();
  await s3?.close();
});

interface CopyCount {
  table: string;
  source: string;
  gets: number;
  rows: number;
}

/** The COPY statements the stand-in ran since `from` (an earlier answer's length). */
async function copies(from = 0): Promise<CopyCount[]> {
  const r = await fetch(`${standIn.endpoint}/stand-in/copies`);
  return ((await r.json()) as { copies: CopyCount[] }).copies.slice(from);
}

async function stagedKeys(): Promise<string[]> {
  const r = await s3.client.send(new ListObjectsV2Command({ Bucket: STAGE }));
  return (r.Contents ?? []).map((o) => o.Key ?? '');
}

async function dump(db: TestDatabase, table: string): Promise<string[]> {
  return (await db.query(`select * from ${table}`)).map((r) => JSON.stringify(r)).sort();
}

async function migrated(
  extra: Record<string, string> = {},
): Promise<{ db: TestDatabase; env: Record<string, string> }> {
  const db = await createTestDatabase();
  const env = { ...standIn.env(db.name, { cluster: true }), ...SOURCES, ...extra };
  const up = await cli(['migrate', 'up'], env);
  if (up.code !== 0) throw new Error(up.stderr);
  return { db, env };
}

test.serial(
  `${SONGS} song objects compacted: the same staging rows as the direct COPY, one GET a chunk, chunks removed`,
  async (t) => {
    t.timeout(SLOW);
    const { db, env } = await migrated();
    t.teardown(() => db.drop());
    const mark = (await copies()).length;
    let clock = Date.now();
    const compacted = await cli(['load', '--only', 'stage'], env);
    t.log(`compacted stage: ${((Date.now() - clock) / 1000).toFixed(1)} s`);
    t.is(compacted.code, 0, compacted.stderr);
    const chunks = Number(
      new RegExp(`Staging staging_songs: compacted ${objects} objects into (\\d+) chunks for ${SLICES} slices`).exec(
        compacted.stderr,
      )?.[1],
    );
    t.is(chunks, SLICES, 'a multiple of the slices: one each, the total being small');
    const [events, songs] = await copies(mark);
    t.is(events?.table, 'staging_events');
    t.not(events?.source, undefined);
    t.false(events?.source.endsWith('chunks.manifest'), 'the few log files are not compacted');
    t.is(songs?.table, 'staging_songs');
    t.regex(songs?.source ?? '', new RegExp(`^s3://${STAGE}/runs/[^/]+/staging_songs/chunks\\.manifest$`));
    t.is(songs?.gets, chunks, 'the compacted COPY makes one GET per chunk');
    t.is(songs?.rows, objects);
    t.deepEqual(await stagedKeys(), [], 'the chunks and the manifest are removed after the load');
    const compactedSongs = await dump(db, 'staging_songs');
    const compactedEvents = await dump(db, 'staging_events');

    const mark2 = (await copies()).length;
    clock = Date.now();
    const direct = await cli(['load', '--only', 'stage', '--no-compact'], env);
    t.log(`direct stage: ${((Date.now() - clock) / 1000).toFixed(1)} s`);
    t.is(direct.code, 0, direct.stderr);
    t.notRegex(direct.stderr, /compacted/);
    const [, directSongs] = await copies(mark2);
    t.is(directSongs?.source, SOURCES.SONG_DATA);
    t.is(directSongs?.gets, objects, 'the direct COPY makes one GET per object');
    t.deepEqual(await dump(db, 'staging_songs'), compactedSongs, 'the same staging rows, byte for byte');
    t.deepEqual(await dump(db, 'staging_events'), compactedEvents);
    const hard = await db.query<{ artist_location: string; artist_name: string; title: string }>(
      "select artist_location, artist_name, title from staging_songs where song_id like 'SOZHARD%' order by song_id",
    );
    t.deepEqual(hard, [
      { artist_location: '  New York, "NY"', artist_name: 'The \\ Backslash {Band}', title: 'Tab\tand  [brackets] é' },
      { artist_location: '', artist_name: 'ends with \\', title: '1.50' },
    ]);
    t.log(
      `S3 GETs of the songs COPY: ${songs?.gets} compacted, ${directSongs?.gets} direct (ratio ${((songs?.gets ?? 0) / (directSongs?.gets ?? 1)).toFixed(5)})`,
    );
  },
);

test.serial('a second, incremental run compacts and COPYs only the new objects', async (t) => {
  t.timeout(SLOW);
  const first30 = Array.from({ length: 30 }, (_, i) => [
    `inc/song_data/A/TRINC${String(i).padStart(6, '0')}.json`,
    JSON.stringify(song({ song_id: `SOINC${String(i).padStart(11, '0')}` })),
  ]);
  for (const [key, body] of first30) await s3.put(BUCKET, key ?? '', body ?? '');
  const { db, env } = await migrated({
    SONG_DATA: `s3://${BUCKET}/inc/song_data/`,
    LOAD_MANIFEST_PREFIX: `s3://${STAGE}/manifests/`,
  });
  t.teardown(() => db.drop());
  const first = await cli(['load', '--incremental', '--compact'], env);
  t.is(first.code, 0, first.stderr);
  t.regex(first.stderr, new RegExp(`Staging staging_songs: compacted 30 objects into ${SLICES} chunks`));
  const added = ['A', 'B', 'C'].map((c, i) => ({
    key: `inc/song_data/Y/${c}/TRYNEW000${i}.json`,
    body: JSON.stringify(song({ song_id: `SOYNEW000000000${i}`, artist_id: `ARYNEW000000000${i}` }), null, 2),
  }));
  for (const a of added) await s3.put(BUCKET, a.key, a.body);
  const mark = (await copies()).length;
  const second = await cli(['load', '--incremental', '--compact'], env);
  t.is(second.code, 0, second.stderr);
  t.regex(second.stderr, /Staging staging_songs: 3 new or changed of 33 objects/);
  t.regex(second.stderr, /Staging staging_songs: compacted 3 objects into 3 chunks/);
  const ran = await copies(mark);
  t.deepEqual(
    ran.filter((c) => c.table.startsWith('staging_')).map((c) => [c.table, c.gets, c.rows]),
    [['staging_songs', 3, 3]],
    'only the songs COPY runs, of the new objects',
  );
  // The ledger in SQL (lib/stage/ledger.ts): each source's listing COPY'd from one file (the log
  // files', then the 33 song objects'), and the 3 new objects recorded from one file.
  const ledger = ran.filter((c) => !c.table.startsWith('staging_'));
  t.deepEqual(
    ledger.map((c) => [c.table, c.gets]),
    [
      ['ledger_listed', 1],
      ['ledger_listed', 1],
      ['ledger_loaded', 1],
    ],
    "the ledger's object lists, one file each",
  );
  t.deepEqual(
    ledger.slice(1).map((c) => c.rows),
    [33, 3],
  );
  const songs = await db.query<{ n: number }>("select count(*)::int as n from songs where song_id like 'SOYNEW%'");
  t.is(songs[0]?.n, 3);
  t.deepEqual(
    (await stagedKeys()).filter((k) => !k.startsWith('manifests/')),
    [],
    'the chunks are removed',
  );
  const third = await cli(['load', '--incremental'], env);
  t.is(third.code, 0, third.stderr);
  t.regex(third.stderr, /Nothing new since the last load/);
});

/** A pretty-printed song whose year is not a number: its record ends on line 12 of its object. */
const BAD_SONG = JSON.stringify(song({ song_id: 'SOBAD00000000001', year: 'nineteen' as unknown as number }), null, 4);

test.serial(
  'a bad record inside a chunk is named by its own object and line, on failure and under --max-errors',
  async (t) => {
    t.timeout(SLOW);
    const badKey = 'bad/song_data/B/TRBAD0000001.json';
    for (let i = 0; i < 40; i += 1)
      await s3.put(
        BUCKET,
        `bad/song_data/A/TRGOOD${String(i).padStart(6, '0')}.json`,
        JSON.stringify(song({ song_id: `SOGOOD${String(i).padStart(10, '0')}` })),
      );
    await s3.put(BUCKET, badKey, BAD_SONG);
    t.is(BAD_SONG.split('\n').length, 12);
    const { db, env } = await migrated({ SONG_DATA: `s3://${BUCKET}/bad/song_data/` });
    t.teardown(() => db.drop());
    const failed = await cli(['load', '--only', 'stage', '--compact'], env);
    t.is(failed.code, 3, failed.stderr);
    t.regex(failed.stderr, /compacted 41 objects into 8 chunks/);
    t.regex(failed.stderr, new RegExp(`s3://${BUCKET}/${badKey}:12, field year`));
    t.notRegex(failed.stderr, /chunk-\d+-of-\d+\.jsonl\.gz/, 'no chunk is named');
    t.deepEqual(await stagedKeys(), [], 'the chunks are removed after a failed load too');

    const skipped = await cli(['load', '--only', 'stage', '--compact', '--max-errors', '1', '--format', 'json'], env);
    t.is(skipped.code, 0, skipped.stderr);
    const run = JSON.parse(skipped.stdout) as { skipped: { file: string; line: number; field?: string }[] };
    t.deepEqual(
      run.skipped.map((p) => [p.file, p.line, p.field]),
      [[`s3://${BUCKET}/${badKey}`, 12, 'year']],
    );
    const staged = await db.query<{ n: number }>('select count(*)::int as n from staging_songs');
    t.is(staged[0]?.n, 40);
  },
);

test.serial('LOAD_STAGE_PREFIX must be set for --compact, and in the COPY region', async (t) => {
  t.timeout(SLOW);
  const { db, env } = await migrated({ LOG_JSONPATH: 'auto' });
  t.teardown(() => db.drop());
  const unset = await cli(['load', '--only', 'stage', '--compact'], { ...env, LOAD_STAGE_PREFIX: '' });
  t.not(unset.code, 0);
  t.regex(unset.stderr, /LOAD_STAGE_PREFIX: --compact writes the compacted chunks there/);
  // s3rver's buckets are in us-east-1; SOURCE_REGION makes the COPY's REGION us-west-2.
  const mark = (await copies()).length;
  const elsewhere = await cli(['load', '--only', 'stage', '--compact'], { ...env, SOURCE_REGION: 'us-west-2' });
  t.not(elsewhere.code, 0);
  t.regex(
    elsewhere.stderr,
    new RegExp(`LOAD_STAGE_PREFIX: the bucket ${STAGE} is in us-east-1, but the COPY's REGION is us-west-2`),
  );
  t.deepEqual(await copies(mark), [], 'checked before anything is read or staged');
  t.deepEqual(await stagedKeys(), []);
});
