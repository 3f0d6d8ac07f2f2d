// Schema drift while staging (issue 31): two new keys in 1% of the lines and
// one renamed key are reported exactly (counts, first file:line) by the
// PostgreSQL path (counted in the converting pass, fast and JSON.parse paths
// alike) and by the Redshift path (a sample, through the Data API stand-in);
// --strict refuses them with nothing committed; the real sample and generated
// data report nothing.
import path from 'node:path';
import test from 'ava';
import { loadConfig } from '../lib/config/config.ts';
import { openDatabase } from '../lib/db/database.ts';
import { InputError } from '../lib/errors.ts';
import { runLoad, type LoadOptions } from '../lib/load/runner.ts';
import { silentLogger } from '../lib/log.ts';
import { generate } from '../lib/sample/generator.ts';
import { DRIFT_SAMPLE, DriftCounter, sampleObjects, type DriftReport } from '../lib/sources/drift.ts';
import { CopyBuffer } from '../lib/stage/postgres/copy-buffer.ts';
import type { StagingColumn } from '../lib/stage/postgres/copy-row.ts';
import { createObjectConverter } from '../lib/stage/postgres/object-converter.ts';
import { pipeline } from '../loaders/index.ts';
import { stageEvents } from '../loaders/stage-events.ts';
import { runCli, sharedSparkify } from './helpers/cli.ts';
import { startDataApiStandIn } from './helpers/data-api.ts';
import type { TestDatabase } from './helpers/database.ts';
import { event, EVENT_KEYS, song, writeFixture, type Event } from './helpers/fixtures.ts';
import { migratedDatabase } from './helpers/load.ts';
import { generatedSources, localSources, startS3 } from './helpers/s3.ts';
import { fileScope, tempDir } from './helpers/temp-dir.ts';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { FreshnessReport } from '../lib/report/freshness.ts';
import { checksums } from './helpers/warehouse.ts';
import { chromiumAvailable, chromiumTitle } from './helpers/chromium.ts';
import { launchChromium } from '../lib/report/page/chromium.ts';
import { writeReport } from '../lib/report/page/build.ts';
import { pathToFileURL } from 'node:url';

const data = sharedSparkify();
if (!data && process.env['REQUIRE_SHARED_DATA'] === '1')
  throw new Error('REQUIRE_SHARED_DATA=1 but ../shared/sparkify is missing');

const scope = fileScope();

/**
 * 1000 events in two files of 500 lines: `appVersion` in lines 50, 100, …
 * of each file (10 in all: 1%), `abTest` in lines 7, 57, … of a.json only
 * (10: 1%), and `userId` renamed `user_id` in the last 10 lines of each file
 * (20: 2%, over the 0.1% threshold).
 */
function driftedLogs(): Record<string, Event[]> {
  const file = (name: string) =>
    Array.from({ length: 500 }, (_, i) => {
      const line = i + 1;
      const e: Event = event({ ts: 1541000000000 + i * 1000 + (name === 'b' ? 1 : 0) });
      if (line % 100 === 50 || line % 100 === 0) e['appVersion'] = '4.2.0';
      if (name === 'a' && line % 50 === 7) e['abTest'] = { group: 'B' };
      if (line > 490) {
        e['user_id'] = e['userId'];
        delete e['userId'];
      }
      return e;
    });
  return { 'a.json': file('a'), 'b.json': file('b') };
}

/** What the drifted logs must report, exactly (logDir: where a.json and b.json are). */
function expectedFindings(logDir: string) {
  const a = path.join(logDir, 'a.json');
  return {
    records: 1000,
    newKeys: [
      { key: 'abTest', records: 10, first: { file: a, line: 7 } },
      { key: 'appVersion', records: 20, first: { file: a, line: 50 } },
      { key: 'user_id', records: 20, first: { file: a, line: 491 } },
    ],
    typeChanges: [],
    missingKeys: [{ key: 'userId', columns: ['user_id'], missing: 20, share: 0.02, first: { file: a, line: 491 } }],
  };
}

const findings = (r: DriftReport | undefined) =>
  r && { records: r.records, newKeys: r.newKeys, typeChanges: r.typeChanges, missingKeys: r.missingKeys };

async function loadWith(tdb: TestDatabase, env: Record<string, string>, extra: Partial<LoadOptions> = {}) {
  const config = loadConfig({ DATABASE_URL: tdb.url, ...env });
  const db = await openDatabase(config, silentLogger);
  try {
    return await runLoad(db, { config, log: silentLogger, pipeline, maxErrors: 0, ...extra });
  } finally {
    await db.close();
  }
}

test(
  chromiumTitle(
    'PostgreSQL staging reports two new keys in 1% of lines and a renamed key exactly; so do the run record and the report page',
  ),
  async (t) => {
    const tdb = await migratedDatabase();
    t.teardown(() => tdb.drop());
    const fx = await writeFixture(t, { logs: driftedLogs(), songs: { 'A/1.json': song() } });
    const report = await loadWith(tdb, fx.env);
    const events = report.drift.find((d) => d.table === 'staging_events');
    // appVersion is in 1% of a.json's and b.json's lines each: 20 of 1000 records in all.
    t.deepEqual(findings(events), expectedFindings(fx.env['LOG_DATA'] as string));
    t.deepEqual(findings(report.drift.find((d) => d.table === 'staging_songs')), {
      records: 1,
      newKeys: [],
      typeChanges: [],
      missingKeys: [],
    });
    // The run record keeps the findings.
    const [row] = await tdb.query<{ drift: string }>('select drift from load_runs order by started_at desc limit 1');
    const kept = JSON.parse(row?.drift ?? 'null') as DriftReport[];
    t.deepEqual(
      kept.find((d) => d.table === 'staging_events')?.newKeys.map((k) => [k.key, k.records]),
      [
        ['abTest', 10],
        ['appVersion', 20],
        ['user_id', 20],
      ],
    );
    if (!chromiumAvailable) return;
    // The report page shows the last load's drift: what a person reads, in the browser.
    const db = await openDatabase(loadConfig({ DATABASE_URL: tdb.url }), silentLogger);
    const file = await writeReport(db, await tempDir(t, 'drift-report-'), pipeline).finally(() => db.close());
    const browser = await launchChromium();
    t.teardown(() => browser.close());
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    const rows = (await page.evaluate(
      `[...document.querySelectorAll('#drift + p + .scroll tbody tr')].map((tr) => [...tr.cells].slice(0, 5).map((c) => c.innerText))`,
    )) as string[][];
    t.deepEqual(rows, [
      ['staging_events', 'new key (not loaded)', 'abTest', '10', '1000'],
      ['staging_events', 'new key (not loaded)', 'appVersion', '20', '1000'],
      ['staging_events', 'new key (not loaded)', 'user_id', '20', '1000'],
      ['staging_events', 'mapped key missing (column user_id)', 'userId', '20', '1000'],
    ]);
  },
);

test('--strict refuses new keys with nothing committed, and names them', async (t) => {
  const tdb = await migratedDatabase();
  t.teardown(() => tdb.drop());
  // Songs with coordinates: --strict also refuses a column NULL in every staged row.
  const located = song({ artist_latitude: 40.7, artist_longitude: -74 });
  const good = await writeFixture(t, { logs: { 'a.json': [event(), event()] }, songs: { 'A/1.json': located } });
  await loadWith(tdb, good.env, { strict: true });
  const before = await checksums(tdb);
  const fx = await writeFixture(t, { logs: driftedLogs(), songs: { 'A/1.json': located } });
  const err = await t.throwsAsync(loadWith(tdb, fx.env, { strict: true }), { instanceOf: InputError });
  t.regex(err?.message ?? '', /new key "appVersion" in 20 of 1000 records \(2%\).*first at .*a\.json:50/);
  t.regex(err?.message ?? '', /new key "user_id" in 20 of 1000 records/);
  t.regex(err?.message ?? '', /--strict: nothing was staged/);
  t.deepEqual(await checksums(tdb), before, 'staging and star tables unchanged');
});

test('a type change is reported with where each type was first seen; a number in a VARCHAR key is not one', async (t) => {
  const tdb = await migratedDatabase();
  t.teardown(() => tdb.drop());
  const lines = Array.from({ length: 100 }, (_, i) =>
    event({
      ts: 1541000000000 + i,
      // sessionId (an INTEGER column) turns into a string from line 61; artist (VARCHAR) is a number on line 5.
      sessionId: i >= 60 ? String(9) : 9,
      artist: i === 4 ? 311 : 'Some Artist',
    }),
  );
  const fx = await writeFixture(t, { logs: { 'a.json': lines }, songs: { 'A/1.json': song() } });
  const report = await loadWith(tdb, fx.env);
  const file = path.join(fx.env['LOG_DATA'] as string, 'a.json');
  t.deepEqual(findings(report.drift.find((d) => d.table === 'staging_events'))?.typeChanges, [
    {
      key: 'sessionId',
      columns: ['session_id'],
      types: { string: { records: 40, first: { file, line: 61 } }, number: { records: 60, first: { file, line: 1 } } },
    },
  ]);
});

/** The drifted logs as one object's bytes through the converter: the fast path, or JSON.parse only. */
async function converterDrift(fastPath: boolean, text: string): Promise<DriftReport> {
  const columns: StagingColumn[] = stageEvents.columns.map((name) => ({
    name,
    type: stageEvents.varcharColumns?.includes(name) ? 'varchar' : name === 'length' ? 'double' : 'bigint',
    bytes: undefined,
    epochMs: false,
  }));
  const mapping = { kind: 'paths' as const, paths: EVENT_KEYS.map((k) => [k]), source: 'jsonpaths.json' };
  const counter = new DriftCounter(
    'staging_events',
    'logs',
    mapping,
    stageEvents.columns,
    stageEvents.varcharColumns ?? [],
  );
  const convert = createObjectConverter({ columns, mapping, observer: counter }, { fastPath });
  const bytes = Buffer.from(text);
  // Chunks of 1000 bytes: records cut between chunks are counted once.
  const chunks = Array.from({ length: Math.ceil(bytes.length / 1000) }, (_, i) =>
    bytes.subarray(i * 1000, (i + 1) * 1000),
  );
  await convert('a.json', chunks, {
    out: new CopyBuffer(64),
    flushIfFull: async () => undefined,
    problem: () => undefined,
  });
  return counter.report();
}

test('the byte fast path and the JSON.parse path count the same keys, records cut by chunks once', async (t) => {
  const logs = driftedLogs()['a.json'] as Event[];
  // A nested value (abTest on line 7) sends the rest of the object to the JSON.parse path: the first 6 lines are the fast path's.
  const text = logs.map((e) => JSON.stringify(e)).join('\n');
  const fast = await converterDrift(true, text);
  const parsed = await converterDrift(false, text);
  t.deepEqual(fast, parsed);
  t.deepEqual(
    fast.newKeys.map((k) => [k.key, k.records, k.first.line]),
    [
      ['abTest', 10, 7],
      ['appVersion', 10, 50],
      ['user_id', 10, 491],
    ],
  );
  // Without the nested key every record goes through the fast path, pretty-printed ones too (a key on its own line).
  const flat = logs.map((e) => {
    const rest = Object.fromEntries(Object.entries(e).filter(([k]) => k !== 'abTest'));
    return JSON.stringify(rest, null, e['appVersion'] ? 2 : undefined);
  });
  const fastFlat = await converterDrift(true, flat.join('\n'));
  t.deepEqual(fastFlat, await converterDrift(false, flat.join('\n')));
  t.deepEqual(fastFlat.profile.find((p) => p.key === 'userId')?.records, 490);
});

test('generated data reports no drift', async (t) => {
  const out = await tempDir(t, 'drift-gen-');
  await generate({ songs: 200, events: 3000, seed: 31, out });
  const tdb = await migratedDatabase();
  t.teardown(() => tdb.drop());
  const report = await loadWith(tdb, {
    LOG_DATA: path.join(out, 'log_data'),
    SONG_DATA: path.join(out, 'song_data'),
    LOG_JSONPATH: path.join(out, 'log_json_path.json'),
  });
  t.deepEqual(
    report.drift.map((d) => [d.table, d.records, findings(d)?.newKeys, d.typeChanges, d.missingKeys]),
    [
      ['staging_events', 3000, [], [], []],
      ['staging_songs', 200, [], [], []],
    ],
  );
});

(data ? test : test.skip)(
  data
    ? 'a full load of the real sample reports no drift'
    : 'a full load of the real sample reports no drift (skipped: ../shared/sparkify not found; REQUIRE_SHARED_DATA=1 makes it mandatory)',
  async (t) => {
    const root = data as string;
    const tdb = await migratedDatabase();
    t.teardown(() => tdb.drop());
    const report = await loadWith(tdb, {
      LOG_DATA: path.join(root, 'log_data'),
      SONG_DATA: path.join(root, 'song_data'),
      LOG_JSONPATH: path.join(root, 'log_json_path.json'),
    });
    t.deepEqual(
      report.drift.map((d) => [d.table, d.records, d.objectsRead, d.newKeys, d.typeChanges, d.missingKeys]),
      [
        ['staging_events', 8056, 30, [], [], []],
        ['staging_songs', 1943, 1943, [], [], []],
      ],
    );
    // The profile says what the real data holds: two artist names are JSON numbers (loaded as text: not a change).
    const songs = report.drift.find((d) => d.table === 'staging_songs');
    t.deepEqual(songs?.profile.find((p) => p.key === 'artist_name')?.types, { string: 1941, number: 2 });
  },
);

test('sources shows the per-key profile without loading, and the drift', async (t) => {
  const fx = await writeFixture(t, { logs: driftedLogs(), songs: { 'A/1.json': song() } });
  const r = await runCli(['sources', '--format', 'json'], fx.env);
  t.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { drift: DriftReport[] };
  t.deepEqual(
    findings(out.drift.find((d) => d.table === 'staging_events')),
    expectedFindings(fx.env['LOG_DATA'] as string),
  );
  t.deepEqual(
    out.drift.find((d) => d.table === 'staging_events')?.profile.find((p) => p.key === 'userId'),
    {
      key: 'userId',
      columns: ['user_id'],
      records: 980,
      types: { string: 980 },
      first: { file: path.join(fx.env['LOG_DATA'] as string, 'a.json'), line: 491 },
    },
  );
  const text = await runCli(['sources'], fx.env);
  t.regex(text.stdout, /Keys of staging_events \(1000 records in a sample of 2 of 2 objects\):/);
  t.regex(text.stdout, /appVersion\s+\| \(none: new key\)\s+\|\s+20 \| 2%\s+\| string 20\s+\| \S+a\.json:50/);
});

test.serial('the Redshift path reports the same drift from a sample, through the Data API stand-in', async (t) => {
  const BUCKET = 'drift-data-api';
  const s3 = await startS3([BUCKET]);
  t.teardown(() => s3.close());
  const fx = await writeFixture(scope, { logs: driftedLogs(), songs: { 'A/1.json': song() } });
  const sources = await s3.uploadSources(BUCKET, localSources(fx.env));
  const standIn = await startDataApiStandIn(s3);
  t.teardown(() => standIn.close());
  const tdb = await migratedDatabase();
  t.teardown(() => tdb.drop());
  const env = {
    ...standIn.env(tdb.name),
    ...sources,
  };
  const run = await runCli(['load', '--format', 'json'], env);
  t.is(run.code, 0, run.stderr);
  const summary = JSON.parse(run.stdout) as { drift: DriftReport[] };
  const events = summary.drift.find((d) => d.table === 'staging_events');
  const expected = expectedFindings('');
  const a = `s3://${BUCKET}/log_data/a.json`;
  t.deepEqual(findings(events), {
    ...expected,
    newKeys: expected.newKeys.map((k) => ({ ...k, first: { ...k.first, file: a } })),
    missingKeys: expected.missingKeys.map((k) => ({ ...k, first: { ...k.first, file: a } })),
  });
  t.is(events?.objectsRead, 2);
  t.regex(run.stderr, /schema drift: staging_events: new key "abTest" in 10 of 1000 records \(1%\)/);
  const strict = await runCli(['load', '--strict'], env);
  t.is(strict.code, 3, strict.stderr);
  t.regex(strict.stderr, /--strict: nothing was staged/);
  // Freshness on this path: S3 LastModified of the newest object, the newest play read through the Data API.
  const fresh = await runCli(['sources', '--freshness', '--warn-after', '1h', '--format', 'json'], env);
  t.is(fresh.code, 0, fresh.stderr);
  const report = JSON.parse(fresh.stdout) as FreshnessReport;
  const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'log_data/' }));
  const newest = [...(listed.Contents ?? [])].sort((x, y) => Number(y.LastModified) - Number(x.LastModified))[0];
  t.deepEqual(report.sources[0], {
    source: 'LOG_DATA',
    where: `s3://${BUCKET}/log_data/`,
    newest: newest?.LastModified?.toISOString(),
    newestObject: `s3://${BUCKET}/${newest?.Key ?? ''}`,
    ageSeconds: report.sources[0]?.ageSeconds,
    status: 'pass',
    note: null,
  });
  // b.json's line 490, the last with a userId: the newest play (ts 1541000000000 + 489 s + 1 ms).
  t.is(report.sources[2]?.newest, new Date(1541000000000 + 489 * 1000 + 1).toISOString());
  t.is(report.sources[2]?.status, 'warn');
  // Past --error-after on this path too: exit 4, in text (the newest play is from 2018).
  const stale = await runCli(['sources', '--freshness', '--error-after', '30d'], env);
  t.is(stale.code, 4, stale.stderr);
  t.regex(stale.stdout, /loaded events .*error/);
});

test.serial(
  'the Redshift path reports no drift on generated data, from a bounded sample (200 of the song files)',
  async (t) => {
    const BUCKET = 'drift-generated';
    const out = await tempDir(t, 'drift-gen-redshift-');
    // 260 songs: one file each, more than the sample's 200 objects.
    await generate({ songs: 260, events: 2000, seed: 131, out });
    const s3 = await startS3([BUCKET]);
    t.teardown(() => s3.close());
    const sources = await s3.uploadSources(BUCKET, generatedSources(out));
    const standIn = await startDataApiStandIn(s3);
    t.teardown(() => standIn.close());
    const tdb = await migratedDatabase();
    t.teardown(() => tdb.drop());
    const run = await runCli(['load', '--strict', '--format', 'json'], {
      ...standIn.env(tdb.name),
      ...sources,
    });
    t.is(run.code, 0, run.stderr);
    t.notRegex(run.stderr, /schema drift/);
    const summary = JSON.parse(run.stdout) as { drift: DriftReport[] };
    const songs = summary.drift.find((d) => d.table === 'staging_songs');
    t.deepEqual(
      summary.drift.map((d) => [d.table, d.newKeys, d.typeChanges, d.missingKeys]),
      [
        ['staging_events', [], [], []],
        ['staging_songs', [], [], []],
      ],
    );
    t.deepEqual([songs?.objectsRead, songs?.objectsListed, songs?.records], [200, 260, 200]);
    t.regex(run.stderr, /Profiling staging_songs's keys: a sample of 200 of 260 objects/);
  },
);

test('the Redshift sample is bounded: 200 objects spread over the listing, first and last included, 64 MB at most', (t) => {
  const listing = Array.from({ length: 385_252 }, (_, i) => ({
    uri: `s3://udacity-dend/song-data/${String(i).padStart(6, '0')}.json`,
    size: 250,
    version: `etag-${i}`,
  }));
  const sample = sampleObjects(listing);
  t.is(sample.length, DRIFT_SAMPLE.objects);
  t.is(sample[0], listing[0]);
  t.is(sample[sample.length - 1], listing[listing.length - 1]);
  // Spread: consecutive picks about 1/199 of the listing apart, never the same object twice.
  const at = sample.map((o) => listing.indexOf(o));
  t.true(at.every((i, k) => k === 0 || (i - (at[k - 1] as number) >= 1935 && i - (at[k - 1] as number) <= 1937)));
  // Large objects: the sample stops before 64 MB (the first object is always read).
  const large = listing.slice(0, 1000).map((o) => ({ ...o, size: 1_000_000 }));
  const bounded = sampleObjects(large);
  t.is(bounded.length, Math.floor(DRIFT_SAMPLE.bytes / 1_000_000));
  t.true(bounded.reduce((a, o) => a + o.size, 0) <= DRIFT_SAMPLE.bytes);
  t.is(sampleObjects([{ ...listing[0]!, size: 100_000_000 }]).length, 1);
});
