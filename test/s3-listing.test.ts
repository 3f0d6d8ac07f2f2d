// Listing many keys (issue 27): past SEQUENTIAL_PAGES pages a listing finds the key tree with
// Delimiter '/' and lists its prefixes in parallel, where the store answers delimited listings
// (the store stand-in on 127.0.0.1 does; s3rver does not below the bucket's top level, and is
// then listed page after page). Both give the keys of a plain listing, in its order.
import test from 'ava';
import { S3Client } from '@aws-sdk/client-s3';
import { ObjectList } from '../lib/sources/object-list.ts';
import { listS3Objects, SEQUENTIAL_PAGES } from '../lib/sources/s3-reads.ts';
import { createS3Requests } from '../lib/sources/s3-get.ts';
import { startS3StoreStandIn } from './support/s3-store-stand-in.ts';
import { startS3 } from './helpers/s3.ts';

const BUCKET = 'listing';

/** A tree of keys like today's song-data (letter/letter/…), and keys that sort in awkward places. */
function keys(): string[] {
  const out: string[] = [];
  for (const a of 'ABCDE')
    for (const b of 'ABCDEFGHIJ') for (let i = 0; i < 110; i += 1) out.push(`song-data/${a}/${b}/TR${a}${b}${i}.json`);
  out.push(
    'song-data/readme.json', // an object beside the prefixes
    'song-data/A', // an object named as a prefix without its slash
    'song-data/A-old/x.json', // '-' sorts before '/': between song-data/A and song-data/A/…
    'song-data/É/x.json', // beyond ASCII: last in UTF-8 binary order
    'song-data/B/with space.json',
    "song-data/B/a&b <c> 'd'.json", // XML entities in the listing
    'song-data-other/x.json', // not under song-data/
  );
  return out;
}

/** The keys under `prefix` in S3's order (UTF-8 binary). */
const expected = (all: readonly string[], prefix: string) =>
  all
    .filter((k) => k.startsWith(prefix))
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    .map((k) => `s3://${BUCKET}/${k}`);

const client = (endpoint: string) =>
  new S3Client({
    endpoint,
    region: 'us-west-2',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
/** The lean listing (lib/sources/s3-get.ts) of `s3`'s configuration. */
const lister = (s3: S3Client) => createS3Requests(s3, { maxSockets: 16 }).list;

test('a large listing goes parallel by common prefix where the store lists by delimiter: the plain listing’s keys, in its order', async (t) => {
  const all = keys();
  const store = await startS3StoreStandIn({ [BUCKET]: all.map((k) => [k, Buffer.from(`{"k":"${k}"}`)]) });
  t.teardown(() => store.close());
  const s3 = client(store.url);
  t.teardown(() => s3.destroy());
  const uri = `s3://${BUCKET}/song-data/`;

  const plain = [...(await listS3Objects(lister(s3), uri, BUCKET, 'song-data/', undefined, { concurrency: 1 }))];
  t.is(store.counts.delimitedList, 0, 'concurrency 1: the plain listing');
  t.is(store.counts.list, Math.ceil(plain.length / 1000));
  t.deepEqual(
    plain.map((o) => o.uri),
    expected(all, 'song-data/'),
  );

  store.counts.list = 0;
  const parallelList = await listS3Objects(lister(s3), uri, BUCKET, 'song-data/', undefined, { concurrency: 16 });
  // Held compactly, an object made per read (issue 27: a 385k-key listing no longer holds one object per key).
  t.true(parallelList instanceof ObjectList);
  const parallel = [...parallelList];
  t.true(store.counts.delimitedList > 1, `the tree found by delimiter (${store.counts.delimitedList} listings)`);
  // 7 prefixes below song-data/ are fewer than 16 listings at once: the 50 two levels down are listed, one page each.
  t.is(store.counts.list, SEQUENTIAL_PAGES + 50, 'the first pages, then each prefix two levels down on its own');
  t.deepEqual(parallel, plain, 'the same objects (sizes, ETags) in the same order');
  t.is(new Set(parallel.map((o) => o.uri)).size, parallel.length, 'no key twice');
});

test('a store whose delimited listings leave a prefix out is listed page after page: the plain listing’s keys', async (t) => {
  const all = keys();
  const store = await startS3StoreStandIn(
    { [BUCKET]: all.map((k) => [k, Buffer.from('{}')]) },
    { dropCommonPrefix: 'song-data/C/' },
  );
  t.teardown(() => store.close());
  const s3 = client(store.url);
  t.teardown(() => s3.destroy());
  const listed = [
    ...(await listS3Objects(lister(s3), `s3://${BUCKET}/song-data/`, BUCKET, 'song-data/', undefined, {
      concurrency: 16,
    })),
  ];
  t.true(store.counts.delimitedList > 0, 'the tree was asked for');
  t.deepEqual(
    listed.map((o) => o.uri),
    expected(all, 'song-data/'),
  );
});

test(`a listing of at most ${SEQUENTIAL_PAGES} pages stays a plain listing`, async (t) => {
  const all = keys().slice(0, 2500);
  const store = await startS3StoreStandIn({ [BUCKET]: all.map((k) => [k, Buffer.from('{}')]) });
  t.teardown(() => store.close());
  const s3 = client(store.url);
  t.teardown(() => s3.destroy());
  const listed = await listS3Objects(lister(s3), `s3://${BUCKET}/song-data/`, BUCKET, 'song-data/');
  t.is(listed.length, 2500);
  t.is(store.counts.delimitedList, 0);
  t.is(store.counts.list, 3);
});

test('s3rver, which answers delimited listings below the top level with nothing, is listed page after page: the same keys', async (t) => {
  // The tree only: s3rver's own paging loses keys that sort between its folders (song-data/A, A-old/).
  const all = keys().filter((k) => /^song-data\/[A-E]\/[A-J]\/TR/.test(k));
  const s3 = await startS3([BUCKET]);
  t.teardown(() => s3.close());
  await s3.seed(
    BUCKET,
    all.map((k) => [k, `{"k":"${k}"}`] as const),
  );
  const uri = `s3://${BUCKET}/song-data/`;
  const plain = [...(await listS3Objects(lister(s3.client), uri, BUCKET, 'song-data/', undefined, { concurrency: 1 }))];
  const listed = [
    ...(await listS3Objects(lister(s3.client), uri, BUCKET, 'song-data/', undefined, { concurrency: 16 })),
  ];
  t.deepEqual(listed, plain, 'the plain listing: the same objects in the same order');
  // s3rver's own order is its folder walk's, not UTF-8 binary: the keys are compared as a set.
  t.deepEqual(listed.map((o) => o.uri).sort(), expected(all, 'song-data/').sort());
});
