// npm run build (and `prepare`, so `npm install` / `npm ci` leave a runnable
// build): compiles the command line to JavaScript in dist/ with tsc
// (tsconfig.build.json: the `.ts` import specifiers become `.js`), copies the
// SQL files the code reads at run time beside it, and removes from dist/
// whatever no longer has a source (a deleted migration must not run from an
// old build), and writes the migrations' checksums beside them. Plain
// JavaScript: it runs before anything is compiled.
import { execFileSync } from 'node:child_process';
import process from 'node:process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
// A source saved while the build runs must still count as newer than the build.
const started = new Date();
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit' });

/** Every file under dir, relative to it. */
function filesUnder(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath ?? e.path, e.name)));
}

for (const file of filesUnder(dist)) {
  const source = file.endsWith('.d.ts')
    ? file.replace(/\.d\.ts$/, '.ts')
    : file.endsWith('.js')
      ? file.replace(/\.js$/, '.ts')
      : file;
  if (!file.startsWith('.') && !existsSync(path.join(root, source))) rmSync(path.join(dist, file));
}
// node-pg-migrate loads every file in the migrations folder: no type declarations there (the package's types are its API's).
for (const file of filesUnder(path.join(dist, 'migrations')).filter((f) => f.endsWith('.d.ts')))
  rmSync(path.join(dist, 'migrations', file));
for (const dir of ['lib']) {
  for (const file of filesUnder(path.join(root, dir)).filter((f) => f.endsWith('.sql'))) {
    mkdirSync(path.dirname(path.join(dist, dir, file)), { recursive: true });
    copyFileSync(path.join(root, dir, file), path.join(dist, dir, file));
  }
}
// The migrations' checksums, of their TypeScript sources (lib/migrate/checksums.ts, compiled above).
const { CHECKSUMS_FILE, migrationChecksums } = await import(
  pathToFileURL(path.join(dist, 'lib', 'migrate', 'checksums.js')).href
);
const checksums = await migrationChecksums(path.join(root, 'migrations'));
writeFileSync(
  path.join(dist, 'migrations', CHECKSUMS_FILE),
  `${JSON.stringify(Object.fromEntries(checksums), null, 2)}\n`,
);
// What test/support/spawn-cli.ts compares the sources with.
const stamp = path.join(dist, '.build-stamp');
writeFileSync(stamp, `${started.toISOString()}\n`);
utimesSync(stamp, started, started);
