/**
 * Which test files need a database (or the compiled command line, which
 * needs one): those that import, directly or not, the modules that reach
 * one. The rest are the unit tests `npm run test:unit` runs without starting
 * a server. Derived from the import graph (dependency-cruiser), so a test
 * file that starts using a database leaves the fast loop by itself.
 */
import { cruise, type IModule } from 'dependency-cruiser';

/** Reaching any of these makes a test file a database test. */
export const NEEDS_DATABASE: readonly RegExp[] = [
  /^test\/helpers\/database\.ts$/,
  /^test\/support\/spawn-cli\.ts$/,
  /^test\/support\/scratch-(server|database)\.ts$/,
  /^lib\/db\/embedded-postgres\.ts$/,
];

/** The import graph of the given folders (and what they import), type-only imports included; packages are not followed. */
export async function importGraph(root: string, folders: readonly string[]): Promise<IModule[]> {
  const result = await cruise([...folders], {
    baseDir: root,
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)node_modules/' },
  });
  if (typeof result.output === 'string') throw new Error('dependency-cruiser returned text, not modules');
  return result.output.modules;
}

/** The test files (test/*.test.ts) that reach no module of NEEDS_DATABASE. */
export function unitTestFiles(modules: readonly IModule[]): string[] {
  const deps = new Map(modules.map((m) => [m.source, m.dependencies.map((d) => d.resolved)]));
  const needs = new Map<string, boolean>();
  const reaches = (file: string, seen: Set<string>): boolean => {
    const known = needs.get(file);
    if (known !== undefined) return known;
    if (NEEDS_DATABASE.some((re) => re.test(file))) return true;
    if (seen.has(file)) return false;
    seen.add(file);
    const result = (deps.get(file) ?? []).some((d) => reaches(d, seen));
    needs.set(file, result);
    return result;
  };
  return modules
    .map((m) => m.source)
    .filter((f) => /^test\/[^/]+\.test\.ts$/.test(f))
    .filter((f) => !reaches(f, new Set()))
    .sort();
}
