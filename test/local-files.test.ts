// What the tool writes on the local disk: into a folder it does not own
// (report --out DIR), a planted file or symbolic link at a temp name is never
// written through; under `umask 000` the folders it creates still get explicit
// modes (lib/owned-files.ts).
import { spawn } from 'node:child_process';
import { lstat, mkdir, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { cliCommand, PROJECT_DIR } from './support/spawn-cli.ts';
import { runCli } from './helpers/cli.ts';
import { migratedDatabase } from './helpers/load.ts';
import { tempDir } from './helpers/temp-dir.ts';

const VICTIM = 'precious: not the tool’s to overwrite\n';

test('report --out DIR: a symbolic link planted at the temp name (and at index.html) is not followed', async (t) => {
  const tdb = await migratedDatabase();
  t.teardown(() => tdb.drop());
  const dir = await tempDir(t, 'report-out-');
  const out = path.join(dir, 'shared');
  await mkdir(out, { mode: 0o777 });
  const victim = path.join(dir, 'victim.txt');
  const victim2 = path.join(dir, 'victim2.txt');
  await writeFile(victim, VICTIM);
  await writeFile(victim2, VICTIM);
  await symlink(victim, path.join(out, 'index.html.tmp'));

  const r = await runCli(['report', '--out', out], { DATABASE_URL: tdb.url });
  t.is(r.code, 0, r.stderr);
  t.is(await readFile(victim, 'utf8'), VICTIM, 'the link at index.html.tmp was not written through');
  const page = await lstat(path.join(out, 'index.html'));
  t.true(page.isFile(), 'index.html is a file of its own');
  t.is(page.mode & 0o777, 0o644);
  t.regex(await readFile(path.join(out, 'index.html'), 'utf8'), /<html/i);

  // A link at the final name is replaced (rename), never written through; no temp file is left behind.
  await rm(path.join(out, 'index.html'));
  await symlink(victim2, path.join(out, 'index.html'));
  const again = await runCli(['report', '--out', out], { DATABASE_URL: tdb.url });
  t.is(again.code, 0, again.stderr);
  t.is(await readFile(victim2, 'utf8'), VICTIM);
  t.true((await lstat(path.join(out, 'index.html'))).isFile());
  t.deepEqual((await readdir(out)).sort(), ['index.html', 'index.html.tmp']);
});

/** Runs the command line under `umask 000`. */
function runUnderUmask000(
  args: readonly string[],
  env: Record<string, string>,
): Promise<{ code: number; stderr: string }> {
  const [command, argv] = cliCommand(args);
  const child = spawn('sh', ['-c', 'umask 000; exec "$@"', 'sh', command, ...argv], {
    cwd: PROJECT_DIR,
    env: { PATH: process.env['PATH'], HOME: process.env['HOME'], TMPDIR: process.env['TMPDIR'], ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code: code ?? 1, stderr })));
}

test('under umask 000 the warehouse folder and the report folder are not made writable by everyone', async (t) => {
  const tdb = await migratedDatabase();
  t.teardown(() => tdb.drop());
  const dir = await tempDir(t, 'umask-');
  const warehouseDir = path.join(dir, 'project', '.warehouse');
  const r = await runUnderUmask000(['report'], { DATABASE_URL: tdb.url, WAREHOUSE_DIR: warehouseDir });
  t.is(r.code, 0, r.stderr);
  for (const d of [path.join(dir, 'project'), warehouseDir, path.join(warehouseDir, 'report')])
    t.is(((await stat(d)).mode & 0o777).toString(8), '755', d);
  t.is(((await stat(path.join(warehouseDir, 'report', 'index.html'))).mode & 0o777).toString(8), '644');
});

test('under umask 000 the embedded server makes .warehouse and its folders with explicit modes, none writable by everyone', async (t) => {
  const dir = await tempDir(t, 'umask-embedded-');
  const warehouse = path.join(dir, 'project', '.warehouse');
  t.teardown(async () => {
    await runCli(['db', 'stop'], { WAREHOUSE_DIR: warehouse });
    // As root the cluster may live under the system temp folder (server.json says where): removed too.
    const state = await readFile(path.join(warehouse, 'server.json'), 'utf8').then(
      (s) => JSON.parse(s) as { dataDir: string },
      () => undefined,
    );
    if (state && !state.dataDir.startsWith(warehouse))
      await rm(path.dirname(state.dataDir), { recursive: true, force: true });
  });
  const r = await runUnderUmask000(['migrate', 'up'], { WAREHOUSE_DIR: warehouse });
  t.is(r.code, 0, r.stderr);
  const isRoot = process.getuid?.() === 0;
  t.is(((await stat(warehouse)).mode & 0o777).toString(8), isRoot ? '755' : '700', warehouse);
  const open: string[] = [];
  const visit = async (d: string, depth: number) => {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const p = path.join(d, entry.name);
      const s = await lstat(p);
      if (!s.isSymbolicLink() && s.mode & 0o002) open.push(`${p} ${(s.mode & 0o777).toString(8)}`);
      if (entry.isDirectory() && depth < 2) await visit(p, depth + 1);
    }
  };
  await visit(warehouse, 0);
  t.deepEqual(open, [], 'nothing under .warehouse is writable by everyone');
});
