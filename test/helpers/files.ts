/** Every file below a folder (full paths, sorted). */
import { readdir } from 'node:fs/promises';
import path from 'node:path';

export async function filesBelow(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  // Dirent.parentPath is Node 20.12+; .path is its older name (Node 20.11).
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.join((e as { parentPath?: string }).parentPath ?? e.path, e.name))
    .sort();
}
