/**
 * `npm test`: starts a throw-away embedded PostgreSQL for the test suite (unless
 * TEST_DATABASE_URL names a server to use), then runs AVA against it. Each test
 * file creates and drops its own database there.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createLogger } from '../../lib/log.ts';
import { startScratchServer, type ScratchServer } from './scratch-server.ts';
import { PROJECT_DIR } from './spawn-cli.ts';

const log = createLogger();
const env: NodeJS.ProcessEnv = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
let server: ScratchServer | undefined;

if (!env['TEST_DATABASE_URL']) {
  server = await startScratchServer('sparkify-test', log);
  env['TEST_DATABASE_URL'] = server.url;
  log.info(`Test PostgreSQL: embedded, 127.0.0.1:${server.port}`);
} else {
  log.info('Test PostgreSQL: TEST_DATABASE_URL');
}

const ava = path.join(PROJECT_DIR, 'node_modules', 'ava', 'entrypoints', 'cli.mjs');
const code = await new Promise<number>((resolve) => {
  const child = spawn(process.execPath, [ava, ...process.argv.slice(2)], { stdio: 'inherit', env, cwd: PROJECT_DIR });
  child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
});

await server?.stop();
process.exit(code);
