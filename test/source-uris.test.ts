// An s3:// JSONPaths file is the object of exactly that key (s3rver on
// 127.0.0.1), never another object whose key starts with it, though S3 lists
// by prefix.
import test from 'ava';
import { readJsonMapping } from '../lib/sources/json-mapping-file.ts';
import { createSourceReader } from '../lib/sources/source-objects.ts';
import { startS3 } from './helpers/s3.ts';

const COLUMNS = ['artist', 'ts'];

test('the JSONPaths URI names one object: a neighbour whose key extends it is not read, nor counted', async (t) => {
  const s3 = await startS3(['sparkify-meta']);
  const saved = { ...process.env };
  Object.assign(process.env, s3.env);
  t.teardown(async () => {
    for (const name of Object.keys(s3.env)) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
    await s3.close();
  });
  // Listed by prefix, `paths.json.bak` comes after `paths.json`, and `paths.json` after `paths.jso`'s neighbours.
  await s3.put('sparkify-meta', 'meta/paths.json', JSON.stringify({ jsonpaths: ['$.artist', '$.ts'] }));
  await s3.put('sparkify-meta', 'meta/paths.json.bak', JSON.stringify({ jsonpaths: ['$.ts', '$.artist'] }));
  await s3.put('sparkify-meta', 'meta/paths.json2', 'not JSON');
  const reader = createSourceReader('us-west-2');
  t.deepEqual(await readJsonMapping(reader, 's3://sparkify-meta/meta/paths.json', COLUMNS, 'LOG_JSONPATH'), {
    kind: 'paths',
    paths: [['artist'], ['ts']],
    source: 's3://sparkify-meta/meta/paths.json',
  });
  // The prefix alone names no object.
  await t.throwsAsync(readJsonMapping(reader, 's3://sparkify-meta/meta/paths', COLUMNS, 'LOG_JSONPATH'), {
    message: /LOG_JSONPATH: JSONPaths file s3:\/\/sparkify-meta\/meta\/paths: expected exactly one file, found 0/,
  });
});
