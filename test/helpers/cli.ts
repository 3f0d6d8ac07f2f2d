/**
 * Runs the real command line as a child process (test/support/spawn-cli.ts) and
 * captures stdout, stderr and the exit code.
 */
import { existsSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import path from 'node:path';
import { PROJECT_DIR, spawnCli } from '../support/spawn-cli.ts';

export { PROJECT_DIR };

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** How long a command that outlived its `timeoutMs` has, after SIGTERM, to stop by itself before SIGKILL. */
const STOP_GRACE_MS = 20_000;

/**
 * `options.envFile`: the settings file the command reads (default: none, /dev/null).
 * A command still running after `timeoutMs` (default 2 minutes) is sent SIGTERM, so that it stops as a
 * user's Ctrl-C or `timeout` would stop it (temp folders removed, transactions rolled back), then SIGKILL
 * after STOP_GRACE_MS. Its result then says so: the code is the command's own (143 after SIGTERM) or
 * 128 + the signal's number, and stderr ends with a line naming the timeout. A killed command was reported
 * as exit 1 with nothing said (issue 26: a compacted load under CPU load, killed at 120 s).
 */
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
    let stopped = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timeoutMs = options.timeoutMs ?? 120_000;
    let kill: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      stopped = `runCli: \`${args.join(' ')}\` did not end within ${timeoutMs / 1000}s (its timeoutMs): sent SIGTERM`;
      child.kill('SIGTERM');
      kill = setTimeout(() => {
        stopped += `, then SIGKILL ${STOP_GRACE_MS / 1000}s later`;
        child.kill('SIGKILL');
      }, STOP_GRACE_MS);
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(kill);
      const signalled = signal ? 128 + (osConstants.signals[signal] ?? 0) : undefined;
      // A command this helper stopped, or one that died of a signal, says so: an exit code without a message
      // reads as a silent failure of the tool.
      const note = stopped || (signal ? `runCli: \`${args.join(' ')}\` died of ${signal}` : '');
      resolve({
        code: code ?? signalled ?? 1,
        stdout,
        stderr: note ? `${stderr}${stderr.endsWith('\n') || stderr === '' ? '' : '\n'}${note}\n` : stderr,
      });
    });
  });
}

/** Sparkify's real input beside the repo (../shared/sparkify), or undefined on a user's clone. */
export function sharedSparkify(): string | undefined {
  const dir = path.resolve(PROJECT_DIR, '..', 'shared', 'sparkify');
  return process.env['SPARKIFY_DATA'] ?? (existsSync(dir) ? dir : undefined);
}
