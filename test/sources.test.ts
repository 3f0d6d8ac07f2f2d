// npm run sources: object counts, bytes, first/last keys, the JSONPaths file and
// a sample of files, from the local folder and through s3:// (s3rver).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { EXIT } from '../lib/errors.ts';
import { runCli, sharedSparkify } from './helpers/cli.ts';
import { event, writeFixture } from './helpers/fixtures.ts';
import { startS3 } from './helpers/s3.ts';

const data = sharedSparkify();
const run = data ? test.serial : test.serial.skip;
const title = (t: string) => (data ? t : `${t} (skipped: ../shared/sparkify not found)`);

run(title('sources reports 1943 song objects and 30 log objects from the folder'), async (t) => {
  const r = await runCli(['sources'], {
    SONG_DATA: path.join(data ?? '', 'song_data'),
    LOG_DATA: path.join(data ?? '', 'log_data'),
    LOG_JSONPATH: path.join(data ?? '', 'log_json_path.json'),
  });
  t.is(r.code, 0, r.stderr);
  t.regex(
    r.stdout,
    /SONG_DATA \|\s+1943 \|\s+0\.5 \| \S+TRAAAAK128F9318786\.json \| \S+TRADHVG12903CD3BDE\.json \| 5 files, 5 records/,
  );
  t.regex(r.stdout, /LOG_DATA\s+\|\s+30 \|\s+3\.6 \| \S+2018-11-01-events\.json \| \S+2018-11-30-events\.json/);
  t.regex(r.stdout, /JSONPaths: .*18 paths, in the order of staging_events' 18 columns/);
});

run(title('sources reports the same through s3:// against s3rver'), async (t) => {
  const s3 = await startS3(['udacity-dend']);
  t.teardown(() => s3.close());
  await s3.upload('udacity-dend', 'song_data/', path.join(data ?? '', 'song_data'));
  await s3.upload('udacity-dend', 'log_data/', path.join(data ?? '', 'log_data'));
  await s3.put('udacity-dend', 'log_json_path.json', await readFile(path.join(data ?? '', 'log_json_path.json')));
  const r = await runCli(['sources'], s3.env);
  t.is(r.code, 0, r.stderr);
  t.regex(
    r.stdout,
    /SONG_DATA \|\s+1943 \|\s+0\.5 \| s3:\/\/udacity-dend\/song_data\/A\/A\/A\/TRAAAAK128F9318786\.json/,
  );
  t.regex(r.stdout, /LOG_DATA\s+\|\s+30 \|/);
  const empty = await runCli(['sources'], { ...s3.env, SONG_DATA: 's3://udacity-dend/nothing-here/' });
  t.is(empty.code, EXIT.input);
  t.regex(empty.stderr, /SONG_DATA: no objects under s3:\/\/udacity-dend\/nothing-here\//);
});

test('sources fails clearly on an unreadable prefix, a broken sample file and a wrong JSONPaths file', async (t) => {
  const f = await writeFixture(t, {
    logs: { 'a.json': [event()], 'b.json': '{"broken": ' },
    jsonpaths: '{"paths": []}',
  });
  const r = await runCli(['sources'], { ...f.env, SONG_DATA: '/nonexistent/song_data' });
  t.is(r.code, EXIT.input);
  t.regex(r.stderr, /SONG_DATA: \/nonexistent\/song_data: no such file or folder/);
  t.regex(r.stderr, /LOG_DATA: \S+b\.json:1: truncated JSON/);
  t.regex(r.stderr, /LOG_JSONPATH: .*"jsonpaths" array/);
});
