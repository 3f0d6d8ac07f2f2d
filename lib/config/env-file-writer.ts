/**
 * Sets keys in a .env file, keeping every other line as it is; the file is
 * readable by its owner only (it may hold passwords).
 */
import { chmod, writeFile } from 'node:fs/promises';
import { readIfExists } from './optional-file.ts';

export async function setEnvValues(file: string, values: Record<string, string>): Promise<void> {
  let lines = readIfExists(file)?.split('\n') ?? [];
  const pending = new Map(Object.entries(values));
  lines = lines.map((line) => {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(line);
    const key = m?.[1];
    if (key && pending.has(key)) {
      const value = pending.get(key) as string;
      pending.delete(key);
      return `${key}=${value}`;
    }
    return line;
  });
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  for (const [key, value] of pending) lines.push(`${key}=${value}`);
  await writeFile(file, `${lines.join('\n')}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
}
