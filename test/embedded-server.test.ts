// The embedded PostgreSQL's first run: a run killed while initdb creates the
// cluster must leave a warehouse that the next run can create and start; and
// as root, the folders made for the postgres user under the shared temp
// folder cannot be planted by another user.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, chown, lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { copyBinaries } from '../lib/db/embedded-postgres.ts';
import { cliCommand } from './support/spawn-cli.ts';
import { PROJECT_DIR, runCli } from './helpers/cli.ts';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const NOBODY = 65534;

/** Removes the warehouse folder and, when the cluster was kept under the temp folder, that folder too, stopping any server first. */
async function cleanUp(warehouse: string, ...more: string[]): Promise<void> {
  await runCli(['db', 'stop'], { WAREHOUSE_DIR: warehouse });
  const state = await readFile(path.join(warehouse, 'server.json'), 'utf8').then(
    (s) => JSON.parse(s) as { dataDir: string },
    () => undefined,
  );
  if (state && !state.dataDir.startsWith(warehouse))
    await rm(path.dirname(state.dataDir), { recursive: true, force: true });
  for (const dir of more) await rm(dir, { recursive: true, force: true });
}

/** A cluster folder initdb has begun to write: PG_VERSION is its first file. */
const initdbStarted = (warehouse: string) => {
  try {
    return readdirSync(warehouse).some((name) => existsSync(path.join(warehouse, name, 'PG_VERSION')));
  } catch {
    return false;
  }
};

test.serial(
  'a first run killed during initdb: the next run removes the half-made cluster, creates it again and starts; no server is left running',
  async (t) => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'sparkify-embedded-'));
    // Others may enter: as root the cluster is then kept inside the warehouse folder, where this test watches it.
    await chmod(root, 0o755);
    const warehouse = path.join(root, 'warehouse');
    t.teardown(() => cleanUp(warehouse, root));
    const env = { PATH: process.env['PATH'], HOME: process.env['HOME'], WAREHOUSE_DIR: warehouse };
    // Its own process group, so that it is killed with initdb and the bootstrap backend (Ctrl-C or a killed job).
    const [node, argv] = cliCommand(['migrate', 'up']);
    const first = spawn(node, argv, { cwd: PROJECT_DIR, env, detached: true, stdio: 'ignore' });
    const exited = new Promise((resolve) => first.on('exit', resolve));
    let done = false;
    void exited.then(() => (done = true));
    while (!initdbStarted(warehouse) && !done) await new Promise((resolve) => setTimeout(resolve, 10));
    t.false(done, 'killed while initdb was running');
    process.kill(-(first.pid ?? 0), 'SIGKILL');
    await exited;
    const again = await runCli(['migrate', 'up'], { WAREHOUSE_DIR: warehouse });
    t.is(again.code, 0, again.stderr);
    t.regex(
      again.stderr,
      /Removing .*pgdata\.initdb-\d+: a first run that stopped while creating the cluster left it half-made/,
    );
    t.deepEqual(
      (await readdir(warehouse)).filter((n) => n.startsWith('pgdata')),
      ['pgdata'],
      'one cluster, nothing half-made left',
    );
    const status = await runCli(['db', 'status'], { WAREHOUSE_DIR: warehouse });
    t.regex(status.stdout + status.stderr, /not running/, 'the server the second run started was stopped');
    const third = await runCli(['migrate', 'status'], { WAREHOUSE_DIR: warehouse });
    t.is(third.code, 0, third.stderr);
  },
);

const rootOnly = isRoot ? test.serial : test.serial.skip;
const asRoot = (title: string) => (isRoot ? title : `${title} (skipped: needs root)`);

rootOnly(
  asRoot(
    'as root, a folder planted at the old predictable /tmp path with a symlink inside is not followed: the cluster goes into a private folder',
  ),
  async (t) => {
    // The project below a folder the postgres user cannot enter: the cluster must live under the temp folder.
    const secret = await mkdtemp(path.join(os.tmpdir(), 'sparkify-private-'));
    const warehouse = path.join(secret, 'warehouse');
    const victim = await mkdtemp(path.join(os.tmpdir(), 'sparkify-victim-'));
    const planted = path.join(
      os.tmpdir(),
      `sparkify-warehouse-${createHash('sha256').update(path.resolve(warehouse)).digest('hex').slice(0, 12)}`,
    );
    t.teardown(() => cleanUp(warehouse, secret, victim, planted));
    // Another user creates the path first, with pgdata pointing at a folder of root's.
    await mkdir(planted, { mode: 0o777 });
    await symlink(victim, path.join(planted, 'pgdata'));
    await chown(planted, NOBODY, NOBODY);
    const r = await runCli(['migrate', 'up'], { WAREHOUSE_DIR: warehouse });
    t.is(r.code, 0, r.stderr);
    const v = await stat(victim);
    t.is(v.uid, 0, 'the symlink target was not handed to postgres');
    t.is(v.mode & 0o777, 0o700);
    t.deepEqual(await readdir(victim), [], 'nothing was written through the symlink');
    t.true((await lstat(path.join(planted, 'pgdata'))).isSymbolicLink());
    const state = JSON.parse(await readFile(path.join(warehouse, 'server.json'), 'utf8')) as { dataDir: string };
    t.false(state.dataDir.startsWith(planted), state.dataDir);
    const parent = await lstat(path.dirname(state.dataDir));
    t.true(parent.isDirectory() && parent.uid === 0 && (parent.mode & 0o022) === 0, 'a private folder of root');
  },
);

rootOnly(
  asRoot(
    'as root, the binaries copy is refused when its path was planted (a symlink, or a folder of another user), and made private otherwise',
  ),
  async (t) => {
    const native = await mkdtemp(path.join(os.tmpdir(), 'sparkify-native-'));
    await mkdir(path.join(native, 'bin'));
    await writeFile(path.join(native, 'bin', 'postgres'), '#!/bin/sh\n', { mode: 0o755 });
    const victim = await mkdtemp(path.join(os.tmpdir(), 'sparkify-victim-'));
    const base = path.join(os.tmpdir(), `sparkify-binaries-test-${process.pid}`);
    const paths = ['link', 'other', 'fresh'].map((n) => `${base}-${n}`);
    t.teardown(async () => {
      for (const p of [native, victim, ...paths]) await rm(p, { recursive: true, force: true });
    });
    const [link, other, fresh] = paths as [string, string, string];
    await symlink(victim, link);
    await t.throwsAsync(copyBinaries(native, link), { message: /Refusing to use .*: it is a symbolic link/ });
    t.deepEqual(await readdir(victim), [], 'nothing copied through the symlink');
    await mkdir(other, { mode: 0o777 });
    await writeFile(path.join(other, 'complete'), '');
    await chown(other, NOBODY, NOBODY);
    await t.throwsAsync(copyBinaries(native, other), { message: /Refusing to use .*: it is owned by uid 65534/ });
    t.is(await copyBinaries(native, fresh), fresh);
    const made = await lstat(fresh);
    t.true(made.isDirectory() && made.uid === 0 && (made.mode & 0o777) === 0o755);
    t.true(existsSync(path.join(fresh, 'native', 'bin', 'postgres')));
    t.is(await copyBinaries(native, fresh), fresh, 'reused the second time');
  },
);
