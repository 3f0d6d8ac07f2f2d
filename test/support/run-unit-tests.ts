/**
 * `npm run test:unit`: the tests that need no database (test/support/test-kinds.ts
 * finds them from the import graph), run by AVA without starting a server.
 * The full suite is `npm test`.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createLogger } from '../../lib/log.ts';
import { PROJECT_DIR } from './spawn-cli.ts';
import { importGraph, unitTestFiles } from './test-kinds.ts';
import { createRunTempDir, leftovers, removeRunTempDir } from './temp-leftovers.ts';

const log = createLogger();
const files = unitTestFiles(await importGraph(PROJECT_DIR, ['test']));
log.info(`Unit tests: ${files.length} files that need no database (npm test runs every file)`);
const runTmp = await createRunTempDir();
const env: NodeJS.ProcessEnv = {
  ...process.env,
  TMPDIR: runTmp,
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};
delete env['TEST_DATABASE_URL'];
const ava = path.join(PROJECT_DIR, 'node_modules', 'ava', 'entrypoints', 'cli.mjs');
let code = await new Promise<number>((resolve) => {
  const child = spawn(process.execPath, [ava, ...files, ...process.argv.slice(2)], {
    stdio: 'inherit',
    env,
    cwd: PROJECT_DIR,
  });
  child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
});
const left = await leftovers(runTmp);
if (left.length > 0) {
  log.error(`The unit tests left ${left.length} item(s) in the temp directory: ${left.join(', ')}`);
  if (code === 0) code = 1;
}
await removeRunTempDir(runTmp);
process.exit(code);
