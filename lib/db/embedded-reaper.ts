/**
 * The embedded PostgreSQL's reaper (started, detached, by the command that
 * starts the server: lib/db/embedded-lease.ts): every 2 s it looks at the
 * lease book and stops the server once no live command holds a lease, so
 * that a command killed outright (SIGKILL, a crash, a closed terminal) never
 * leaves it running for good. It ends when the server is stopped, or is kept
 * up by `db start`. Usage: node embedded-reaper.js WAREHOUSE_DIR
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger } from '../log.ts';
import { stopIfUnused, withLeaseBook } from './embedded-lease.ts';
import { embeddedStatus } from './embedded-postgres.ts';

const POLL_MS = 2_000;
const dir = process.argv[2];

if (dir) {
  for (;;) {
    await sleep(POLL_MS);
    const status = await embeddedStatus(dir).catch(() => ({ running: false }) as const);
    if (!status.running || !status.connection || !status.dataDir) break;
    const server = { connection: status.connection, dataDir: status.dataDir };
    const outcome = await withLeaseBook(dir, () => stopIfUnused(dir, server, silentLogger)).catch(
      () => 'kept' as const,
    );
    if (outcome === 'stopped' || outcome === 'kept') break;
  }
}
process.exit(0);
