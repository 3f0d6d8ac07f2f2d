/**
 * Text from outside (file names, S3 keys, bits of input) made safe to print:
 * control characters are shown as escapes (\n, \r, \t, \x1b…), so a file name
 * cannot break a message over lines, move the cursor or recolour a terminal.
 * Backslashes are left as they are: a Windows-style name stays readable.
 */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

export function printable(s: string): string {
  return s.replace(CONTROL, (c) => NAMED[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
