/**
 * Folders that root creates under the shared temp folder for the postgres
 * user (the embedded server's binaries and data when the project sits below a
 * folder that user cannot enter). /tmp is writable by everyone, so a fixed
 * name there can be created first by someone else, with a symlink inside that
 * would make root chown or write wherever it points. Hence: new folders get a
 * random name (mkdtemp, created by this process), and any such folder found
 * again later is used only if it is a real folder (not a symlink) owned by us
 * that nobody else can write to.
 */
import { ConfigError } from '../errors.ts';
import { lstatSync } from 'node:fs';
import { chmod, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** A new folder with a random name under the system temp folder: ours, 0755 (others may enter and read, not write). */
export async function createPrivateTempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  await chmod(dir, 0o755);
  return dir;
}

/** Why `dir` may not be trusted, or undefined when it is a real folder owned by this user and writable by it only. */
export function untrustedBecause(dir: string): string | undefined {
  let st;
  try {
    st = lstatSync(dir);
  } catch {
    return 'it does not exist';
  }
  if (st.isSymbolicLink()) return 'it is a symbolic link';
  if (!st.isDirectory()) return 'it is not a folder';
  const uid = typeof process.getuid === 'function' ? process.getuid() : st.uid;
  if (st.uid !== uid) return `it is owned by uid ${st.uid}, not ${uid}`;
  if ((st.mode & 0o022) !== 0) return `others can write to it (mode ${(st.mode & 0o777).toString(8)})`;
  return undefined;
}

/** Throws a clear error unless `dir` can be trusted (see untrustedBecause). */
export function assertTrusted(dir: string, what: string): void {
  const why = untrustedBecause(dir);
  if (why)
    throw new ConfigError([
      `Refusing to use ${dir} for ${what}: ${why}; it was not created by this tool (someone may have planted it). Remove it and run again.`,
    ]);
}

/** Refuses a path that is a symbolic link (what a planted path inside a trusted folder would be). */
export function assertNotSymlink(file: string, what: string): void {
  try {
    if (lstatSync(file).isSymbolicLink())
      throw new ConfigError([`Refusing to use ${file} for ${what}: it is a symbolic link. Remove it and run again.`]);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
