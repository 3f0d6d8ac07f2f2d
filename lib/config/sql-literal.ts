/**
 * The last line of defence for values written into SQL text (COPY cannot take
 * bind parameters): each value was validated by its own format first
 * (s3-uri.ts, aws-names.ts).
 */
import { UnsupportedError } from '../errors.ts';

/** Quote a value that has already been validated; refuses quotes and backslashes as a last line of defence. */
export function sqlLiteral(value: string): string {
  if (/['\\\0;]/.test(value))
    throw new UnsupportedError('refusing to quote a value holding a quote, backslash, NUL or semicolon');
  return `'${value}'`;
}
