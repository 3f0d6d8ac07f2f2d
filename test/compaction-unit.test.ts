// Compaction's parts without a server (issue 27, item 4): records put on one
// line byte for byte (strings with escaped quotes and backslashes, numbers as
// written), each line's original line kept; the chunk count a multiple of the
// slices with each chunk at most 1 GB; objects dealt to chunks in order by size;
// the chunk index naming the original object and line; the threshold.
import test from 'ava';
import { ChunkIndex } from '../lib/stage/redshift/chunk-index.ts';
import {
  CHUNK_MAX_BYTES,
  chunkCount,
  chunkStarts,
  COMPACT_MIN_OBJECTS,
  shouldCompact,
} from '../lib/stage/redshift/compaction.ts';
import { RecordSqueezer, squeezeRecords } from '../lib/stage/redshift/squeeze.ts';

const squeeze = (text: string) => {
  const s = squeezeRecords(Buffer.from(text));
  return { text: s.bytes.toString('utf8'), lines: [...s.lines] };
};

test('a pretty-printed object becomes one line; strings and numbers keep every byte', (t) => {
  const pretty = `{\n  "artist_name": "Line \\"A\\" \\\\",\n  "duration": 1.50,\n  "year": 1E+2,\n  "title": "  spaced  { [ \\u00e9 ",\n  "nested": [ 1 , { "a" : null } ]\n}\n`;
  const out = squeeze(pretty);
  t.is(
    out.text,
    '{"artist_name":"Line \\"A\\" \\\\","duration":1.50,"year":1E+2,"title":"  spaced  { [ \\u00e9 ","nested":[1,{"a":null}]}\n',
  );
  t.deepEqual(out.lines, [7], 'the original line the record ends on');
  t.deepEqual(JSON.parse(out.text), JSON.parse(pretty), 'the same values');
});

test('a string ending in an escaped backslash ends where its quote is', (t) => {
  const out = squeeze('{"path": "c:\\\\" , "next" : "x y"}');
  t.is(out.text, '{"path":"c:\\\\","next":"x y"}\n');
});

test('JSON Lines stay one record a line, with their lines; several records on one line are split', (t) => {
  const out = squeeze('{"a": 1}\n\n{"a": 2} {"a":3}\r\n[1, 2]\n');
  t.is(out.text, '{"a":1}\n{"a":2}\n{"a":3}\n[1,2]\n');
  t.deepEqual(out.lines, [1, 3, 3, 4]);
});

test('characters outside a record stay, as a line of their own, and an open record is ended at the end of its object', (t) => {
  const out = squeeze('{"a": 1}\noops here\n{"b": 2\n');
  t.is(out.text, '{"a":1}\noops here\n{"b":2\n');
  t.deepEqual(out.lines, [1, 2, 3]);
});

test('fed in pieces, as a stream gives them, the result is the same', (t) => {
  const text = '{\n "a" : "x\\"y" ,\n "b": [1, 2]\n}\n{"c": 3}\n';
  const s = new RecordSqueezer(4);
  for (const byte of Buffer.from(text)) s.feed(Uint8Array.of(byte));
  const whole = squeezeRecords(Buffer.from(text));
  const pieces = s.end();
  t.is(pieces.bytes.toString(), whole.bytes.toString());
  t.deepEqual(pieces.lines, whole.lines);
});

test('the chunk count is the smallest multiple of the slices that keeps each chunk at most 1 GB', (t) => {
  t.is(chunkCount(96 * 1024 * 1024, 385_252, 8), 8, 'the full song set on 8 slices: 8 chunks (≤ 16)');
  t.is(chunkCount(5 * 1024 * 1024, 20_000, 4), 4);
  t.is(chunkCount(9 * CHUNK_MAX_BYTES, 1_000_000, 8), 16, 'over 8 GB: two chunks a slice');
  t.is(chunkCount(16 * CHUNK_MAX_BYTES + 1, 1_000_000, 8), 24);
  t.is(chunkCount(1000, 3, 8), 3, 'never more chunks than objects');
});

test('objects are dealt to the chunks in order, by size, every chunk getting one', (t) => {
  const same = Array.from({ length: 100 }, () => ({ size: 10 }));
  t.deepEqual(chunkStarts(same, 4), [0, 25, 50, 75]);
  const skewed = [{ size: 1000 }, { size: 1 }, { size: 1 }, { size: 1 }];
  t.deepEqual(chunkStarts(skewed, 4), [0, 1, 2, 3], 'a large first object does not leave chunks empty');
  const sizes = Array.from({ length: 1000 }, (_, i) => ({ size: 100 + (i % 7) * 50 }));
  const starts = chunkStarts(sizes, 8);
  t.is(starts.length, 8);
  const bytes = starts.map((s, i) => sizes.slice(s, starts[i + 1] ?? sizes.length).reduce((n, o) => n + o.size, 0));
  const total = bytes.reduce((a, b) => a + b, 0);
  for (const b of bytes) t.true(Math.abs(b - total / 8) < total / 8 / 10, `roughly equal: ${b} of ${total}`);
});

test('the chunk index names the original object and line; an unknown line is kept as Redshift said it', (t) => {
  const uris = ['s3://src/song-data/A/A/A/TRA.json', 's3://src/song-data/A/A/B/TRB.json'];
  const index = new ChunkIndex((i) => uris[i]);
  const chunk = 's3://stage/run/staging_songs/chunk-1-of-8.jsonl.gz';
  index.add(chunk, 0, 9);
  index.add(chunk, 1, 1);
  t.deepEqual(index.translate({ file: chunk, line: 2, field: 'year', reason: 'Invalid digit' }), {
    file: 's3://src/song-data/A/A/B/TRB.json',
    line: 1,
    field: 'year',
    reason: 'Invalid digit',
  });
  t.is(index.lookup(chunk, 1)?.line, 9);
  t.deepEqual(index.translate({ file: chunk, line: 3, reason: 'x' }), { file: chunk, line: 3, reason: 'x' });
});

test('compaction is chosen for many small objects, not for the few log files; the flags decide instead', (t) => {
  const songs = Array.from({ length: COMPACT_MIN_OBJECTS }, () => ({ size: 250 }));
  const logs = Array.from({ length: 30 }, () => ({ size: 300_000 }));
  t.true(shouldCompact(songs, undefined).compact);
  t.false(shouldCompact(songs.slice(1), undefined).compact);
  t.false(shouldCompact(logs, undefined).compact);
  t.false(
    shouldCompact(
      Array.from({ length: 2000 }, () => ({ size: 2 * 1024 * 1024 })),
      undefined,
    ).compact,
  );
  t.true(shouldCompact(logs, true).compact);
  t.false(shouldCompact(songs, false).compact);
});
