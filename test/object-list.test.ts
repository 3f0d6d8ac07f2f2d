// The compact listing (lib/sources/object-list.ts, issue 26): a listing keeps
// its objects as bytes and numbers and makes a SourceObject only when one is
// read, so a run over 1M objects does not hold 1M JS objects.
import { createHash } from 'node:crypto';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { ObjectList, Positions, SelectedObjects, selectObjects } from '../lib/sources/object-list.ts';
import type { SourceObject } from '../lib/sources/source-object.ts';
import { createSourceReader } from '../lib/sources/source-objects.ts';
import { objectsDigest } from '../lib/lineage/events.ts';
import { tempDir } from './helpers/temp-dir.ts';
import { startS3 } from './helpers/s3.ts';

const s3Objects: SourceObject[] = [
  {
    uri: 's3://bucket/song_data/A/A/A/TRAAA.json',
    size: 250,
    version: 'd41d8cd98f00b204e9800998ecf8427e',
    modified: '2026-12-07T10:00:00.000Z',
  },
  { uri: 's3://bucket/song_data/Ä/ß/😀 odd key\twith tab.json', size: 0, version: 'abc-2', modified: undefined },
  {
    uri: 's3://bucket/log_data/2018/11/2018-11-01-events.json',
    size: 2 ** 40 + 1,
    version: '',
    modified: '2018-11-30T00:00:00Z',
  },
];

test('an ObjectList gives back every object as pushed, in order (keys with any characters, sizes past 2^32, no modified)', (t) => {
  const list = ObjectList.of(s3Objects, 's3://bucket/');
  t.is(list.length, 3);
  t.deepEqual([...list], s3Objects);
  t.deepEqual(list.at(1), s3Objects[1]);
  t.deepEqual(list.at(-1), s3Objects[2], 'negative positions count from the end, as an array’s at');
  t.is(list.at(3), undefined);
  t.is(list.at(-4), undefined);
  // The URI alone (the lineage digest's sort), as `at` gives it, outside the list included.
  for (const i of [0, 1, 2, -1, 3, -4, 1.5]) t.is(list.uriAt(i), list.at(i)?.uri, `uriAt(${i})`);
  const some = new Positions();
  some.push(2);
  some.push(1);
  const selected = new SelectedObjects(list, some.take());
  for (const i of [0, 1, -1, 2]) t.is(selected.uriAt(i), selected.at(i)?.uri, `selected uriAt(${i})`);
  t.is(new SelectedObjects(s3Objects, some.take()).uriAt(0), s3Objects[2]?.uri, 'over an array: at(i).uri');
});

test('a list of files grows past its first capacity, keeps each mtime as a number, and refuses a path outside its prefix', (t) => {
  const list = new ObjectList('/data/', 'files');
  const n = 5000;
  const start = Date.UTC(2026, 0, 1);
  for (let i = 0; i < n; i += 1)
    list.pushFile(`/data/song_data/${i % 7}/TR${'x'.repeat(i % 50)}${i}.json`, i, start + i * 1001);
  t.is(list.length, n);
  const last = list.at(n - 1) as SourceObject;
  t.is(last.uri, `/data/song_data/${(n - 1) % 7}/TR${'x'.repeat((n - 1) % 50)}${n - 1}.json`);
  t.is(last.size, n - 1);
  t.is(last.version, new Date(start + (n - 1) * 1001).toISOString(), 'a file’s version is its mtime, in ISO 8601');
  t.is(last.modified, last.version);
  t.throws(() => list.pushFile('/elsewhere/x.json', 1, start), { message: /not under the listing's prefix/ });
  t.throws(() => list.push({ uri: '/data/y.json', size: 1, version: 'v' }), { message: /pushFile/ });
});

test('a local listing is held compactly: an ObjectList whose objects are made when read, not kept', async (t) => {
  const dir = await tempDir(t, 'object-list-');
  await mkdir(path.join(dir, 'A', 'B'), { recursive: true });
  const files = ['A/B/one.json', 'A/two.json', 'three.json'];
  for (const f of files) {
    await writeFile(path.join(dir, f), `{"f":"${f}"}\n`);
    await utimes(path.join(dir, f), new Date('2026-01-02T03:04:05.678Z'), new Date('2026-01-02T03:04:05.678Z'));
  }
  const listed = await createSourceReader('us-west-2').list(dir);
  // Issue 26: a listing of one JS object per listed object took ~215 MB of heap for 1M files.
  t.true(listed instanceof ObjectList, 'the listing is an ObjectList, not an array of SourceObjects');
  t.false(Array.isArray(listed));
  t.not(listed.at(0), listed.at(0), 'each read makes its object: none is held by the listing');
  t.deepEqual(
    [...listed].map((o) => [path.relative(dir, o.uri), o.size, o.version, o.modified]),
    files.map((f) => [f, `{"f":"${f}"}\n`.length, '2026-01-02T03:04:05.678Z', '2026-01-02T03:04:05.678Z']),
  );
});

test('an s3:// listing is held compactly too, with each object’s ETag and LastModified', async (t) => {
  const s3 = await startS3(['sparkify-object-list']);
  t.teardown(() => s3.close());
  const saved = { ...process.env };
  Object.assign(process.env, s3.env);
  t.teardown(() => {
    process.env = saved;
  });
  const keys = ['song_data/A/one.json', 'song_data/B/två.json'];
  for (const key of keys) await s3.put('sparkify-object-list', key, `{"key":"${key}"}`);
  const listed = await createSourceReader('us-west-2').list('s3://sparkify-object-list/song_data/');
  t.true(listed instanceof ObjectList, 'the listing is an ObjectList, not an array of SourceObjects');
  t.deepEqual(
    [...listed].map((o) => [o.uri, o.size]),
    keys.map((k) => [`s3://sparkify-object-list/${k}`, Buffer.byteLength(`{"key":"${k}"}`)]),
  );
  for (const o of listed) {
    t.regex(o.version, /^[0-9a-f]{32}$/, 'the ETag, unquoted');
    t.false(Number.isNaN(Date.parse(o.modified ?? '')), 'LastModified');
  }
});

test('a selection holds positions: the listing itself when everything was selected, else a view in the listing’s order', (t) => {
  const list = ObjectList.of(s3Objects, 's3://bucket/');
  const all = new Positions();
  for (let i = 0; i < list.length; i += 1) all.push(i);
  t.is(selectObjects(list, all), list);
  const some = new Positions();
  some.push(0);
  some.push(2);
  const selected = selectObjects(list, some);
  t.true(selected instanceof SelectedObjects);
  t.is(selected.length, 2);
  t.deepEqual([...selected], [s3Objects[0], s3Objects[2]]);
  t.deepEqual(selected.at(-1), s3Objects[2]);
  t.is(selected.at(2), undefined);
  t.is(selectObjects(list, new Positions()).length, 0);
});

test('the lineage digest of a listing is the same in any order (sorted by URI, hashed one object at a time)', (t) => {
  const sorted = [...s3Objects].sort((a, b) => (a.uri < b.uri ? -1 : 1));
  const digest = objectsDigest(sorted);
  t.is(objectsDigest(ObjectList.of(s3Objects, 's3://bucket/')), digest);
  t.is(objectsDigest([...s3Objects].reverse()), digest);
  t.not(objectsDigest(sorted.slice(1)), digest);
  // Out of URI order in a compact list of files and in a selection of it (sorted by uriAt): the same digest as sorted objects.
  const files = new ObjectList('/data/', 'files');
  for (const name of ['A/b.json', 'A-c.json', 'A/a.json', 'Ä.json']) files.pushFile(`/data/${name}`, name.length, 1e12);
  const filesSorted = [...files].sort((a, b) => (a.uri < b.uri ? -1 : 1));
  t.is(objectsDigest(files), objectsDigest(filesSorted));
  const all = new Positions();
  for (const i of [3, 0, 1, 2]) all.push(i);
  t.is(objectsDigest(new SelectedObjects(files, all.take())), objectsDigest(filesSorted));
  // What lineage consumers compare across runs and versions: SHA-256 over `uri TAB size TAB version` lines, by URI.
  const expected = createHash('sha256')
    .update(sorted.map((o) => `${o.uri}\t${o.size}\t${o.version}\n`).join(''))
    .digest('hex');
  t.is(digest, `sha256:${expected}`);
});
