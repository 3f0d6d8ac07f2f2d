/**
 * npm run docs: writes the parts of the documentation that are generated from
 * the code (test/support/generated-docs.ts says which and how);
 * `npm run docs -- --check` writes nothing and exits 1 naming each file that
 * differs. test/docs.test.ts makes the same comparison in `npm test`.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { generatedDocs } from '../../test/support/generated-docs.ts';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { PROJECT_DIR } from '../../test/support/spawn-cli.ts';

const args = yargs(hideBin(process.argv))
  .scriptName('npm run docs --')
  .usage(
    '$0 [--check]: writes docs/commands.md, the schema blocks of README.md and docs/data-model.md, and the timeouts table of docs/settings.md from the code',
  )
  .option('check', {
    type: 'boolean',
    default: false,
    describe: 'write nothing; exit 1 naming each generated file that differs',
  })
  .strict()
  .help()
  .parseSync();

async function main(): Promise<void> {
  const check = args.check;
  const stale: string[] = [];
  for (const [file, content] of await generatedDocs()) {
    const current = await readFile(path.join(PROJECT_DIR, file), 'utf8').catch(() => undefined);
    if (current === content) continue;
    stale.push(file);
    if (!check) await writeFile(path.join(PROJECT_DIR, file), content);
  }
  if (check && stale.length > 0) {
    process.stderr.write(`Out of date (run npm run docs): ${stale.join(', ')}\n`);
    process.exit(1);
  }
  process.stderr.write(stale.length === 0 ? 'Generated docs are up to date.\n' : `Wrote ${stale.join(', ')}\n`);
}

await main();
