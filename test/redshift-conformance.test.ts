// docs/redshift-conformance.md: every documented Redshift behaviour the tool depends on names its AWS page and
// at least one test, and every test it names exists (the file, and the quoted words of a title in it).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { PROJECT_DIR } from './helpers/cli.ts';

const CATALOGUE = 'docs/redshift-conformance.md';

interface Entry {
  readonly behaviour: string;
  readonly pages: string;
  readonly tests: readonly { file: string; title: string }[];
  /** What the "Checked by" cell said that is not a `file` › "title" reference. */
  readonly stray: string;
}

/** The catalogue's table rows (after the header and delimiter rows). */
export function catalogueEntries(markdown: string): Entry[] {
  const rows = markdown
    .split('\n')
    .filter((l) => l.startsWith('| ') && !l.startsWith('| Behaviour') && !l.startsWith('| ---'));
  return rows.map((row) => {
    const cells = row.slice(2, -2).split(' | ');
    const [behaviour = '', pages = '', checked = ''] = cells;
    const refs = /`(test\/[^`]+\.test\.ts)` › "([^"]+)"( \([^)]*\))?/g;
    const tests = [...checked.matchAll(refs)].map((m) => ({ file: m[1] ?? '', title: m[2] ?? '' }));
    return { behaviour, pages, tests, stray: checked.replace(refs, '').replace(/[;\s]/g, '') };
  });
}

/** What is wrong with the catalogue: entries without a page or a test, named files that do not exist, titles not in them. */
async function catalogueProblems(markdown: string): Promise<string[]> {
  const problems: string[] = [];
  for (const e of catalogueEntries(markdown)) {
    const name = e.behaviour.slice(0, 60);
    if (!/\]\(https:\/\/docs\.aws\.amazon\.com\/redshift(-data)?\/latest\//.test(e.pages))
      problems.push(`${name}: no AWS documentation page`);
    if (e.tests.length === 0) problems.push(`${name}: names no test`);
    if (e.stray !== '')
      problems.push(`${name}: "Checked by" holds something that is not \`test/file.test.ts\` › "title": ${e.stray}`);
    for (const { file, title } of e.tests) {
      const text = await readFile(path.join(PROJECT_DIR, file), 'utf8').catch(() => undefined);
      if (text === undefined) problems.push(`${name}: ${file} does not exist`);
      else if (!text.includes(title)) problems.push(`${name}: ${file} has no test titled with "${title}"`);
    }
  }
  return problems;
}

test('every catalogue entry names its AWS page and tests that exist', async (t) => {
  const markdown = await readFile(path.join(PROJECT_DIR, CATALOGUE), 'utf8');
  t.true(catalogueEntries(markdown).length >= 25, `${catalogueEntries(markdown).length} entries`);
  t.deepEqual(await catalogueProblems(markdown), []);
});

test("the catalogue check fails on an entry without a test, a missing test file, a title not in the file, and a page not AWS's", async (t) => {
  const page = '[p](https://docs.aws.amazon.com/redshift/latest/dg/p.html)';
  const problems = await catalogueProblems(
    [
      '| Behaviour | AWS page | Checked by |',
      '| --- | --- | --- |',
      `| A | ${page} | |`,
      `| B | ${page} | \`test/no-such.test.ts\` › "x" |`,
      `| C | ${page} | \`test/redshift-ddl.test.ts\` › "no test is titled so anywhere at all" |`,
      '| D | a blog | `test/redshift-conformance.test.ts` › "every catalogue entry" |',
      `| E | ${page} | see the live suite |`,
    ].join('\n'),
  );
  t.deepEqual(problems, [
    'A: names no test',
    'B: test/no-such.test.ts does not exist',
    'C: test/redshift-ddl.test.ts has no test titled with "no test is titled so anywhere at all"',
    'D: no AWS documentation page',
    'E: names no test',
    'E: "Checked by" holds something that is not `test/file.test.ts` › "title": seethelivesuite',
  ]);
});
