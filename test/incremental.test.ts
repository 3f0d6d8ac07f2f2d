// Incremental loads: the ledger records each source object; --incremental stages
// only new or changed objects, star tables gain exactly the new rows, users move
// to their newest level, and an unchanged re-run does no staging work at all.
import { appendFile, copyFile, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { pipeline } from '../loaders/index.ts';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { loadConfig } from '../lib/config/config.ts';
import { runLoad } from '../lib/load/runner.ts';
import { mappingFingerprint } from '../lib/stage/ledger.ts';
import { autoMapping } from '../lib/sources/json-mapping.ts';
import { readJsonMapping } from '../lib/sources/json-mapping-file.ts';
import { silentLogger } from '../lib/log.ts';
import { createSourceReader } from '../lib/sources/source-objects.ts';
import { runCli, sharedSparkify } from './helpers/cli.ts';
import { fakeRedshift } from './helpers/fake-redshift.ts';
import { event, JSONPATHS, song, writeFixture } from './helpers/fixtures.ts';
import { migratedDatabase } from './helpers/load.ts';
import type { TestDatabase } from './helpers/database.ts';
import { startS3 } from './helpers/s3.ts';
import { contentChecksums } from './helpers/warehouse.ts';

/** The star tables (the registered transform steps). */
const STAR = pipeline.transforms.map((s) => s.table);
const star = (sums: Record<string, string>) => Object.fromEntries(STAR.map((t) => [t, sums[t]]));

test('incremental loads stage only new or changed objects and end where one full load ends', async (t) => {
  const dbs: TestDatabase[] = [];
  t.teardown(() => Promise.all(dbs.map((d) => d.drop())));
  const inc = await migratedDatabase();
  const full = await migratedDatabase();
  dbs.push(inc, full);
  const f = await writeFixture(t, {
    logs: {
      '2018-11-01-events.json': [
        event({ ts: 1541030000000, level: 'free' }),
        event({ ts: 1541030001000, userId: '11' }),
      ],
    },
    songs: { 'A/a.json': song({ song_id: 'SOA', title: 'Old Song', artist_name: 'Old Artist', artist_id: 'AROLD' }) },
  });
  const env = { DATABASE_URL: inc.url, ...f.env };
  const first = await runCli(['load', '--incremental'], env);
  t.is(first.code, 0, first.stderr);
  const ledger = await inc.query<{ table_name: string; n: number }>(
    "select table_name, count(*)::int as n from load_ledger where status = 'loaded' group by 1 order by 1",
  );
  t.deepEqual(ledger, [
    { table_name: 'staging_events', n: 1 },
    { table_name: 'staging_songs', n: 1 },
  ]);

  const before = await contentChecksums(inc);
  const unchanged = await runCli(['load', '--incremental'], env);
  t.is(unchanged.code, 0, unchanged.stderr);
  t.regex(unchanged.stderr, /Nothing new since the last load: no staging work, no transform/);
  t.deepEqual(await contentChecksums(inc), before, 'an unchanged re-run changes nothing, staging included');

  // A new day: the user upgrades and plays the song loaded the first time; a new song file.
  await appendFile(
    path.join(f.env['LOG_DATA'] ?? '', '2018-11-02-events.json'),
    [
      event({ ts: 1541120000000, level: 'paid', song: 'Old Song', artist: 'Old Artist', length: 200.5 }),
      event({ ts: 1541120001000, level: 'paid', song: 'New Song', artist: 'New Artist', length: 100 }),
    ]
      .map((e) => JSON.stringify(e))
      .join('\n'),
  );
  await appendFile(
    path.join(f.env['SONG_DATA'] ?? '', 'A', 'b.json'),
    JSON.stringify(
      song({ song_id: 'SOB', title: 'New Song', artist_name: 'New Artist', artist_id: 'ARNEW', duration: 100 }),
    ),
  );
  const second = await runCli(['load', '--incremental'], env);
  t.is(second.code, 0, second.stderr);
  t.regex(second.stderr, /Staging staging_events: 1 new or changed of 2 objects/);
  t.regex(second.stdout, /stage staging_events\s+\|\s+2 \|/, 'only the new file was staged');
  t.deepEqual(await inc.query('select level from users where user_id = 10'), [{ level: 'paid' }]);
  t.deepEqual(
    await inc.query('select song_id from songplays where start_time >= $1 order by start_time', ['2018-11-02']),
    [{ song_id: 'SOA' }, { song_id: 'SOB' }],
  );
  t.is((await inc.query<{ n: number }>('select count(*)::int as n from songplays'))[0]?.n, 4);

  // A changed object is staged again.
  await appendFile(
    path.join(f.env['LOG_DATA'] ?? '', '2018-11-01-events.json'),
    `\n${JSON.stringify(event({ ts: 1541030002000, userId: '12' }))}`,
  );
  const third = await runCli(['load', '--incremental'], env);
  t.regex(third.stderr, /Staging staging_events: 1 new or changed of 2 objects/);
  t.regex(third.stderr, /Staging staging_songs: 0 new or changed of 2 objects/);

  // The same files in one full load give the same star tables.
  t.is((await runCli(['load'], { ...env, DATABASE_URL: full.url })).code, 0);
  t.deepEqual(star(await contentChecksums(inc)), star(await contentChecksums(full)));
});

test('on Redshift an incremental load COPYs a manifest of the new objects only', async (t) => {
  const s3 = await startS3(['sparkify-src', 'sparkify-manifests']);
  t.teardown(() => s3.close());
  for (const day of ['01', '02', '03'])
    await s3.put('sparkify-src', `log_data/2018-11-${day}-events.json`, JSON.stringify(event()));
  await s3.put('sparkify-src', 'song_data/A/a.json', JSON.stringify(song()));
  await s3.put('sparkify-src', 'log_json_path.json', JSONPATHS);
  // AWS_REGION: s3rver's buckets are in us-east-1 (its GetBucketLocation answer), where the manifest must be.
  const env = {
    ...s3.env,
    AWS_REGION: 'us-east-1',
    LOG_DATA: 's3://sparkify-src/log_data',
    SONG_DATA: 's3://sparkify-src/song_data',
    LOG_JSONPATH: 's3://sparkify-src/log_json_path.json',
    IAM_ROLE_ARN: 'arn:aws:iam::123456789012:role/r',
    LOAD_MANIFEST_PREFIX: 's3://sparkify-manifests/runs/',
  };
  const saved = { ...process.env };
  Object.assign(process.env, s3.env);
  t.teardown(() => {
    process.env = saved;
  });
  const reader = createSourceReader('us-west-2');
  const listed = [...(await reader.list('s3://sparkify-src/log_data'))];
  const day1 = listed[0];
  // The ledger already has day 1 and the song file.
  const songObject = (await reader.list('s3://sparkify-src/song_data')).at(0);
  const config = loadConfig(env);
  // Day 1 and the song file were staged with today's mappings ('auto' and the column list), so it is not changed.
  const songStep = pipeline.staging.find((s) => s.table === 'staging_songs');
  const songFormat = songStep?.format(config.sources) ?? '';
  const songMapping = songStep ? mappingFingerprint(autoMapping(songFormat) ?? songFormat, songStep.columns) : '';
  const eventStep = pipeline.staging.find((s) => s.table === 'staging_events');
  const eventMapping = eventStep
    ? mappingFingerprint(
        await readJsonMapping(reader, eventStep.format(config.sources), eventStep.columns),
        eventStep.columns,
      )
    : '';
  // The ledger's object lists, written under LOAD_MANIFEST_PREFIX on s3rver, read back by the fake's COPY.
  const readObjectList = async (uri: string) => {
    const key = uri.replace('s3://sparkify-manifests/', '');
    const out = await s3.client.send(new GetObjectCommand({ Bucket: 'sparkify-manifests', Key: key }));
    return Buffer.from((await out.Body?.transformToByteArray()) ?? []);
  };
  const fake = fakeRedshift({
    readObjectList,
    ledger: [
      {
        object_uri: day1?.uri,
        object_size: String(day1?.size),
        object_version: day1?.version,
        mapping_fingerprint: eventMapping,
      },
      {
        object_uri: songObject?.uri,
        object_size: String(songObject?.size),
        object_version: songObject?.version,
        mapping_fingerprint: songMapping,
      },
    ],
  });
  await runLoad(fake.db, { config, log: silentLogger, pipeline, incremental: true });
  const copies = fake.statements.filter((s) => s.startsWith('COPY staging_'));
  t.is(copies.length, 1, 'one COPY: staging_songs has nothing new');
  // The ledger compared in SQL from the object lists (lib/stage/ledger.ts), never read whole.
  t.is(fake.statements.filter((s) => s.startsWith('COPY ledger_listed')).length, 2);
  t.false(fake.statements.some((s) => /^SELECT object_uri, object_size/.test(s)));
  const manifestUri = /FROM '(s3:\/\/sparkify-manifests\/runs\/[^']+-staging_events\.manifest)' MANIFEST/.exec(
    copies[0] ?? '',
  )?.[1];
  t.truthy(manifestUri, copies[0]);
  const key = manifestUri?.replace('s3://sparkify-manifests/', '') ?? '';
  const body = await (
    await s3.client.send(new GetObjectCommand({ Bucket: 'sparkify-manifests', Key: key }))
  ).Body?.transformToString();
  const manifest = JSON.parse(body ?? '{}') as { entries: { url: string; mandatory: boolean }[] };
  t.deepEqual(
    manifest.entries.map((e) => e.url),
    ['s3://sparkify-src/log_data/2018-11-02-events.json', 's3://sparkify-src/log_data/2018-11-03-events.json'],
  );
  t.true(manifest.entries.every((e) => e.mandatory));
  // The ledger records the loaded objects once every star table is filled, after the last transform.
  const ledgerInsert = fake.statements.findIndex(
    (s) => s.startsWith('INSERT INTO load_ledger') && s.includes("'loaded', GETDATE()"),
  );
  t.true(ledgerInsert > fake.statements.findIndex((s) => s.startsWith('INSERT INTO time')));

  // Nothing new at all: no COPY, no transform.
  const all = fakeRedshift({
    readObjectList,
    ledger: [...listed.map((o) => ({ o, mapping: eventMapping })), { o: songObject, mapping: songMapping }].map(
      ({ o, mapping }) => ({
        object_uri: o?.uri,
        object_size: String(o?.size),
        object_version: o?.version,
        mapping_fingerprint: mapping,
      }),
    ),
  });
  const report = await runLoad(all.db, { config, log: silentLogger, pipeline, incremental: true });
  t.deepEqual(report.steps, []);
  t.false(all.statements.some((s) => s.startsWith('COPY staging_') || s.startsWith('MERGE')));
  t.truthy(await readFile(new URL(import.meta.url)));
});

test('the ledger keeps file names with tabs, backslashes and newlines exactly: an unchanged incremental re-run finds nothing new', async (t) => {
  const db = await migratedDatabase();
  t.teardown(() => db.drop());
  const odd = 'day\t1\\x\nend.json';
  const f = await writeFixture(t, { logs: { [odd]: [event({ ts: 1541030000000 })] }, songs: { 'A/a b.json': song() } });
  const env = { DATABASE_URL: db.url, ...f.env };
  const first = await runCli(['load', '--incremental'], env);
  t.is(first.code, 0, first.stderr);
  const uris = await db.query<{ object_uri: string; recorded: boolean }>(
    "select object_uri, recorded_at > now() - interval '1 hour' as recorded from load_ledger where table_name = 'staging_events'",
  );
  t.deepEqual(uris, [{ object_uri: path.join(f.env['LOG_DATA'] ?? '', odd), recorded: true }]);
  const again = await runCli(['load', '--incremental'], env);
  t.is(again.code, 0, again.stderr);
  t.regex(again.stderr, /Nothing new since the last load/);
});

test('an event without ts never overwrites a user loaded from an event with a ts, in a later incremental load', async (t) => {
  const db = await migratedDatabase();
  t.teardown(() => db.drop());
  const f = await writeFixture(t, {
    logs: {
      '2018-11-01-events.json': [event({ ts: 1541030000000, level: 'paid', firstName: 'Lily', lastName: 'Koch' })],
    },
    songs: { 'A/a.json': song() },
  });
  const env = { DATABASE_URL: db.url, ...f.env };
  t.is((await runCli(['load', '--incremental'], env)).code, 0);
  const loaded = [{ first_name: 'Lily', last_name: 'Koch', level: 'paid', last_event_ts: '1541030000000' }];
  t.deepEqual(
    await db.query('select first_name, last_name, level, last_event_ts from users where user_id = 10'),
    loaded,
  );
  // One event for the same user, no ts, level free, other names.
  const noTs = event({ level: 'free', firstName: 'Other', lastName: 'Name', page: 'Home' });
  delete noTs['ts'];
  await appendFile(path.join(f.env['LOG_DATA'] ?? '', '2018-11-02-events.json'), JSON.stringify(noTs));
  const second = await runCli(['load', '--incremental'], env);
  t.is(second.code, 0, second.stderr);
  t.regex(second.stderr, /Staging staging_events: 1 new or changed of 2 objects/);
  t.deepEqual(
    await db.query('select first_name, last_name, level, last_event_ts from users where user_id = 10'),
    loaded,
    'the user was not moved back',
  );
});

const data = sharedSparkify();
if (!data && process.env['REQUIRE_SHARED_DATA'] === '1')
  throw new Error('REQUIRE_SHARED_DATA=1 but ../shared/sparkify is missing');
const onSparkify = data ? test : test.skip;
const title = (t: string) => (data ? t : `${t} (skipped: ../shared/sparkify not found; CI runs it)`);

onSparkify(
  title(
    "Sparkify's real logs: the first days, then all with --incremental, equal one full load, table by table, at several split points",
  ),
  async (t) => {
    const root = data ?? '';
    const logDir = path.join(root, 'log_data');
    const days = (await readdir(logDir, { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => path.relative(logDir, path.join(e.parentPath, e.name)))
      .sort();
    t.is(days.length, 30);
    const songs = { SONG_DATA: path.join(root, 'song_data'), LOG_JSONPATH: path.join(root, 'log_json_path.json') };
    const dbs: TestDatabase[] = [];
    const dirs: string[] = [];
    t.teardown(async () => {
      await Promise.all(dbs.map((d) => d.drop()));
      await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
    });
    const full = await migratedDatabase();
    dbs.push(full);
    const once = await runCli(['load'], { DATABASE_URL: full.url, LOG_DATA: logDir, ...songs });
    t.is(once.code, 0, once.stderr);
    const expected = star(await contentChecksums(full));
    // Copies of the day files, added in two parts (the ledger knows them by path, size and mtime).
    const copy = async (dir: string, files: readonly string[]) => {
      for (const f of files) {
        await mkdir(path.dirname(path.join(dir, f)), { recursive: true });
        await copyFile(path.join(logDir, f), path.join(dir, f));
      }
    };
    for (const split of [3, 14, 27]) {
      const inc = await migratedDatabase();
      dbs.push(inc);
      const dir = await mkdtemp(path.join(os.tmpdir(), 'sparkify-split-'));
      dirs.push(dir);
      const env = { DATABASE_URL: inc.url, LOG_DATA: dir, ...songs };
      await copy(dir, days.slice(0, split));
      const first = await runCli(['load'], env);
      t.is(first.code, 0, first.stderr);
      await copy(dir, days.slice(split));
      const rest = await runCli(['load', '--incremental'], env);
      t.is(rest.code, 0, rest.stderr);
      t.regex(rest.stderr, new RegExp(`Staging staging_events: ${30 - split} new or changed of 30 objects`));
      t.deepEqual(star(await contentChecksums(inc)), expected, `days 1-${split}, then all 30 with --incremental`);
    }
  },
);
