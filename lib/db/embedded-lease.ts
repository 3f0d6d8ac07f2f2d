/**
 * Who uses the embedded PostgreSQL, so that no command stops it under another
 * (two `npm start` at once): every command that opens it takes a lease, a file
 * `<dir>/leases/<pid>` naming its process, and gives it back when it ends. The
 * server is stopped when the last lease is given back, and only when a command
 * started it (the file `<dir>/stop-when-unused`; `npm run db -- start` removes
 * it, keeping the server up until `db stop`). The lease book is read and
 * changed under a lock file (proper-lockfile; a lock whose holder died goes
 * stale). A lease whose process is gone (killed outright: SIGKILL, a crash)
 * counts for nothing: the next command that gives its lease back, or the
 * reaper below, stops the server then. The command that starts the server
 * also starts the reaper (lib/db/embedded-reaper.ts), a small detached process
 * that stops it once no live lease is left, so that a crashed holder never
 * leaves it running for good.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import lockfile from 'proper-lockfile';
import type { Logger } from '../log.ts';
import { makeDir } from '../owned-files.ts';
import {
  ensureEmbeddedServer,
  stopEmbeddedServer,
  warehouseDirMode,
  type EmbeddedServer,
} from './embedded-postgres.ts';

const LEASES = 'leases';
/** Present while the server was started by a command (not by `db start`): stopped when unused. */
export const STOP_WHEN_UNUSED = 'stop-when-unused';

export interface EmbeddedLease {
  readonly server: EmbeddedServer;
  /** Gives the lease back; stops the server when it was the last one and a command started it. */
  release(): Promise<void>;
}

/** The process's start time (Linux /proc), so that a lease of a dead process whose pid was reused is not taken for live. */
function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Runs `fn` holding the lease book's lock (waits for it; a holder that died leaves a lock that goes stale in 10 s). */
export async function withLeaseBook<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  // Explicit modes: under `umask 000` a plain recursive mkdir made the warehouse folder 0777.
  await makeDir(dir, warehouseDirMode());
  await makeDir(path.join(dir, LEASES), 0o700);
  const unlock = await lockfile.lock(dir, {
    lockfilePath: path.join(dir, 'leases.lock'),
    stale: 10_000,
    retries: { retries: 2_000, minTimeout: 20, maxTimeout: 200 },
  });
  try {
    return await fn();
  } finally {
    await unlock().catch(() => undefined);
  }
}

/** The live leases (pids); the leases of processes that are gone are removed. Call inside withLeaseBook. */
export async function liveLeases(dir: string): Promise<number[]> {
  const live: number[] = [];
  for (const name of await readdir(path.join(dir, LEASES)).catch(() => [] as string[])) {
    const file = path.join(dir, LEASES, name);
    const pid = Number(name);
    let started: string | undefined;
    try {
      started = (JSON.parse(readFileSync(file, 'utf8')) as { started?: string }).started;
    } catch {
      started = undefined;
    }
    if (Number.isInteger(pid) && pid > 0 && isAlive(pid) && (started === undefined || processStart(pid) === started))
      live.push(pid);
    else await rm(file, { force: true });
  }
  return live;
}

/**
 * Stops the server when no live lease is left and a command started it. Call
 * inside withLeaseBook. 'leased': a command uses it; 'in use': another
 * session (psql, a BI tool) does; 'kept': `db start` keeps it up.
 */
export async function stopIfUnused(
  dir: string,
  server: Pick<EmbeddedServer, 'connection' | 'dataDir'>,
  log: Logger,
): Promise<'leased' | 'in use' | 'kept' | 'stopped'> {
  if ((await liveLeases(dir)).length > 0) return 'leased';
  if (!existsSync(path.join(dir, STOP_WHEN_UNUSED))) return 'kept';
  if (!(await stopEmbeddedServer(server, log))) return 'in use';
  await rm(path.join(dir, STOP_WHEN_UNUSED), { force: true });
  return 'stopped';
}

/** Starts the reaper, detached: it outlives this process and stops the server once unused. */
function startReaper(dir: string): void {
  const here = fileURLToPath(import.meta.url);
  const reaper = path.join(path.dirname(here), `embedded-reaper${path.extname(here)}`);
  const child = spawn(process.execPath, [...process.execArgv, reaper, dir], {
    detached: true,
    stdio: 'ignore',
    env: process.env,
  });
  child.unref();
}

/** Starts (or reuses) the embedded server kept in `dir` and takes a lease on it for this process. */
export async function leaseEmbeddedServer(dir: string, log: Logger): Promise<EmbeddedLease> {
  const server = await withLeaseBook(dir, async () => {
    const started = await ensureEmbeddedServer(dir, log);
    await writeFile(
      path.join(dir, LEASES, String(process.pid)),
      JSON.stringify({ pid: process.pid, started: processStart(process.pid) }),
    );
    if (started.startedHere) {
      await writeFile(path.join(dir, STOP_WHEN_UNUSED), '');
      startReaper(dir);
    }
    return started;
  });
  let released = false;
  return {
    server,
    async release() {
      if (released) return;
      released = true;
      await withLeaseBook(dir, async () => {
        await rm(path.join(dir, LEASES, String(process.pid)), { force: true });
        const outcome = await stopIfUnused(dir, server, log);
        if (outcome === 'leased')
          log.debug('The embedded PostgreSQL is still used by another command; leaving it running.');
      });
    },
  };
}

/** `db start`: starts (or reuses) the server, which then stays up until `db stop`, whoever started it. */
export async function startAndKeep(dir: string, log: Logger): Promise<EmbeddedServer> {
  return withLeaseBook(dir, async () => {
    const server = await ensureEmbeddedServer(dir, log);
    await rm(path.join(dir, STOP_WHEN_UNUSED), { force: true });
    return server;
  });
}
