/**
 * Debian's sqlfluff as an independent Redshift grammar. Mandatory where
 * REQUIRE_SQLFLUFF=1 (.ci/run sets it); elsewhere the tests that need it are
 * registered as skipped, with the reason in their title.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

function installed(): boolean {
  try {
    execFileSync('sqlfluff', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export const sqlfluffAvailable = installed();
export const sqlfluffRequired = process.env['REQUIRE_SQLFLUFF'] === '1';

if (sqlfluffRequired && !sqlfluffAvailable) {
  throw new Error('REQUIRE_SQLFLUFF=1 but sqlfluff is not installed (apt-get install sqlfluff)');
}

/** Parses a script with `sqlfluff parse --dialect redshift`; returns the parse violations (empty: it parsed). */
export function sqlfluffViolations(script: string): string[] {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sqlfluff-'));
  try {
    const file = path.join(dir, 'script.sql');
    writeFileSync(file, script);
    const r = spawnSync('sqlfluff', ['parse', '--dialect', 'redshift', file], {
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
    });
    const out = `${r.stdout}\n${r.stderr}`;
    const violations = out.split('\n').filter((l) => /unparsable|PRS|Traceback|Error:/i.test(l) && !/^\[L:/.test(l));
    if (r.status !== 0 && violations.length === 0) violations.push(`sqlfluff exited ${r.status}: ${out.slice(-500)}`);
    return violations;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `test` or `test.skip` with a visible reason, depending on whether sqlfluff is here. */
export function sqlfluffTitle(title: string): string {
  return sqlfluffAvailable ? title : `${title} (skipped: sqlfluff not installed; apt-get install sqlfluff)`;
}
