// The import graph (dependency-cruiser over every TypeScript source, type-only
// imports included): no file cycles, nothing imports upward. lib/ is layered
// (a folder imports only folders of a lower layer; docs/architecture.md
// draws them), lib/ never imports loaders/, migrations/, scripts/ or test/,
// a command never imports another command, and test/ never imports
// scripts/ (scripts/dev/ may import test/support/, not the reverse).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import type { IModule } from 'dependency-cruiser';
import { PROJECT_DIR } from './support/spawn-cli.ts';
import { importGraph } from './support/test-kinds.ts';

/** lib/'s layers, lowest first: a module may import its own layer's folders' files within its folder, and any lower layer. */
export const LIB_LAYERS: readonly (readonly string[])[] = [
  ['lib/printable.ts', 'lib/redact.ts', 'lib/fault-points.ts', 'lib/version.ts', 'lib/owned-files.ts'],
  ['lib/errors.ts', 'lib/log.ts'],
  ['lib/interrupt.ts'],
  ['lib/config'],
  ['lib/aws', 'lib/sources', 'lib/dialect'],
  ['lib/db', 'lib/cost'],
  ['lib/stage', 'lib/migrate'],
  ['lib/load'],
  ['lib/report', 'lib/sample', 'lib/preflight'],
  // A load's OpenLineage events: the steps (load), the table definitions (report's schema model).
  ['lib/lineage'],
];

function unitOf(file: string): string | undefined {
  return LIB_LAYERS.flat().find((u) => file === u || file.startsWith(`${u}/`));
}

function layerOf(file: string): number {
  const unit = unitOf(file);
  return unit === undefined ? -1 : LIB_LAYERS.findIndex((layer) => layer.includes(unit));
}

interface Edge {
  readonly from: string;
  readonly to: string;
}

let modules: IModule[] = [];
let edges: Edge[] = [];

test.before(async () => {
  modules = await importGraph(PROJECT_DIR, ['lib', 'loaders', 'migrations', 'scripts', 'test']);
  // The project's own files only (packages are not layers).
  edges = modules.flatMap((m) =>
    m.dependencies
      .filter((d) => /^(lib|loaders|migrations|scripts|test)\//.test(d.resolved))
      .map((d) => ({ from: m.source, to: d.resolved })),
  );
});

/** The violations of a rule, as "from → to" lines (empty: kept). */
const violations = (rule: (e: Edge) => boolean) => edges.filter(rule).map((e) => `${e.from} → ${e.to}`);

test('the graph was read: every lib/ file is in a layer', (t) => {
  t.true(modules.length > 150, `only ${modules.length} modules read`);
  const lib = modules.map((m) => m.source).filter((f) => f.startsWith('lib/') && f.endsWith('.ts'));
  t.deepEqual(
    lib.filter((f) => unitOf(f) === undefined),
    [],
    'a new lib/ folder or file needs a layer in LIB_LAYERS',
  );
});

test('no file cycles', (t) => {
  const cycles = modules.flatMap((m) =>
    m.dependencies.filter((d) => d.circular).map((d) => `${m.source} → ${d.resolved}`),
  );
  t.deepEqual(cycles, []);
});

test('lib/ imports only lower layers (or its own folder)', (t) => {
  t.deepEqual(
    violations((e) => {
      if (!e.from.startsWith('lib/') || !e.to.startsWith('lib/')) return false;
      const [a, b] = [unitOf(e.from), unitOf(e.to)];
      if (a === b) return false;
      return layerOf(e.to) >= layerOf(e.from);
    }),
    [],
  );
});

test('lib/ never imports loaders/, migrations/, scripts/ or test/', (t) => {
  t.deepEqual(
    violations((e) => e.from.startsWith('lib/') && /^(loaders|migrations|scripts|test)\//.test(e.to)),
    [],
  );
});

test('loaders/ and migrations/ import only lib/ (and loaders/ each other)', (t) => {
  t.deepEqual(
    violations(
      (e) =>
        /^(loaders|migrations)\//.test(e.from) &&
        !e.to.startsWith('lib/') &&
        !(e.from.startsWith('loaders/') && e.to.startsWith('loaders/')),
    ),
    [],
  );
});

test('a command never imports another command', async (t) => {
  // The commands are the modules whose `…Command` scripts/cli.ts registers; the rest of scripts/commands/ are their shared helpers.
  const cli = await readFile(path.join(PROJECT_DIR, 'scripts', 'cli.ts'), 'utf8');
  const commands = new Set(
    [...cli.matchAll(/import \{ \w+Command \} from '\.\/(commands\/[\w-]+\.ts)'/g)].map((m) => `scripts/${m[1]}`),
  );
  t.true(commands.size >= 10, `only ${commands.size} commands found`);
  t.false(commands.has('scripts/commands/common.ts'), 'common.ts registers no command');
  t.deepEqual(
    violations((e) => commands.has(e.from) && commands.has(e.to)),
    [],
  );
});

test('test/ never imports scripts/dev/ (its infrastructure is test/support/)', (t) => {
  t.deepEqual(
    violations((e) => e.from.startsWith('test/') && e.to.startsWith('scripts/dev/')),
    [],
  );
});
