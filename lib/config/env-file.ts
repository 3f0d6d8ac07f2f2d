/**
 * Reads an optional .env file (KEY=VALUE lines, # comments, optional quotes,
 * optional `export `). Values already in the environment win, as with dotenv.
 */
import { readFileSync } from 'node:fs';

export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    let value = m[2] ?? '';
    const quoted = /^(['"])(.*)\1$/.exec(value);
    if (quoted) value = quoted[2] ?? '';
    else value = value.replace(/\s+#.*$/, '');
    out[m[1] ?? ''] = value;
  }
  return out;
}

/** Environment = the .env file's values overlaid by the real environment. */
export function readEnvironment(envFile: string | undefined, env: NodeJS.ProcessEnv): Record<string, string | undefined> {
  let fromFile: Record<string, string> = {};
  if (envFile) {
    try {
      fromFile = parseEnvFile(readFileSync(envFile, 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return { ...fromFile, ...env };
}
