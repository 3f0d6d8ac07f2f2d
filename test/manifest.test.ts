// The Redshift COPY manifest (lib/stage/redshift/manifest.ts): written entry
// by entry into one buffer, it is byte for byte the JSON it stood for before
// (JSON.stringify of the entries, indented by one), whatever the keys hold.
import test from 'ava';
import { ObjectList } from '../lib/sources/object-list.ts';
import type { SourceObject } from '../lib/sources/source-object.ts';
import { manifestBody } from '../lib/stage/redshift/manifest.ts';

const object = (uri: string): SourceObject => ({ uri, size: 1, version: '"e"', modified: '2026-12-07T00:00:00.000Z' });
const expected = (uris: readonly string[]) =>
  `${JSON.stringify({ entries: uris.map((url) => ({ url, mandatory: true })) }, null, 1)}\n`;

test('the manifest is the JSON of its entries, byte for byte: none, one, several, with quotes, backslashes, controls and non-ASCII', (t) => {
  const cases: string[][] = [
    [],
    ['s3://b/song_data/A/A/A/TRAAAAK128F9318786.json'],
    [
      's3://b/log_data/2018/11/2018-11-01-events.json',
      's3://b/odd/"quoted" name.json',
      's3://b/odd/back\\slash\tand\ttabs.json',
      's3://b/odd/café – Motörhead 🎸.json',
      's3://b/odd/line\nbreak\u0001.json',
    ],
  ];
  for (const uris of cases) {
    const body = manifestBody(uris.map(object));
    t.is(body.toString('utf8'), expected(uris), `${uris.length} entries`);
    t.deepEqual(
      (JSON.parse(body.toString('utf8')) as { entries: unknown[] }).entries,
      uris.map((url) => ({ url, mandatory: true })),
    );
  }
});

test('a compact listing (ObjectList) gives the same manifest as the objects it holds', (t) => {
  const uris = Array.from({ length: 2000 }, (_, i) => `s3://udacity-dend/song-data/A/${i % 7}/é${i}.json`);
  const list = new ObjectList('s3://udacity-dend/', 'objects');
  for (const uri of uris) list.push(object(uri));
  t.is(manifestBody(list).toString('utf8'), expected(uris));
});
