/**
 * The documentation as the docs tests read it: README.md and every page under
 * docs/, lexed as GitHub-flavoured Markdown (marked), with what the checks
 * look at: code (inline and fenced), links, headings as GitHub anchors them,
 * and the repository paths named in code or in source comments.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Lexer, marked, type Token, type TokensList } from 'marked';
import { PROJECT_DIR } from './cli.ts';

/** README.md and docs/*.md, relative to the project. */
export function docFiles(): string[] {
  const pages = readdirSync(path.join(PROJECT_DIR, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort();
  return ['README.md', ...pages.map((f) => `docs/${f}`)];
}

export function lexDoc(file: string): TokensList {
  return new Lexer({ gfm: true }).lex(readFileSync(path.join(PROJECT_DIR, file), 'utf8'));
}

/** Every token, nested ones (lists, tables, inline) included. */
export function allTokens(tokens: TokensList): Token[] {
  const found: Token[] = [];
  marked.walkTokens(tokens, (token) => void found.push(token));
  return found;
}

/** The text of every inline code span and fenced block, with the fence's language ('' for inline). */
export function codeOf(tokens: TokensList): { lang: string; text: string }[] {
  return allTokens(tokens).flatMap((t) =>
    t.type === 'codespan'
      ? [{ lang: '', text: t.text }]
      : t.type === 'code'
        ? [{ lang: t.lang ?? '', text: t.text }]
        : [],
  );
}

/** Every link and image target. */
export function linksOf(tokens: TokensList): string[] {
  return allTokens(tokens).flatMap((t) => (t.type === 'link' || t.type === 'image' ? [t.href] : []));
}

/** A heading's anchor as GitHub makes it: the rendered text, lowercased, punctuation dropped, spaces as '-'. */
export function githubSlug(headingText: string): string {
  const plain = headingText.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/[`*]/g, '');
  return plain
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors of a page's headings (a repeated heading gets -1, -2, … as on GitHub). */
export function anchorsOf(tokens: TokensList): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const t of allTokens(tokens)) {
    if (t.type !== 'heading') continue;
    const slug = githubSlug(t.text);
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return anchors;
}

/** Repository paths named in a text: under one of the project's top-level folders (globs allowed). */
export function repoPathsIn(text: string): string[] {
  const found = text.match(/(?<![\w./-])(?:lib|scripts|test|migrations|loaders|docs|\.ci)\/[\w./*-]*/g) ?? [];
  return found.map((p) => p.replace(/\.+$/, ''));
}

/** Whether a repository path (a file, a folder ending in '/', or a glob in its last part) exists. */
export function repoPathExists(repoPath: string): boolean {
  if (!repoPath.includes('*')) return existsSync(path.join(PROJECT_DIR, repoPath));
  const dir = path.posix.dirname(repoPath);
  const pattern = new RegExp(
    `^${path.posix
      .basename(repoPath)
      .replace(/[.+?^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')}$`,
  );
  return (
    existsSync(path.join(PROJECT_DIR, dir)) && readdirSync(path.join(PROJECT_DIR, dir)).some((f) => pattern.test(f))
  );
}

/** The comment text of a TypeScript or JavaScript source, line by line (// comments and block comment lines). */
export function commentLines(source: string): { line: number; text: string }[] {
  const lines: { line: number; text: string }[] = [];
  let inBlock = false;
  source.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (inBlock || line.startsWith('/*')) {
      lines.push({ line: i + 1, text: line });
      inBlock = !line.includes('*/');
      return;
    }
    const comment = /(?:^|\s)\/\/(.*)$/.exec(line);
    if (comment?.[1] !== undefined) lines.push({ line: i + 1, text: comment[1] });
  });
  return lines;
}

/** Every source file under the folders whose comments are checked. */
export function sourceFiles(): string[] {
  const files: string[] = [];
  for (const dir of ['lib', 'loaders', 'migrations', 'scripts', 'test']) {
    for (const entry of readdirSync(path.join(PROJECT_DIR, dir), { recursive: true, withFileTypes: true })) {
      if (entry.isFile() && /\.(ts|mjs|js)$/.test(entry.name))
        files.push(path.relative(PROJECT_DIR, path.join(entry.parentPath, entry.name)));
    }
  }
  return files.sort();
}
