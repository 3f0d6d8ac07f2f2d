/**
 * A throw-away embedded PostgreSQL in a temporary folder, for the test suite
 * and the benchmark: started, then stopped and removed with everything it
 * made.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { connectionUrl, ensureEmbeddedServer, stopEmbeddedServer } from '../../lib/db/embedded-postgres.ts';
import type { Logger } from '../../lib/log.ts';

export interface ScratchServer {
  /** A superuser connection URL. */
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

export async function startScratchServer(prefix: string, log: Logger): Promise<ScratchServer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `${prefix}-`));
  const server = await ensureEmbeddedServer(dir, log);
  return {
    url: connectionUrl(server.connection),
    port: Number(server.connection.port),
    async stop() {
      await stopEmbeddedServer(server, log, true);
      await rm(dir, { recursive: true, force: true });
      // As root the data sits outside `dir`, where the postgres user can reach it.
      if (!server.dataDir.startsWith(dir)) await rm(path.dirname(server.dataDir), { recursive: true, force: true });
    },
  };
}
