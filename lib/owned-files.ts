/**
 * Writing files and folders safely where others may write too (a report
 * folder named with --out, /tmp, a world-writable share), and with exact
 * modes whatever the umask:
 * - a folder the tool creates gets the mode asked for (mkdir's mode is only
 *   an upper bound: the umask takes bits away, and a missing parent
 *   `recursive: true` creates would get 0777 under `umask 000`);
 * - a file is replaced whole through a temp file created exclusively
 *   (O_CREAT|O_EXCL, under a random name), so a file or symbolic link planted
 *   at a fixed temp name is never written through; the rename then replaces
 *   the directory entry (a symbolic link at the final name is replaced, not
 *   followed).
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/** Creates `dir` and its missing parents, each with exactly `mode`; folders that exist keep theirs. */
export async function makeDir(dir: string, mode: number): Promise<void> {
  const target = path.resolve(dir);
  const first = await mkdir(target, { recursive: true, mode });
  if (first === undefined) return;
  // mkdir returns the first folder it created; it and every folder below it down to `target` are new.
  const stop = path.resolve(first);
  for (let d = target; ; d = path.dirname(d)) {
    await chmod(d, mode);
    if (d === stop || path.dirname(d) === d) break;
  }
}

/** Writes `file` whole, with exactly `mode`, never through a planted temp file or link (see above). */
export async function replaceFile(file: string, content: string | Uint8Array, mode = 0o644): Promise<void> {
  const target = path.resolve(file);
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(8).toString('hex')}.tmp`);
  // 'wx': O_CREAT|O_EXCL, which fails on any existing entry, a symbolic link included (it is not followed).
  const handle = await open(tmp, 'wx', mode);
  try {
    try {
      await handle.writeFile(content);
      await handle.chmod(mode);
    } finally {
      await handle.close();
    }
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
