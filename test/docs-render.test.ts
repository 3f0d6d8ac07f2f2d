// Every page of the docs rendered as GitHub renders it (GitHub-flavoured
// Markdown, by marked) and opened in Debian's Chromium: every table of the
// source is a table on the page, no row has more cells than its header (an
// unescaped '|' in a cell), no paragraph shows a table's raw pipes, and every
// Mermaid block parses and draws (mermaid's own bundle, loaded from
// node_modules). Each page's HTML and a screenshot of it are left in the
// git-ignored test-artifacts/docs/ for a person to look at.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import test from 'ava';
import { marked } from 'marked';
import { launchChromium } from '../lib/report/page/chromium.ts';
import { chromiumAvailable, chromiumTitle } from './helpers/chromium.ts';
import { PROJECT_DIR } from './helpers/cli.ts';
import { docFiles } from './helpers/docs.ts';

const MERMAID = path.join(PROJECT_DIR, 'node_modules', 'mermaid', 'dist', 'mermaid.min.js');
const STYLE = `body { font: 15px/1.5 sans-serif; max-width: 1000px; margin: 2em auto; }
table { border-collapse: collapse; } th, td { border: 1px solid #ccc; padding: 3px 8px; }
pre { background: #f6f8fa; padding: 8px; overflow: auto; } code { background: #f6f8fa; } img { max-width: 100%; }`;

/** The source's tables, outside fenced code: the cell count of each row (header first), split at unescaped '|'. */
function sourceTables(markdown: string): number[][] {
  const tables: number[][] = [];
  let fenced = false;
  let current: number[] | undefined;
  const lines = markdown.split('\n');
  lines.forEach((line, i) => {
    if (line.startsWith('```')) fenced = !fenced;
    const row = !fenced && line.startsWith('|');
    if (row && current === undefined && /^\|(\s*:?-+:?\s*\|)+\s*$/.test(lines[i + 1] ?? ''))
      tables.push((current = []));
    if (row && current !== undefined && !/^\|(\s*:?-+:?\s*\|)+\s*$/.test(line))
      current.push(line.replace(/\\\|/g, '').split('|').length - 2);
    if (!row) current = undefined;
  });
  return tables;
}

test(
  chromiumTitle('every page renders as GitHub-flavoured Markdown: tables are tables, Mermaid blocks draw'),
  async (t) => {
    if (!chromiumAvailable) return t.pass();
    const artifacts = path.join(PROJECT_DIR, 'test-artifacts', 'docs');
    await mkdir(artifacts, { recursive: true });
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      for (const file of docFiles()) {
        const markdown = await readFile(path.join(PROJECT_DIR, file), 'utf8');
        const tables = sourceTables(markdown);
        tables.forEach((rows, i) =>
          rows.forEach((cells, r) =>
            t.is(cells, rows[0] ?? 0, `${file}: table ${i + 1}, row ${r}: ${cells} cells, the header has ${rows[0]}`),
          ),
        );
        // Kept beside the screenshots; <base> makes relative images load from the page's folder, as on GitHub.
        const html = path.join(artifacts, `${file.replace(/\//g, '_').replace(/\.md$/, '')}.html`);
        const base = pathToFileURL(path.join(PROJECT_DIR, path.dirname(file), path.sep)).href;
        await writeFile(
          html,
          `<!doctype html><meta charset="utf-8"><base href="${base}"><style>${STYLE}</style>${await marked.parse(markdown, { gfm: true })}`,
        );
        await page.goto(pathToFileURL(html).href);
        t.is(await page.locator('table').count(), tables.length, `${file}: tables rendered`);
        const rawPipes = await page
          .locator('p, li')
          .evaluateAll((els) =>
            els.filter((e) => /^\s*\|.*\|\s*$/m.test(e.textContent ?? '')).map((e) => e.textContent),
          );
        t.deepEqual(rawPipes, [], `${file}: text that should have been a table`);
        const blocks = await page.locator('code.language-mermaid').count();
        if (blocks > 0) {
          await page.addScriptTag({ path: MERMAID });
          // Each block drawn in place of its code, as GitHub shows it (the test is compiled without DOM types).
          const drawn = await page.locator('code.language-mermaid').evaluateAll(async (codes) => {
            const { mermaid } = globalThis as unknown as {
              mermaid: { initialize(o: object): void; render(id: string, text: string): Promise<{ svg: string }> };
            };
            mermaid.initialize({ startOnLoad: false });
            const svgs: string[] = [];
            for (const [i, code] of codes.entries()) {
              try {
                const { svg } = await mermaid.render(`mermaid-${i}`, code.textContent ?? '');
                if (code.parentElement) code.parentElement.outerHTML = `<div>${svg}</div>`;
                svgs.push(svg);
              } catch (e) {
                svgs.push(`Syntax error: ${String(e)}`);
              }
            }
            return svgs;
          });
          for (const svg of drawn) {
            t.notRegex(svg, /Syntax error/i, `${file}: a Mermaid block does not parse: ${svg.slice(0, 300)}`);
            for (const table of ['songplays', 'users', 'songs', 'artists', 'time', 'staging_events', 'staging_songs'])
              t.true(svg.includes(table), `${file}: the diagram shows ${table}`);
          }
        }
        await page.screenshot({
          path: path.join(artifacts, `${file.replace(/\//g, '_').replace(/\.md$/, '')}.png`),
          fullPage: true,
        });
      }
      t.deepEqual(errors, [], 'no script error on any page');
    } finally {
      await browser.close();
    }
  },
);
