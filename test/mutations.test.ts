// The mutation list of `npm run mutate` (test/support/mutations.ts) fits the
// code: each mutation's text is found exactly once in its file, changes it,
// and names test files that exist; a mutation not counted says why.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { MUTATIONS, applyMutation } from './support/mutations.ts';

const PROJECT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

test('every listed mutation applies to its file exactly once, and its tests exist', (t) => {
  for (const f of MUTATIONS) {
    const source = readFileSync(path.join(PROJECT_DIR, f.file), 'utf8');
    for (const m of f.mutations) {
      const mutated = t.notThrows(() => applyMutation(source, m, f.file), `${f.file}: ${m.rule}`);
      t.not(mutated, source, `${f.file}: ${m.rule} changes the file`);
      t.false(Boolean(m.equivalent) && Boolean(m.left), `${f.file}: ${m.rule} is equivalent or left, not both`);
    }
    for (const file of f.tests) t.true(existsSync(path.join(PROJECT_DIR, file)), `${f.file}: ${file} exists`);
  }
  t.is(new Set(MUTATIONS.map((f) => f.file)).size, MUTATIONS.length, 'one entry per file');
});

test('a mutation whose text is missing or repeated is refused, naming the file and the rule', (t) => {
  const m = { rule: 'a rule', find: 'x', replace: 'y' };
  t.is(applyMutation('a x b', m, 'f.ts'), 'a y b');
  t.throws(() => applyMutation('a b', m, 'f.ts'), {
    message: /f\.ts: the mutation "a rule" expects its text exactly once, found it nowhere/,
  });
  t.throws(() => applyMutation('x x', m, 'f.ts'), { message: /more than once/ });
});
