// The rules that keep a stopped or lock-less load from writing, each on the
// real module: the lock's keep-alive every 5 s (a fake clock), the guard
// refusing the next step once a signal has arrived, a second signal exiting at
// once, and the watch on the parent process (a real parent that ends).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import FakeTimers from '@sinonjs/fake-timers';
import test from 'ava';
import type { Connection } from '../lib/db/connection.ts';
import type { Database } from '../lib/db/database.ts';
import { LOCK_STATEMENTS, withWarehouseLock, type HeldLock } from '../lib/db/lock.ts';
import { dialectByName } from '../lib/dialect/index.ts';
import { InterruptedError, TransportError, WarehouseError } from '../lib/errors.ts';
import { interruptOnSignals, type InterruptReason } from '../lib/interrupt.ts';
import { LoadGuard } from '../lib/load/guard.ts';
import { createLogger, silentLogger } from '../lib/log.ts';
import { PROJECT_DIR } from './helpers/cli.ts';

/** A database whose one connection records the statements it is sent. */
function recordingDatabase(): { db: Database; statements: string[] } {
  const statements: string[] = [];
  const conn: Connection = {
    query: async (sql) => {
      statements.push(sql);
      return { rows: [] };
    },
    script: async () => [],
    copyFromStdin: undefined,
    backendPid: 4242,
    onLost: () => undefined,
    explain: (err) => err,
    end: async () => undefined,
  };
  return {
    db: {
      dialect: dialectByName('postgres'),
      description: 'a recording database',
      schema: 'public',
      connect: async () => conn,
      close: async () => undefined,
    },
    statements,
  };
}

test.serial("the lock's keep-alive runs on its session every 5 s while the work runs, and stops with it", async (t) => {
  const clock = FakeTimers.install({ toFake: ['setInterval', 'clearInterval', 'Date'] });
  t.teardown(() => clock.uninstall());
  const { db, statements } = recordingDatabase();
  const checks = () => statements.filter((s) => s === LOCK_STATEMENTS.check).length;
  await withWarehouseLock(db, 'a test', silentLogger, async () => {
    await clock.tickAsync(4_999);
    t.is(checks(), 0);
    await clock.tickAsync(1);
    t.is(checks(), 1, 'one at 5 s');
    await clock.tickAsync(10_000);
    t.is(checks(), 3, 'at 5, 10 and 15 s');
  });
  t.is(statements.at(-1), LOCK_STATEMENTS.release);
  await clock.tickAsync(60_000);
  t.is(checks(), 3, 'none once the lock is released');
});

const heldLock: HeldLock = {
  assertHeld: () => undefined,
  verify: async () => undefined,
  lostBecause: undefined,
  onLost: () => undefined,
};

test('once a signal has arrived the guard refuses the next step and the next COMMIT, with the lock still held', async (t) => {
  const { db } = recordingDatabase();
  const controller = new AbortController();
  const guard = new LoadGuard(db, heldLock, silentLogger, ['stage', 'transform users'], controller.signal);
  t.is(await guard.step('stage', async () => 'staged'), 'staged');
  const reason: InterruptReason = { signal: 'SIGTERM', exitCode: 143, why: 'Interrupted by SIGTERM' };
  controller.abort(reason);
  let ran = false;
  const refused = await t.throwsAsync(
    guard.step('transform users', async () => {
      ran = true;
    }),
    { instanceOf: InterruptedError },
  );
  t.false(ran, 'the step does not start');
  t.is(refused?.exitCode, 143);
  await t.throwsAsync(guard.beforeCommit(), { instanceOf: InterruptedError });
  t.throws(() => guard.check(), { instanceOf: InterruptedError });
  t.regex(
    String((guard.explain(new Error('x')) as Error).message),
    /^Interrupted by SIGTERM: stopped the load; committed: stage; interrupted and rolled back: none; not started: transform users/,
  );
});

// Issue 26, item 13: a step that failed on its own before the lock was known lost ran all the same.
test('a step that failed before the lock was lost is named as rolled back, not "not started"; a lost warehouse is a transport failure (exit 1)', async (t) => {
  const { db } = recordingDatabase();
  let lost: Error | undefined;
  const lock: HeldLock = {
    ...heldLock,
    get lostBecause() {
      return lost;
    },
  };
  const guard = new LoadGuard(db, lock, silentLogger, ['stage', 'transform users'], undefined);
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
  const failed = await t.throwsAsync(guard.step('stage', () => Promise.reject(refused)));
  lost = Object.assign(new Error('UnknownError'), { name: 'UnknownError', $metadata: { httpStatusCode: 502 } });
  const explained = guard.explain(failed) as WarehouseError;
  t.true(explained instanceof TransportError, explained.message);
  t.is(explained.exitCode, 1);
  t.regex(
    explained.message,
    /^The warehouse stopped answering \(a recording database: an answer that is not a Data API response \(HTTP 502, UnknownError\)\).*committed: none; interrupted and rolled back: stage; not started: transform users/,
  );
  // A lock session ended by someone else (not the network) stays exit 5.
  lost = Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
  const locked = guard.explain(new Error('the step failed')) as WarehouseError;
  t.is(locked.exitCode, 5, locked.message);
  t.regex(locked.message, /interrupted and rolled back: stage; not started: transform users/);
});

test.serial('the first SIGINT aborts the run; a second one exits at once with 130', (t) => {
  const exit = process.exit;
  const exits: (number | string | null | undefined)[] = [];
  process.exit = ((code?: number | string | null) => {
    exits.push(code);
    return undefined as never;
  }) as typeof process.exit;
  const lines: string[] = [];
  const interrupts = interruptOnSignals(createLogger({ write: (l) => lines.push(l) }), 'load');
  t.teardown(() => {
    interrupts.dispose();
    process.exit = exit;
  });
  process.emit('SIGINT', 'SIGINT');
  t.true(interrupts.signal.aborted);
  t.like(interrupts.signal.reason, { signal: 'SIGINT', exitCode: 130 });
  t.deepEqual(exits, [], 'the first one does not exit');
  process.emit('SIGINT', 'SIGINT');
  t.deepEqual(exits, [130]);
  t.true(
    lines.some((l) => /SIGINT again: exiting now/.test(l)),
    lines.join('\n'),
  );
});

/** Whether the process runs (an exited one not reaped yet, a zombie, does not). */
const alive = (pid: number) => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

test('a process that watches its parent stops (SIGTERM) soon after the parent ends', async (t) => {
  const interrupt = pathToFileURL(path.join(PROJECT_DIR, 'lib', 'interrupt.ts')).href;
  const log = pathToFileURL(path.join(PROJECT_DIR, 'lib', 'log.ts')).href;
  // The watcher: starts the watch, says its pid, then would run for ever.
  const watcher = `import { stopWithParent } from '${interrupt}'; import { silentLogger } from '${log}'; stopWithParent(silentLogger); process.stdout.write(process.pid + '\\n'); setInterval(() => undefined, 60000);`;
  // Its parent: starts it, passes its pid on, and ends.
  const parent = `const { spawn } = require('node:child_process');
const c = spawn(process.execPath, ['--import=tsx', '--input-type=module', '-e', ${JSON.stringify(watcher)}], { stdio: ['ignore', 'pipe', 'inherit'] });
c.stdout.once('data', (d) => { process.stdout.write(d); process.exit(0); });`;
  const child = spawn(process.execPath, ['-e', parent], { cwd: PROJECT_DIR, stdio: ['ignore', 'pipe', 'inherit'] });
  const pid = await new Promise<number>((resolve, reject) => {
    child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    child.once('exit', (code) =>
      setTimeout(() => reject(new Error(`the parent ended (${code}) before the watcher started`)), 1000),
    );
  });
  t.teardown(() => {
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  });
  t.true(pid > 0);
  // The watch looks every 200 ms: 10 s is ample on a busy machine, and a watcher that never stops fails here, not by hanging.
  for (let i = 0; i < 100 && alive(pid); i += 1) await new Promise((resolve) => setTimeout(resolve, 100));
  t.false(alive(pid), 'the watcher is still running 10 s after its parent ended');
});
