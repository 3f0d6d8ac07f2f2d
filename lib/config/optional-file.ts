/** A settings file that may not exist yet: its text, or undefined when there is no such file. */
import { readFileSync } from 'node:fs';

export function readIfExists(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
