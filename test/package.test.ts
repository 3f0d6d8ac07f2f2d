// The package as npm ships it: `npm pack` gives a tarball with the compiled
// command line, which installs into a folder of its own (offline, from the
// npm cache, at the versions package-lock.json pins) and runs there as
// `sparkify-warehouse`: --help, and the Redshift dry runs, the same scripts the
// command line in this checkout prints.
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { ensureBuilt } from './support/spawn-cli.ts';
import { PROJECT_DIR, runCli } from './helpers/cli.ts';
import { tempDir } from './helpers/temp-dir.ts';

const run = promisify(execFile);

interface LockEntry {
  readonly dev?: boolean;
  readonly version?: string;
  readonly dependencies?: Record<string, string>;
  readonly bin?: Record<string, string>;
  readonly engines?: Record<string, string>;
}

/**
 * A lockfile for a project that depends on the tarball only: the tarball's
 * entry plus the runtime entries of ours (same versions, same integrity), so
 * that `npm ci --offline` installs it from the npm cache without asking the
 * registry for anything.
 */
async function consumerLock(tarball: string): Promise<object> {
  const lock = JSON.parse(await readFile(path.join(PROJECT_DIR, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const root = lock.packages[''] ?? {};
  const packages: Record<string, unknown> = {
    '': { name: 'consumer', dependencies: { 'sparkify-warehouse': `file:${tarball}` } },
    'node_modules/sparkify-warehouse': { version: root.version, resolved: `file:${tarball}`, dependencies: root.dependencies, bin: root.bin, engines: root.engines },
  };
  for (const [key, entry] of Object.entries(lock.packages)) if (key.startsWith('node_modules/') && !entry.dev) packages[key] = entry;
  return { name: 'consumer', lockfileVersion: 3, requires: true, packages };
}

test('npm pack gives a package that installs elsewhere and runs: --help and the Redshift dry runs', async (t) => {
  t.timeout(600_000);
  ensureBuilt();
  const dir = await tempDir(t, 'sparkify-pack-');
  const env = { PATH: process.env['PATH'], HOME: process.env['HOME'], TMPDIR: process.env['TMPDIR'] };
  // The build is current (ensureBuilt): pack it without running `prepare` again.
  const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: PROJECT_DIR, env });
  const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
  if (!info) throw new Error(`npm pack printed no file: ${packed.stdout}`);
  const files = info.files.map((f) => f.path);
  t.true(files.includes('dist/scripts/cli.js'));
  t.true(files.includes('dist/lib/report/analytics/plays-by-hour.sql'), 'the SQL files are copied beside the code');
  t.true(files.some((f) => /^dist\/migrations\/.*_create-songplays\.js$/.test(f)));
  t.deepEqual(files.filter((f) => f.endsWith('.ts') || f.startsWith('test/') || f.includes('tsbuildinfo')), [], 'no sources, tests or build state');

  await writeFile(path.join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, dependencies: { 'sparkify-warehouse': `file:${info.filename}` } }));
  await writeFile(path.join(dir, 'package-lock.json'), JSON.stringify(await consumerLock(info.filename)));
  await run('npm', ['ci', '--offline', '--no-audit', '--no-fund'], { cwd: dir, env });

  const bin = path.join(dir, 'node_modules', '.bin', 'sparkify-warehouse');
  const installed = (args: string[]) => run(bin, args, { cwd: dir, env: { ...env, IAM_ROLE_ARN: 'arn:aws:iam::123456789012:role/sparkify-read' } });
  const help = await installed(['--help']);
  t.regex(help.stdout, /^sparkify-warehouse <command>/);
  t.regex(help.stdout, /sparkify-warehouse load/);
  for (const args of [['load', '--dry-run', '--dialect', 'redshift'], ['migrate', 'up', '--dry-run', '--dialect', 'redshift']]) {
    const there = await installed(args);
    const here = await runCli(args, { IAM_ROLE_ARN: 'arn:aws:iam::123456789012:role/sparkify-read' });
    t.is(here.code, 0, here.stderr);
    t.regex(there.stdout, /COPY staging_events|CREATE TABLE songplays/, args.join(' '));
    t.is(there.stdout, here.stdout, `${args.join(' ')}: the installed package prints what this checkout prints`);
  }
});
