// The documentation cannot rot silently: docs/commands.md is each command's
// --help, the schema diagrams are the migrations' tables, every repository
// path named in the docs (and in source comments) exists, every relative link
// and anchor resolves, and the cheap commands of the pages' shell blocks
// (--help, dry runs that connect to nothing) run in a fresh folder.
// `npm run docs` regenerates the generated parts (scripts/dev/docs.ts).
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { pipeline } from '../loaders/index.ts';
import { erdMermaid } from '../lib/report/page/erd-mermaid.ts';
import { loadSchemaModel } from '../lib/report/page/schema-model.ts';
import { betweenMarkers, generatedDocs, SCHEMA_FILES } from './support/generated-docs.ts';
import { cliCommand } from './support/spawn-cli.ts';
import { PROJECT_DIR } from './helpers/cli.ts';
import {
  anchorsOf,
  codeOf,
  commentLines,
  docFiles,
  lexDoc,
  linksOf,
  repoPathExists,
  repoPathsIn,
  sourceFiles,
} from './helpers/docs.ts';
import { tempDir } from './helpers/temp-dir.ts';

const run = promisify(execFile);
const read = (file: string) => readFileSync(path.join(PROJECT_DIR, file), 'utf8');

test('docs/commands.md and the schema blocks are what npm run docs writes (each --help, the migrations)', async (t) => {
  for (const [file, content] of await generatedDocs()) {
    t.is(read(file), content, `${file} is out of date: run npm run docs`);
  }
});

test("the schema diagram in README.md and docs/data-model.md is the migrations' tables", async (t) => {
  const expected = `\`\`\`mermaid\n${erdMermaid(await loadSchemaModel(pipeline))}\`\`\`\n`;
  for (const file of SCHEMA_FILES) t.is(betweenMarkers(read(file), 'schema'), expected, file);
});

test('every repository path the docs name exists', (t) => {
  const missing: string[] = [];
  let named = 0;
  for (const file of docFiles()) {
    for (const { text } of codeOf(lexDoc(file))) {
      for (const repoPath of repoPathsIn(text)) {
        named += 1;
        if (!repoPathExists(repoPath)) missing.push(`${file}: ${repoPath}`);
      }
    }
  }
  t.deepEqual(missing, []);
  t.true(named > 50, `only ${named} paths found: the extraction is broken`);
});

test('every repository path a source comment names exists, and no comment cites a section of the README', (t) => {
  const missing: string[] = [];
  for (const file of sourceFiles()) {
    for (const { line, text } of commentLines(read(file))) {
      for (const repoPath of repoPathsIn(text))
        if (!repoPathExists(repoPath)) missing.push(`${file}:${line}: ${repoPath}`);
      // The README is a landing page: a comment cites the docs/ page that holds the topic.
      if (/README[,:] *"?[A-Z]/.test(text))
        missing.push(`${file}:${line}: cites a README section (name the docs/ page)`);
    }
  }
  t.deepEqual(missing, []);
});

test('every relative link and anchor in the docs resolves', (t) => {
  const broken: string[] = [];
  let checked = 0;
  for (const file of docFiles()) {
    for (const href of linksOf(lexDoc(file))) {
      if (/^[a-z]+:/i.test(href)) continue; // https:, mailto:
      checked += 1;
      const [target = '', anchor] = href.split('#');
      const targetFile = target === '' ? file : path.posix.normalize(path.posix.join(path.posix.dirname(file), target));
      if (!existsSync(path.join(PROJECT_DIR, targetFile))) {
        broken.push(`${file}: ${href} (no ${targetFile})`);
      } else if (anchor !== undefined && !(targetFile.endsWith('.md') && anchorsOf(lexDoc(targetFile)).has(anchor))) {
        broken.push(`${file}: ${href} (no heading #${anchor} in ${targetFile})`);
      }
    }
  }
  t.deepEqual(broken, []);
  t.true(checked > 30, `only ${checked} links found: the extraction is broken`);
});

test('README.md states the two set-up commands (CI runs npm test)', (t) => {
  const shell = codeOf(lexDoc('README.md'))
    .filter((c) => c.lang === 'sh')
    .map((c) => c.text)
    .join('\n');
  t.regex(shell, /^npm install && npm start\b/m);
  t.regex(shell, /^npm install && npm test\b/m);
  t.true(read('README.md').split('\n').length <= 200, 'README.md is at most 200 lines');
});

/** The command line's arguments for one shell command of the docs, or undefined when it is not the command line. */
function cliArgs(command: string): string[] | undefined {
  const words = command.trim().split(/\s+/);
  if (words[0] === 'npx' && words[1] === 'sparkify-warehouse') return words.slice(2);
  if (words[0] !== 'npm' || words[1] !== 'run' || words[2] === undefined) return undefined;
  const script = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts[words[2]];
  const cli = /^node dist\/scripts\/cli\.js (\S+)$/.exec(script ?? '');
  if (!cli?.[1]) return undefined;
  const rest = words.slice(3);
  return [cli[1], ...(rest[0] === '--' ? rest.slice(1) : rest)];
}

/** Cheap: help, or a dry run that connects to nothing (a load or migrate rendered for a dialect, AWS calls listed). */
const isCheap = (args: string[]) =>
  args.includes('--help') || (args.includes('--dry-run') && (args.includes('--dialect') || args[0] === 'cluster'));

test('the cheap commands of the docs (shell blocks, inline command lines) run in a fresh folder', async (t) => {
  const fresh = await tempDir(t, 'docs-commands-');
  const commands: { file: string; command: string; args: string[] }[] = [];
  const unknown: string[] = [];
  for (const file of docFiles()) {
    // Shell blocks, and inline code that is a whole command line (`npm run load -- --dry-run --dialect redshift`).
    for (const code of codeOf(lexDoc(file)).filter(
      (c) => c.lang === 'sh' || (c.lang === '' && /^(npm run|npx sparkify-warehouse) /.test(c.text)),
    )) {
      for (const line of code.text.split('\n')) {
        const command = line.replace(/\s+#\s.*$/, '');
        if (!/--help|--dry-run/.test(command)) continue;
        for (const part of command.split('&&')) {
          const args = cliArgs(part);
          // A shell block's line must be the command line; inline code may name another script (npm run fuzz -- --help).
          if (!args && code.lang === 'sh') unknown.push(`${file}: ${part.trim()}`);
          else if (args && isCheap(args)) commands.push({ file, command: part.trim(), args });
        }
      }
    }
  }
  t.log(`${commands.length} commands run: ${commands.map((c) => c.command).join('; ')}`);
  t.deepEqual(unknown, [], 'a shell line with --help or --dry-run that is not the command line');
  t.true(commands.length >= 3, `only ${commands.length} cheap commands found`);
  for (const { file, command, args } of commands) {
    const [node, argv] = cliCommand(args);
    const result = await run(node, argv, {
      cwd: fresh,
      env: { PATH: process.env['PATH'], HOME: fresh, TMPDIR: process.env['TMPDIR'] },
    }).catch((e: { code: number; stderr: string }) => e);
    t.false('code' in result && result.code !== 0, `${file}: ${command}: ${'stderr' in result ? result.stderr : ''}`);
    t.true('stdout' in result && result.stdout.length > 0, `${file}: ${command} printed nothing`);
  }
});
