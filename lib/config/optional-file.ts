/**
 * A settings file (.env, dwh.cfg, the targets file) that may not exist yet:
 * its text, or undefined when there is no such file. Settings files are
 * UTF-8, decoded strictly: a file in another encoding (a Latin-1 dwh.cfg, what
 * Windows' configparser writes by default) is refused with its file and line,
 * rather than read with U+FFFD in place of a password's `ä` (which then fails
 * to authenticate without a word about why). docs/settings.md says so.
 */
import { readFileSync } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { ConfigError } from '../errors.ts';
import { printable } from '../printable.ts';

/** `shownAs`: the file as the user named it, for the error (default `file`). */
export function readIfExists(file: string, shownAs: string = file): string | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  if (!isUtf8(bytes)) throw notUtf8(bytes, shownAs);
  return bytes.toString('utf8');
}

/** The error for a file that is not UTF-8: its first bad line (no byte of the line is shown: it may hold a secret). */
function notUtf8(bytes: Buffer, shown: string): ConfigError {
  // A UTF-8 sequence never holds a newline byte: the lines can be checked one by one.
  let line = 1;
  for (let start = 0; start <= bytes.length; line += 1) {
    const end = bytes.indexOf(0x0a, start);
    const stop = end === -1 ? bytes.length : end;
    const text = bytes.subarray(start, stop);
    if (!isUtf8(text)) {
      const column = firstBadByte(text);
      return new ConfigError([
        `${printable(shown)}:${line}: not UTF-8 (byte 0x${(text[column] ?? 0).toString(16).toUpperCase()} at byte ${column + 1} of the line). Settings files are read as UTF-8; this one looks like Latin-1 or Windows-1252 (Windows' configparser default): save it as UTF-8, e.g. \`iconv -f latin1 -t utf-8 ${printable(shown)} > fixed && mv fixed ${printable(shown)}\``,
      ]);
    }
    if (end === -1) break;
    start = end + 1;
  }
  return new ConfigError([`${printable(shown)}: not UTF-8`]);
}

/** The 0-based offset of the first byte of `text` that starts no valid UTF-8 sequence. */
function firstBadByte(text: Buffer): number {
  let i = 0;
  while (i < text.length) {
    const b = text[i] ?? 0;
    const size =
      b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (size === 0 || !isUtf8(text.subarray(i, i + size))) return i;
    i += size;
  }
  return 0;
}
