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
import { createTestDatabase } from './helpers/database.ts';
import { event, song, writeFixture } from './helpers/fixtures.ts';
import { MIGRATIONS } from './helpers/migrations.ts';

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
  const lock = JSON.parse(await readFile(path.join(PROJECT_DIR, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  const root = lock.packages[''] ?? {};
  const packages: Record<string, unknown> = {
    '': { name: 'consumer', dependencies: { 'sparkify-warehouse': `file:${tarball}` } },
    'node_modules/sparkify-warehouse': {
      version: root.version,
      resolved: `file:${tarball}`,
      dependencies: root.dependencies,
      bin: root.bin,
      engines: root.engines,
    },
  };
  for (const [key, entry] of Object.entries(lock.packages))
    if (key.startsWith('node_modules/') && !entry.dev) packages[key] = entry;
  return { name: 'consumer', lockfileVersion: 3, requires: true, packages };
}

test('npm pack gives a package that installs elsewhere and runs: --help and the Redshift dry runs', async (t) => {
  t.timeout(600_000);
  ensureBuilt();
  const dir = await tempDir(t, 'sparkify-pack-');
  const env = { PATH: process.env['PATH'], HOME: process.env['HOME'], TMPDIR: process.env['TMPDIR'] };
  // The build is current (ensureBuilt): pack it without running `prepare` again.
  const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
    cwd: PROJECT_DIR,
    env,
  });
  const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
  if (!info) throw new Error(`npm pack printed no file: ${packed.stdout}`);
  const files = info.files.map((f) => f.path);
  t.true(files.includes('dist/scripts/cli.js'));
  t.true(files.includes('dist/lib/report/analytics/plays-by-hour.sql'), 'the SQL files are copied beside the code');
  t.true(files.some((f) => /^dist\/migrations\/.*_create-songplays\.js$/.test(f)));
  t.deepEqual(
    files.filter(
      (f) => (f.endsWith('.ts') && !f.endsWith('.d.ts')) || f.startsWith('test/') || f.includes('tsbuildinfo'),
    ),
    [],
    'no sources (type declarations only), tests or build state',
  );

  await writeFile(
    path.join(dir, 'package.json'),
    JSON.stringify({
      name: 'consumer',
      private: true,
      dependencies: { 'sparkify-warehouse': `file:${info.filename}` },
    }),
  );
  await writeFile(path.join(dir, 'package-lock.json'), JSON.stringify(await consumerLock(info.filename)));
  await run('npm', ['ci', '--offline', '--no-audit', '--no-fund'], { cwd: dir, env });

  const bin = path.join(dir, 'node_modules', '.bin', 'sparkify-warehouse');
  const installed = (args: string[]) =>
    run(bin, args, { cwd: dir, env: { ...env, IAM_ROLE_ARN: 'arn:aws:iam::123456789012:role/sparkify-read' } });
  const help = await installed(['--help']);
  t.regex(help.stdout, /^sparkify-warehouse <command>/);
  t.regex(help.stdout, /sparkify-warehouse load/);
  for (const args of [
    ['load', '--dry-run', '--dialect', 'redshift'],
    ['migrate', 'up', '--dry-run', '--dialect', 'redshift'],
  ]) {
    const there = await installed(args);
    const here = await runCli(args, { IAM_ROLE_ARN: 'arn:aws:iam::123456789012:role/sparkify-read' });
    t.is(here.code, 0, here.stderr);
    t.regex(there.stdout, /COPY staging_events|CREATE TABLE songplays/, args.join(' '));
    t.is(there.stdout, here.stdout, `${args.join(' ')}: the installed package prints what this checkout prints`);
  }

  // Publishable: a license, a repository, and the programmatic API (exports + types).
  const manifest = JSON.parse(
    await readFile(path.join(dir, 'node_modules', 'sparkify-warehouse', 'package.json'), 'utf8'),
  ) as { license?: string; repository?: { url?: string }; private?: boolean; types?: string };
  t.truthy(manifest.license);
  t.regex(manifest.repository?.url ?? '', /^git\+https:\/\//);
  t.not(manifest.private, true);
  t.true(files.includes('dist/scripts/api.js') && files.includes('dist/scripts/api.d.ts') && files.includes('LICENSE'));

  // migrate, load and verify from the installed tarball return what --format json prints.
  const tdb = await createTestDatabase();
  t.teardown(() => tdb.drop());
  const fixture = await writeFixture(t, {
    logs: { 'a.json': [event({ userId: '5', ts: 1541105830796 })] },
    songs: { 's.json': song() },
  });
  const settings = { DATABASE_URL: tdb.url, ...fixture.env };
  await writeFile(
    path.join(dir, 'use.mjs'),
    `import { migrate, load, verify } from 'sparkify-warehouse';
const settings = JSON.parse(process.env.SETTINGS);
const migrated = await migrate({ settings });
const run = await load({ settings });
const checks = await verify({ settings });
process.stdout.write(JSON.stringify({ migrated, run, checks }));
`,
  );
  const used = await run(process.execPath, ['use.mjs'], {
    cwd: dir,
    env: { ...env, SETTINGS: JSON.stringify(settings) },
  });
  const api = JSON.parse(used.stdout) as {
    migrated: { direction: string; migrations: string[] };
    run: { outcome: string; steps: { table: string; rows: number }[]; sources: { logData: string } };
    checks: unknown;
  };
  t.is(api.migrated.direction, 'up');
  t.is(api.migrated.migrations.length, MIGRATIONS);
  t.is(api.run.outcome, 'succeeded');
  t.is(api.run.sources.logData, fixture.env['LOG_DATA'] ?? '');
  t.is(api.run.steps.find((s) => s.table === 'songplays')?.rows, 1);
  const cli = await runCli(['verify', '--format', 'json'], settings);
  t.deepEqual(api.checks, JSON.parse(cli.stdout), 'verify() returns what verify --format json prints');

  // The types: a consumer's TypeScript (strict, an ES module) checks a call against them. skipLibCheck as most
  // projects set it: the package's declarations name pg's types, which come with @types/pg (a devDependency here).
  await writeFile(
    path.join(dir, 'typed.mts'),
    `import { verify, type VerifyJson } from 'sparkify-warehouse';\nconst checks: VerifyJson = await verify({ settings: { DATABASE_URL: 'postgres://x' } });\nconst passed: boolean = checks.passed;\n// @ts-expect-error: verify takes no such option (the types are real, not any)\nawait verify({ nosuchoption: true });\nexport { passed };\n`,
  );
  await writeFile(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        noEmit: true,
        skipLibCheck: true,
        types: ['node'],
        typeRoots: [path.join(PROJECT_DIR, 'node_modules', '@types')],
      },
      files: ['typed.mts'],
    }),
  );
  const tsc = path.join(PROJECT_DIR, 'node_modules', 'typescript', 'bin', 'tsc');
  const typed = await run(process.execPath, [tsc, '-p', dir], { cwd: dir, env }).then(
    () => '',
    (err: { stdout?: string }) => err.stdout ?? 'tsc failed',
  );
  t.is(typed, '', 'the consumer type-checks against the packed .d.ts files');
});
