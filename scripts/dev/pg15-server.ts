/**
 * A throw-away, untuned PostgreSQL 15 from the system's packages (Debian's
 * postgresql-15: /usr/lib/postgresql/15/bin, or PG15_BIN), for the benchmark:
 * initdb in a temporary folder, postgres on 127.0.0.1 with every setting at
 * its default, stopped and removed afterwards. As root it runs as the
 * `postgres` user (PostgreSQL refuses root).
 *
 *   npx tsx scripts/dev/pg15-server.ts   # prints DATABASE_URL=…, runs until Ctrl-C
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { ScratchServer } from '../../test/support/scratch-server.ts';

export function pg15Bin(): string {
  return process.env['PG15_BIN'] ?? '/usr/lib/postgresql/15/bin';
}

export function pg15Available(): boolean {
  return existsSync(path.join(pg15Bin(), 'postgres')) && existsSync(path.join(pg15Bin(), 'initdb'));
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** uid/gid to run as: the postgres user when this process is root. */
function runAs(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

export async function startPg15Server(log: { info(message: string): void }): Promise<ScratchServer> {
  const bin = pg15Bin();
  if (!pg15Available()) throw new Error(`no PostgreSQL 15 in ${bin} (apt-get install postgresql-15, or set PG15_BIN)`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sparkify-pg15-'));
  const user = runAs();
  if (user.uid !== undefined && user.gid !== undefined) await chown(dir, user.uid, user.gid);
  const data = path.join(dir, 'data');
  execFileSync(
    path.join(bin, 'initdb'),
    ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync'],
    { ...user, stdio: 'ignore' },
  );
  const port = await freePort();
  log.info(`Starting PostgreSQL 15 (untuned, ${bin}) on 127.0.0.1:${port}…`);
  const child: ChildProcess = spawn(
    path.join(bin, 'postgres'),
    ['-D', data, '-h', '127.0.0.1', '-p', String(port), '-k', dir],
    { ...user, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  for (let i = 0; ; i += 1) {
    const c = new pg.Client({ connectionString: url });
    try {
      await c.connect();
      await c.end();
      break;
    } catch (err) {
      await c.end().catch(() => undefined);
      if (i >= 100 || child.exitCode !== null) {
        child.kill('SIGKILL');
        await rm(dir, { recursive: true, force: true });
        throw new Error(`PostgreSQL 15 did not start: ${(err as Error).message}\n${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url,
    port,
    async stop() {
      child.kill('SIGINT'); // fast shutdown
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const server = await startPg15Server({ info: (m) => process.stderr.write(`${m}\n`) });
  process.stdout.write(`DATABASE_URL=${server.url}\n`);
  process.stderr.write('Running; Ctrl-C stops it and removes its data.\n');
  const stop = () => void server.stop().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
