/**
 * Runs the real command line as a child process (test/support/spawn-cli.ts) and
 * captures stdout, stderr and the exit code.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_DIR, spawnCli } from '../support/spawn-cli.ts';

export { PROJECT_DIR };

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `options.envFile`: the settings file the command reads (default: none, /dev/null). */
export function runCli(
  args: readonly string[],
  env: Record<string, string | undefined> = {},
  options: { timeoutMs?: number; envFile?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    // TMPDIR too: what a command writes to the temp directory counts as the suite's (test/support/temp-leftovers.ts).
    const child = spawnCli(
      args,
      { PATH: process.env['PATH'], HOME: process.env['HOME'], TMPDIR: process.env['TMPDIR'], ...env },
      { envFile: options.envFile },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timeoutMs = options.timeoutMs ?? 120_000;
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      // A command this helper killed says so: an exit code without a message reads as a silent failure of the tool.
      if (killed) stderr += `\n[test helper: killed with SIGKILL after ${timeoutMs / 1000}s (runCli's timeoutMs)]\n`;
      else if (signal) stderr += `\n[test helper: the command died of ${signal}]\n`;
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

/** Sparkify's real input beside the repo (../shared/sparkify), or undefined on a user's clone. */
export function sharedSparkify(): string | undefined {
  const dir = path.resolve(PROJECT_DIR, '..', 'shared', 'sparkify');
  return process.env['SPARKIFY_DATA'] ?? (existsSync(dir) ? dir : undefined);
}
