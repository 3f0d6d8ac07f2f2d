// A gzip-compressed source object (.json.gz) is refused as a whole, naming it
// and saying it is gzip (exit 3), not reported as a bad record "found '\x1f'".
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import test from 'ava';
import { runCli } from './helpers/cli.ts';
import { event, JSONPATHS, song } from './helpers/fixtures.ts';
import { migratedDatabase } from './helpers/load.ts';
import { startS3 } from './helpers/s3.ts';
import { tempDir } from './helpers/temp-dir.ts';

const GZIP_MESSAGE = /gzip-compressed \(it starts with gzip's bytes 1f 8b\): staging reads uncompressed JSON/;

test('load: a .json.gz object on s3:// fails the load naming it as gzip (exit 3), nothing staged', async (t) => {
  const bucket = 'sparkify-gzip';
  const s3 = await startS3([bucket]);
  t.teardown(() => s3.close());
  await s3.put(bucket, 'log_data/a.json', JSON.stringify(event()));
  await s3.put(bucket, 'log_data/b.json.gz', gzipSync(JSON.stringify(event())));
  await s3.put(bucket, 'song_data/A/a.json', JSON.stringify(song()));
  await s3.put(bucket, 'meta/log_json_path.json', JSONPATHS);
  const db = await migratedDatabase();
  t.teardown(() => db.drop());
  const r = await runCli(['load', '--max-errors', '10'], {
    ...s3.env,
    DATABASE_URL: db.url,
    LOG_DATA: `s3://${bucket}/log_data/`,
    SONG_DATA: `s3://${bucket}/song_data/`,
    LOG_JSONPATH: `s3://${bucket}/meta/log_json_path.json`,
  });
  t.is(r.code, 3, r.stderr);
  t.regex(r.stderr, /s3:\/\/sparkify-gzip\/log_data\/b\.json\.gz: gzip-compressed/);
  t.notRegex(r.stderr, /found '\\x1f'/);
  t.is((await db.query<{ n: number }>('select count(*)::int as n from staging_events'))[0]?.n, 0);
});

test('sources: a local .json.gz file is reported as gzip, naming it', async (t) => {
  const dir = await tempDir(t, 'gzip-');
  await mkdir(path.join(dir, 'log_data'));
  await mkdir(path.join(dir, 'song_data'));
  await writeFile(path.join(dir, 'log_data', 'events.json.gz'), gzipSync(JSON.stringify(event())));
  await writeFile(path.join(dir, 'song_data', 'a.json'), JSON.stringify(song()));
  const r = await runCli(['sources'], {
    LOG_DATA: path.join(dir, 'log_data'),
    SONG_DATA: path.join(dir, 'song_data'),
    LOG_JSONPATH: 'auto ignorecase',
  });
  t.not(r.code, 0);
  t.regex(r.stdout + r.stderr, /log_data\/events\.json\.gz: gzip-compressed/);
  t.regex(r.stdout + r.stderr, GZIP_MESSAGE);
});
