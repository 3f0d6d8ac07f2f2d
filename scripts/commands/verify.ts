/**
 * npm run verify: data-quality checks; exit 4 naming the failed checks.
 */
import type { Argv, CommandModule } from 'yargs';
import { pipeline } from '../../loaders/index.ts';
import { openDatabase } from '../../lib/db/database.ts';
import { assertChecksPassed, verifyWarehouse } from '../../lib/report/checks.ts';
import { commonOptions, runCommand, setup, type CommonArgs } from './common.ts';
import { printVerifyReport } from './output.ts';

export const verifyCommand: CommandModule<object, CommonArgs> = {
  command: 'verify',
  describe: 'Run the data-quality checks (keys unique and not NULL, references, nothing lost)',
  builder: (y) => commonOptions(y as Argv<object>),
  handler: (args) =>
    runCommand(args, async () => {
      const { config, log } = setup(args);
      const db = await openDatabase(config, log);
      try {
        const report = await verifyWarehouse(db, pipeline);
        printVerifyReport(report);
        assertChecksPassed(report);
      } finally {
        await db.close();
      }
    }),
};
