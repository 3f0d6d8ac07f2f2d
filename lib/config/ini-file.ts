/**
 * Reads an INI file the way Python's configparser.ConfigParser() (what the
 * seed projects read their dwh.cfg with) reads it, keeping each value's line
 * for messages.
 *
 * Why not the `ini` npm package: it ends a value at the first `;` or `#`
 * (configparser does not: it has no inline comments by default), so
 * `DB_PASSWORD=Pa#ss;1` would silently become `Pa`; it also turns `true` into a
 * boolean, takes no `key: value` lines and no continuation lines, and its
 * current releases (6, 7) need a newer Node than this project supports. The
 * `configparser` npm package keeps no line numbers and depends on mkdirp 0.5.
 * What is implemented here is configparser's documented syntax:
 *  - `[SECTION]` headers; `key = value` or `key: value` (the first `=` or `:` ends the key);
 *  - whole-line comments starting with `#` or `;` (no inline comments);
 *  - a line indented deeper than its key continues that key's value;
 *  - `%%` is a literal `%` (BasicInterpolation); `%(name)s` references are refused;
 *  - keys and section names compare case-insensitively (configparser lowercases keys);
 *  - a key before any section, a line that is neither, a repeated section or key: errors.
 */
import { ConfigError } from '../errors.ts';

export interface IniEntry {
  /** The key as written. */
  readonly key: string;
  readonly value: string;
  /** 1-based line of the key. */
  readonly line: number;
}

export interface IniSection {
  /** The name as written (between the brackets). */
  readonly name: string;
  readonly line: number;
  readonly entries: readonly IniEntry[];
}

const HEADER = /^\[(.+)\]\s*$/;
const OPTION = /^(.*?)\s*[=:]\s*(.*)$/;
const COMMENT = /^\s*[#;]/;

export function parseIni(text: string, file: string): IniSection[] {
  const problems: string[] = [];
  const sections: {
    name: string;
    line: number;
    entries: { key: string; value: string; line: number; indent: number }[];
  }[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/);
  let current: (typeof sections)[number] | undefined;
  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    if (raw.trim() === '' || COMMENT.test(raw)) return;
    const indent = raw.length - raw.trimStart().length;
    const last = current?.entries[current.entries.length - 1];
    if (last && indent > last.indent) {
      last.value = last.value === '' ? raw.trim() : `${last.value}\n${raw.trim()}`;
      return;
    }
    const line = raw.trim();
    const header = HEADER.exec(line);
    if (header) {
      const name = header[1] ?? '';
      const seen = sections.find((s) => s.name.toUpperCase() === name.toUpperCase());
      if (seen) problems.push(`${file}:${lineNo}: section [${name}] appears twice (first at line ${seen.line})`);
      current = { name, line: lineNo, entries: [] };
      sections.push(current);
      return;
    }
    const option = OPTION.exec(line);
    if (!current) {
      problems.push(
        `${file}:${lineNo}: a setting before any [SECTION] header: a dwh.cfg starts with a section such as [CLUSTER]${option ? '; a .env file (KEY=value lines) goes to --env-file, not --config' : ''}`,
      );
      return;
    }
    const key = option?.[1] ?? '';
    if (!option || key === '') {
      problems.push(`${file}:${lineNo}: expected KEY = value in [${current.name}], got '${line.slice(0, 80)}'`);
      return;
    }
    const seen = current.entries.find((e) => e.key.toUpperCase() === key.toUpperCase());
    if (seen) problems.push(`${file}:${lineNo}: [${current.name}] ${key} is set twice (first at line ${seen.line})`);
    current.entries.push({ key, value: option[2] ?? '', line: lineNo, indent });
  });
  const out = sections.map((s) => ({
    name: s.name,
    line: s.line,
    entries: s.entries.map((e) => {
      if (/%\(/.test(e.value))
        problems.push(
          `${file}:${e.line}: [${s.name}] ${e.key}: %(name)s references are not supported; write the value out`,
        );
      return { key: e.key, value: e.value.replace(/%%/g, '%'), line: e.line };
    }),
  }));
  if (problems.length > 0) throw new ConfigError(problems);
  return out;
}
