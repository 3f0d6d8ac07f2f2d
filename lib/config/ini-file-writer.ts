/**
 * Sets keys in an INI file such as a dwh.cfg, keeping every other line and
 * comment as it is, and the quoting of each value it replaces: the seed
 * projects paste some values into SQL or a connection string with their
 * quotes (`ARN='arn:…'`), others without. New keys go at the end of their
 * section, new sections at the end of the file. `%` is written as `%%`, as
 * Python's ConfigParser (and lib/config/ini-file.ts) read it. The file is
 * readable by its owner only (it holds a password).
 */
import { chmod, writeFile } from 'node:fs/promises';
import { readIfExists } from './optional-file.ts';

const HEADER = /^\s*\[(.+)\]\s*$/;
const OPTION = /^(\s*)([^=:\s][^=:]*?)(\s*[=:]\s*)(.*)$/;

export async function setIniValues(
  file: string,
  values: Readonly<Record<string, Readonly<Record<string, string>>>>,
): Promise<void> {
  const lines = readIfExists(file)?.split('\n') ?? [];
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const pending = new Map(
    Object.entries(values).map(([section, keys]) => [section.toUpperCase(), new Map(Object.entries(keys))]),
  );
  const out: string[] = [];
  let section: string | undefined;
  const flush = () => {
    const rest = section === undefined ? undefined : pending.get(section);
    if (!rest) return;
    // New keys after the section's last setting, before the blank lines that end it.
    let at = out.length;
    while (at > 0 && (out[at - 1] ?? '').trim() === '') at -= 1;
    out.splice(at, 0, ...[...rest].map(([key, value]) => `${key}=${escape(value)}`));
    rest.clear();
  };
  for (const line of lines) {
    const header = HEADER.exec(line);
    if (header) {
      flush();
      section = (header[1] ?? '').toUpperCase();
      out.push(line);
      continue;
    }
    const option = OPTION.exec(line);
    const rest = section === undefined ? undefined : pending.get(section);
    const key =
      option?.[2] === undefined
        ? undefined
        : [...(rest?.keys() ?? [])].find((k) => k.toUpperCase() === option[2]?.toUpperCase());
    if (option && rest && key !== undefined && !/^\s*[#;]/.test(line)) {
      const quote = /^(['"]).*\1\s*$/.exec(option[4] ?? '')?.[1] ?? '';
      out.push(`${option[1]}${option[2]}${option[3]}${quote}${escape(rest.get(key) ?? '')}${quote}`);
      rest.delete(key);
      continue;
    }
    out.push(line);
  }
  flush();
  for (const [name, rest] of pending) {
    if (rest.size === 0) continue;
    if (out.length > 0) out.push('');
    out.push(`[${name}]`, ...[...rest].map(([key, value]) => `${key}=${escape(value)}`));
  }
  await writeFile(file, `${out.join('\n')}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
}

const escape = (value: string) => value.replace(/%/g, '%%');
