// Every command leaves with its output written: a reader that reads the pipe
// only after a while still gets every byte of stdout (csv and json) and of
// stderr, though the process had ended long before (scripts/cli.ts waits for
// both streams to drain before it exits).
import test from 'ava';
import { spawn } from 'node:child_process';
import { PROJECT_DIR, cliCommand } from './support/spawn-cli.ts';
import { createTestDatabase } from './helpers/database.ts';

/**
 * Runs `cli … | (sleep 1.5; cat)`, stderr the same way, through real pipes (a shell's, 64 KiB, not Node's
 * socket pairs): nothing is read for a while, so the pipes fill and the command must wait for its readers.
 * pipefail: the exit code is the command's.
 */
function slowlyRead(
  args: readonly string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const [command, argv] = cliCommand(args);
  const script = 'set -o pipefail; "$@" 2> >(sleep 1.5; cat >&2) | (sleep 1.5; cat)';
  const child = spawn('bash', ['-c', script, 'bash', command, ...argv], {
    cwd: PROJECT_DIR,
    env: { PATH: process.env['PATH'], HOME: process.env['HOME'], TMPDIR: process.env['TMPDIR'], ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr })));
}

const SERIES = 'select generate_series(1,20000) as n';

test('query --format csv to a slow reader: all 20,001 lines', async (t) => {
  const tdb = await createTestDatabase();
  t.teardown(() => tdb.drop());
  const r = await slowlyRead(['query', SERIES, '--format', 'csv'], { DATABASE_URL: tdb.url });
  t.is(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  t.is(lines.pop(), '', 'ends with a newline');
  t.is(lines.length, 20_001);
  t.is(lines[0], 'n');
  t.is(lines[20_000], '20000');
});

test('query --format json to a slow reader: one whole JSON document', async (t) => {
  const tdb = await createTestDatabase();
  t.teardown(() => tdb.drop());
  const r = await slowlyRead(['query', SERIES, '--format', 'json'], { DATABASE_URL: tdb.url });
  t.is(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as unknown;
  const rows = JSON.stringify(doc).match(/"n":/g) ?? [];
  t.is(rows.length, 20_000);
});

test('stderr to a slow reader: a long error message arrives whole', async (t) => {
  // The server quotes the bad value back: a message of 100 KiB on stderr.
  const tdb = await createTestDatabase();
  t.teardown(() => tdb.drop());
  const r = await slowlyRead(['query', "select (repeat('x', 100000) || 'END')::int"], { DATABASE_URL: tdb.url });
  t.is(r.code, 1);
  t.true(r.stderr.length > 100_000, `stderr is ${r.stderr.length} bytes`);
  t.regex(r.stderr, /xEND"/, 'the end of the message was written');
});
