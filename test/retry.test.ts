// Which failures a load step runs again, and how long it waits: the transient
// SQLSTATEs (serialization, deadlock, connection failures), Redshift's error
// 1023, and backoff that doubles from attempt to attempt (a fake clock: no
// test waits for real).
import FakeTimers from '@sinonjs/fake-timers';
import test from 'ava';
import { dialectByName } from '../lib/dialect/index.ts';
import { SqlError } from '../lib/errors.ts';
import { createLogger } from '../lib/log.ts';
import { isTransient, withRetry } from '../lib/db/retry.ts';

const redshift = (err: { code?: unknown; message?: unknown }) => dialectByName('redshift').isTransient(err);
const postgres = (err: { code?: unknown; message?: unknown }) => dialectByName('postgres').isTransient(err);

test('serialization failure, deadlock and connection failures are transient; other errors are not', (t) => {
  for (const code of ['40001', '40P01', '08000', '08001', '08003', '08004', '08006', '57P03', '53300', '55P03']) {
    t.true(isTransient(Object.assign(new Error('x'), { code })), code);
    t.true(
      isTransient(
        new SqlError({ step: 'transform users', statement: 'SELECT 1' }, Object.assign(new Error('x'), { code })),
      ),
      `${code} inside a SqlError`,
    );
  }
  for (const code of ['23505', '42P01', '22003', '42601', '0A000'])
    t.false(isTransient(Object.assign(new Error('x'), { code })), code);
  t.true(isTransient(new Error('Connection terminated unexpectedly')));
  t.true(isTransient(new Error('read ECONNRESET')));
  t.false(isTransient(new Error('relation "nope" does not exist')));
});

test("Redshift's serializable isolation violation (error 1023) is transient there, whichever part of it the transport gives", (t) => {
  // The wire protocol gives "1023" as the message and the words as the detail; the Data API one text.
  t.true(
    isTransient(
      Object.assign(new Error('1023'), { code: 'XX000', detail: 'Serializable isolation violation on table - 156' }),
      redshift,
    ),
  );
  t.true(isTransient(new Error('ERROR: Serializable isolation violation on a table in Redshift Serverless'), redshift));
  t.false(isTransient(new Error('ERROR: 1204 String length exceeds DDL length'), redshift));
  t.false(isTransient(new Error('1023'), postgres), 'not a PostgreSQL rule');
});

test('backoff doubles: 1 s, 2 s, 4 s before the 2nd, 3rd and 4th attempts, then the error', async (t) => {
  const clock = FakeTimers.install({ toFake: ['setTimeout', 'Date'] });
  const random = Math.random;
  Math.random = () => 0.5; // the jitter's middle: ×1
  t.teardown(() => {
    clock.uninstall();
    Math.random = random;
  });
  const lines: string[] = [];
  const log = createLogger({ write: (l) => lines.push(l) });
  let calls = 0;
  const started = Date.now();
  const waits: number[] = [];
  let last = started;
  const running = withRetry(
    'transform users',
    async () => {
      waits.push(Date.now() - last);
      last = Date.now();
      calls += 1;
      throw Object.assign(new Error('deadlock detected'), { code: '40P01' });
    },
    { attempts: 4, baseDelayMs: 1000, log },
  );
  const outcome = t.throwsAsync(running, { message: 'deadlock detected' });
  await clock.runAllAsync();
  await outcome;
  t.is(calls, 4);
  t.deepEqual(waits, [0, 1000, 2000, 4000]);
  t.deepEqual(
    lines.map((l) => /retrying in (\S+) \(attempt (\d) of 4\)/.exec(l)?.slice(1)),
    [
      ['1.0s', '2'],
      ['2.0s', '3'],
      ['4.0s', '4'],
    ],
  );
});
