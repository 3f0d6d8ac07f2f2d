/**
 * Temporary folders that are removed by whoever owns them, whatever the test's
 * outcome: a test's `t` (removed by t.teardown when the test ends, passed or
 * failed), or a file scope (removed by test.after.always once the file's tests
 * have ended) for what a `test.before` hook makes and every test reads.
 * `npm test` fails when a run leaves anything in the temp directory
 * (test/support/temp-leftovers.ts), so every helper that creates a folder takes an
 * owner.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';

/** What removes a folder at the end of its life: an AVA ExecutionContext, or fileScope(). */
export interface Owner {
  teardown(fn: () => Promise<void> | void): void;
}

/** A new folder `$TMPDIR/<prefix>XXXXXX`, removed by `owner`. */
export async function tempDir(owner: Owner, prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  owner.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * An owner for a whole test file. Call it at the top level of the file (AVA
 * takes hooks only while the file is being declared). A `test.before` hook's
 * own t.teardown runs when the hook ends, too early for data the tests read.
 */
export function fileScope(): Owner {
  const cleanups: (() => Promise<void> | void)[] = [];
  test.after.always(async () => {
    for (const fn of cleanups.reverse()) await fn();
  });
  return { teardown: (fn) => void cleanups.push(fn) };
}
