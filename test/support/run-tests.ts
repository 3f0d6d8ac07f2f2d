/**
 * `npm test`: starts a throw-away embedded PostgreSQL for the test suite (unless
 * TEST_DATABASE_URL names a server to use), then runs AVA against it. Each test
 * file creates and drops its own database there. AVA runs with a temp directory
 * of its own; a run that leaves anything in it fails, naming what was left.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createLogger } from '../../lib/log.ts';
import { startScratchServer, type ScratchServer } from './scratch-server.ts';
import { PROJECT_DIR, ensureBuilt } from './spawn-cli.ts';
import { createRunTempDir, leftovers, removeRunTempDir } from './temp-leftovers.ts';

const log = createLogger();
// The tests run the compiled command line: build it now if the source changed, not in each AVA worker.
ensureBuilt();
const env: NodeJS.ProcessEnv = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
let server: ScratchServer | undefined;

if (!env['TEST_DATABASE_URL']) {
  server = await startScratchServer('sparkify-test', log);
  env['TEST_DATABASE_URL'] = server.url;
  log.info(`Test PostgreSQL: embedded, 127.0.0.1:${server.port}`);
} else {
  log.info('Test PostgreSQL: TEST_DATABASE_URL');
}

const runTmp = await createRunTempDir();
env['TMPDIR'] = runTmp;
const ava = path.join(PROJECT_DIR, 'node_modules', 'ava', 'entrypoints', 'cli.mjs');
let code = await new Promise<number>((resolve) => {
  const child = spawn(process.execPath, [ava, ...process.argv.slice(2)], { stdio: 'inherit', env, cwd: PROJECT_DIR });
  child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
});

await server?.stop();
const left = await leftovers(runTmp);
if (left.length > 0) {
  log.error(
    `The tests left ${left.length} item(s) in the temp directory (every helper must remove what it creates, see test/helpers/temp-dir.ts): ${left.join(', ')}`,
  );
  if (code === 0) code = 1;
}
await removeRunTempDir(runTmp);
process.exit(code);
