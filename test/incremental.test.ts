// Incremental loads: the ledger records each source object; --incremental stages
// only new or changed objects, star tables gain exactly the new rows, users move
// to their newest level, and an unchanged re-run does no staging work at all.
import { appendFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { pipeline } from '../loaders/index.ts';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { loadConfig } from '../lib/config/config.ts';
import { runLoad } from '../lib/load/runner.ts';
import { silentLogger } from '../lib/log.ts';
import { createSourceReader } from '../lib/sources/source-objects.ts';
import { runCli } from './helpers/cli.ts';
import { fakeRedshift } from './helpers/fake-redshift.ts';
import { event, song, writeFixture } from './helpers/fixtures.ts';
import { migratedDatabase } from './helpers/load.ts';
import type { TestDatabase } from './helpers/database.ts';
import { startS3 } from './helpers/s3.ts';
import { contentChecksums } from './helpers/warehouse.ts';

const STAR = ['users', 'songs', 'artists', 'songplays', 'time'];
const star = (sums: Record<string, string>) => Object.fromEntries(STAR.map((t) => [t, sums[t]]));

test('incremental loads stage only new or changed objects and end where one full load ends', async (t) => {
  const dbs: TestDatabase[] = [];
  t.teardown(() => Promise.all(dbs.map((d) => d.drop())));
  const inc = await migratedDatabase();
  const full = await migratedDatabase();
  dbs.push(inc, full);
  const f = await writeFixture(t, {
    logs: { '2018-11-01-events.json': [event({ ts: 1541030000000, level: 'free' }), event({ ts: 1541030001000, userId: '11' })] },
    songs: { 'A/a.json': song({ song_id: 'SOA', title: 'Old Song', artist_name: 'Old Artist', artist_id: 'AROLD' }) },
  });
  const env = { DATABASE_URL: inc.url, ...f.env };
  const first = await runCli(['load', '--incremental'], env);
  t.is(first.code, 0, first.stderr);
  const ledger = await inc.query<{ table_name: string; n: number }>("select table_name, count(*)::int as n from load_ledger where status = 'loaded' group by 1 order by 1");
  t.deepEqual(ledger, [{ table_name: 'staging_events', n: 1 }, { table_name: 'staging_songs', n: 1 }]);

  const before = await contentChecksums(inc);
  const unchanged = await runCli(['load', '--incremental'], env);
  t.is(unchanged.code, 0, unchanged.stderr);
  t.regex(unchanged.stderr, /Nothing new since the last load: no staging work, no transform/);
  t.deepEqual(await contentChecksums(inc), before, 'an unchanged re-run changes nothing, staging included');

  // A new day: the user upgrades and plays the song loaded the first time; a new song file.
  await appendFile(path.join(f.env['LOG_DATA'] ?? '', '2018-11-02-events.json'), [
    event({ ts: 1541120000000, level: 'paid', song: 'Old Song', artist: 'Old Artist', length: 200.5 }),
    event({ ts: 1541120001000, level: 'paid', song: 'New Song', artist: 'New Artist', length: 100 }),
  ].map((e) => JSON.stringify(e)).join('\n'));
  await appendFile(path.join(f.env['SONG_DATA'] ?? '', 'A', 'b.json'), JSON.stringify(song({ song_id: 'SOB', title: 'New Song', artist_name: 'New Artist', artist_id: 'ARNEW', duration: 100 })));
  const second = await runCli(['load', '--incremental'], env);
  t.is(second.code, 0, second.stderr);
  t.regex(second.stderr, /Staging staging_events: 1 new or changed of 2 objects/);
  t.regex(second.stdout, /stage staging_events\s+\|\s+2 \|/, 'only the new file was staged');
  t.deepEqual(await inc.query('select level from users where user_id = 10'), [{ level: 'paid' }]);
  t.deepEqual(await inc.query('select song_id from songplays where start_time >= $1 order by start_time', ['2018-11-02']), [{ song_id: 'SOA' }, { song_id: 'SOB' }]);
  t.is((await inc.query<{ n: number }>('select count(*)::int as n from songplays'))[0]?.n, 4);

  // A changed object is staged again.
  await appendFile(path.join(f.env['LOG_DATA'] ?? '', '2018-11-01-events.json'), `\n${JSON.stringify(event({ ts: 1541030002000, userId: '12' }))}`);
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
  for (const day of ['01', '02', '03']) await s3.put('sparkify-src', `log_data/2018-11-${day}-events.json`, JSON.stringify(event()));
  await s3.put('sparkify-src', 'song_data/A/a.json', JSON.stringify(song()));
  const env = { ...s3.env, LOG_DATA: 's3://sparkify-src/log_data', SONG_DATA: 's3://sparkify-src/song_data', LOG_JSONPATH: 's3://sparkify-src/log_json_path.json', IAM_ROLE_ARN: 'arn:aws:iam::123456789012:role/r', LOAD_MANIFEST_PREFIX: 's3://sparkify-manifests/runs/' };
  const saved = { ...process.env };
  Object.assign(process.env, s3.env);
  t.teardown(() => {
    process.env = saved;
  });
  const reader = createSourceReader('us-west-2');
  const listed = await reader.list('s3://sparkify-src/log_data');
  const day1 = listed[0];
  // The ledger already has day 1 and the song file.
  const songObject = (await reader.list('s3://sparkify-src/song_data'))[0];
  const fake = fakeRedshift({
    ledger: [
      { object_uri: day1?.uri, object_size: String(day1?.size), object_version: day1?.version },
      { object_uri: songObject?.uri, object_size: String(songObject?.size), object_version: songObject?.version },
    ],
  });
  const config = loadConfig(env);
  await runLoad(fake.db, { config, log: silentLogger, pipeline, incremental: true });
  const copies = fake.statements.filter((s) => s.startsWith('COPY'));
  t.is(copies.length, 1, 'one COPY: staging_songs has nothing new');
  const manifestUri = /FROM '(s3:\/\/sparkify-manifests\/runs\/[^']+-staging_events\.manifest)' MANIFEST/.exec(copies[0] ?? '')?.[1];
  t.truthy(manifestUri, copies[0]);
  const key = manifestUri?.replace('s3://sparkify-manifests/', '') ?? '';
  const body = await (await s3.client.send(new GetObjectCommand({ Bucket: 'sparkify-manifests', Key: key }))).Body?.transformToString();
  const manifest = JSON.parse(body ?? '{}') as { entries: { url: string; mandatory: boolean }[] };
  t.deepEqual(manifest.entries.map((e) => e.url), ['s3://sparkify-src/log_data/2018-11-02-events.json', 's3://sparkify-src/log_data/2018-11-03-events.json']);
  t.true(manifest.entries.every((e) => e.mandatory));
  // The ledger records the loaded objects once every star table is filled, after the last transform.
  const ledgerInsert = fake.statements.findIndex((s) => s.startsWith('INSERT INTO load_ledger') && s.includes("'loaded', GETDATE()"));
  t.true(ledgerInsert > fake.statements.findIndex((s) => s.startsWith('INSERT INTO time')));

  // Nothing new at all: no COPY, no transform.
  const all = fakeRedshift({ ledger: [...listed, songObject].map((o) => ({ object_uri: o?.uri, object_size: String(o?.size), object_version: o?.version })) });
  const report = await runLoad(all.db, { config, log: silentLogger, pipeline, incremental: true });
  t.deepEqual(report.steps, []);
  t.false(all.statements.some((s) => s.startsWith('COPY') || s.startsWith('MERGE')));
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
  const uris = await db.query<{ object_uri: string; recorded: boolean }>("select object_uri, recorded_at > now() - interval '1 hour' as recorded from load_ledger where table_name = 'staging_events'");
  t.deepEqual(uris, [{ object_uri: path.join(f.env['LOG_DATA'] ?? '', odd), recorded: true }]);
  const again = await runCli(['load', '--incremental'], env);
  t.is(again.code, 0, again.stderr);
  t.regex(again.stderr, /Nothing new since the last load/);
});
