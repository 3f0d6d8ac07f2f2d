/**
 * Reads a .env file with dotenv's parser (quotes, `#` comments after a value,
 * `export `, `\n` in double-quoted values, multi-line quoted values), so a
 * .env means here what it means to every other tool that reads one. A file in
 * INI syntax (a dwh.cfg, with `[SECTION]` headers) is refused: dotenv would
 * quietly take its `KEY=value` lines and drop the sections' meaning, loading
 * the bucket named there into the wrong warehouse.
 */
import { readIfExists } from './optional-file.ts';
import { parse } from 'dotenv';
import { ConfigError } from '../errors.ts';
import { printable } from '../printable.ts';

const SECTION_HEADER = /^\s*\[([^\]=]+)\]\s*$/;

/** The file's settings; `file` names it in the error. */
export function parseEnvFile(text: string, file = '.env'): Record<string, string> {
  const lines = text.split(/\r?\n/);
  const header = lines.findIndex((line) => SECTION_HEADER.test(line));
  if (header >= 0) {
    const name = SECTION_HEADER.exec(lines[header] ?? '')?.[1] ?? '';
    throw new ConfigError([
      `${file}:${header + 1}: [${name}] is an INI section header, not .env syntax: this looks like a dwh.cfg; give it with --config ${file} (or SPARKIFY_CONFIG=${file}), not --env-file`,
    ]);
  }
  return parse(text);
}

/**
 * The settings of an env file; none when it does not exist, unless it is
 * `required` (the user named it with --env-file, so a misspelt name is a
 * mistake rather than a file with no settings).
 */
export function readEnvFile(
  file: string,
  options: { readonly required?: boolean; readonly shownAs?: string } = {},
): Record<string, string> {
  const shown = printable(options.shownAs ?? file);
  const text = readIfExists(file, options.shownAs ?? file);
  if (text === undefined) {
    if (options.required) throw new ConfigError([`--env-file ${shown}: no such file`]);
    return {};
  }
  return parseEnvFile(text, shown);
}
