// Schema drift names the first object in listing order that shows a finding,
// without a lookup of every listed object (issue 26: memory bounded by the
// batch, not the object count): the converter tells the counter each
// object's place in the listing as it opens it. Objects are read several at
// once, so a later object's records can come first; the finding still names
// the earlier object.
import { Writable } from 'node:stream';
import test from 'ava';
import { DriftCounter } from '../lib/sources/drift.ts';
import type { SourceObject, SourceReader } from '../lib/sources/source-objects.ts';
import { copyIntoTable } from '../lib/stage/postgres/copy-from-stdin.ts';

const objects: SourceObject[] = ['/data/a.json', '/data/b.json', '/data/c.json'].map((uri) => ({
  uri,
  size: 10,
  version: 'v1',
}));

/** A reader whose first object answers last: b's and c's records reach the counter before a's. */
const slowFirst: SourceReader = {
  list: async () => objects,
  async open(object) {
    if (object.uri.endsWith('a.json')) await new Promise((r) => setTimeout(r, 200));
    // Every object lacks "artist" and has an unmapped "extra" key, on its own line.
    return [Buffer.from(`{"song_id": "S1", "extra": 1}\n`)];
  },
};

const discard = () =>
  new Writable({
    write(_chunk, _enc, done) {
      done();
    },
  });

test("a finding names the first object in listing order, though a later object's records came first", async (t) => {
  const counter = new DriftCounter(
    'staging_songs',
    '/data',
    { kind: 'auto', ignoreCase: false },
    ['song_id', 'artist'],
    ['song_id', 'artist'],
    0,
  );
  await copyIntoTable(
    discard,
    {
      table: 'staging_songs',
      columns: [
        { name: 'song_id', type: 'varchar', bytes: 256 },
        { name: 'artist', type: 'varchar', bytes: 256 },
      ],
      source: '/data',
      mapping: { kind: 'auto', ignoreCase: false },
      observer: counter,
    },
    { reader: slowFirst, maxErrors: 0, objects },
  );
  const report = counter.report(objects.length);
  t.is(report.objectsRead, 3);
  t.deepEqual(
    report.missingKeys.map((k) => [k.key, k.first]),
    [['artist', { file: '/data/a.json', line: 1 }]],
  );
  t.deepEqual(
    report.newKeys.map((k) => [k.key, k.first]),
    [['extra', { file: '/data/a.json', line: 1 }]],
  );
});
