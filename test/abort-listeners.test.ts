// Issue 26 (a compacted load under CPU load): 64 S3 reads in flight each put an 'abort' listener on the
// run's AbortSignal, twice (the SDK's HTTP handler, and the body being read), and Node warned
// "MaxListenersExceededWarning: … 11 abort listeners added to [AbortSignal]". Now the run's signal has one
// listener per reader for the requests and one for the bodies (lib/sources/abort-fanout.ts), and a signal
// still ends every read in flight at once.
import { getEventListeners } from 'node:events';
import test from 'ava';
import { createSourceReader } from '../lib/sources/source-objects.ts';
import { readInOrder } from '../lib/stage/redshift/compaction.ts';
import { startS3Proxy } from './support/s3-proxy.ts';
import { song } from './helpers/fixtures.ts';
import { startS3 } from './helpers/s3.ts';

const BUCKET = 'sparkify-abort-listeners';
const OBJECTS = 64;

test('64 GETs in flight add at most two abort listeners to the run signal; aborting it ends them all', async (t) => {
  const s3 = await startS3([BUCKET]);
  t.teardown(() => s3.close());
  await s3.seed(
    BUCKET,
    Array.from(
      { length: OBJECTS },
      (_, i) => [`song_data/TR${String(i).padStart(4, '0')}.json`, JSON.stringify(song())] as const,
    ),
  );
  const proxy = await startS3Proxy(s3.endpoint, { faults: { get: () => 'stall' } });
  t.teardown(() => proxy.close());
  Object.assign(process.env, s3.env, { AWS_ENDPOINT_URL_S3: proxy.url });
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
  process.on('warning', onWarning);
  t.teardown(() => void process.off('warning', onWarning));

  const controller = new AbortController();
  const reader = createSourceReader('us-west-2', { signal: controller.signal, s3Concurrency: OBJECTS });
  const objects = await reader.list(`s3://${BUCKET}/song_data/`);
  t.is(objects.length, OBJECTS);
  const squeezed = readInOrder(reader, objects, OBJECTS);
  const first = squeezed.next();
  first.catch(() => undefined);
  for (let waited = 0; proxy.counts.get < OBJECTS; waited += 1) {
    if (waited > 600) t.fail(`only ${proxy.counts.get} GETs reached the store`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const listeners = getEventListeners(controller.signal, 'abort').length;
  t.true(listeners <= 2, `${listeners} abort listeners on the run's signal with ${OBJECTS} GETs in flight`);
  controller.abort(new Error('stop'));
  await t.throwsAsync(first);
  await squeezed.return(undefined);
  await new Promise((resolve) => setImmediate(resolve));
  t.deepEqual(
    warnings.filter((w) => w.startsWith('MaxListenersExceededWarning')),
    [],
  );
});
