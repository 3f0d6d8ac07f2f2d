/**
 * npm run verify: data-quality checks; exit 4 naming the failed checks.
 */
import type { Argv, CommandModule } from 'yargs';
import { pipeline } from '../../loaders/index.ts';
import { openDatabase } from '../../lib/db/database.ts';
import { assertChecksPassed, verifyWarehouse } from '../../lib/report/checks.ts';
import { commonOptions, formatOption, runCommand, setup, type CommonArgs, type FormatArgs } from './common.ts';
import { printVerifyReport } from './output.ts';

type VerifyArgs = CommonArgs & FormatArgs;

export const verifyCommand: CommandModule<object, VerifyArgs> = {
  command: 'verify',
  describe: 'Run the data-quality checks (keys unique and not NULL, references, nothing lost)',
  builder: (y) =>
    formatOption(
      commonOptions(y as Argv<object>),
      'the row counts, the song match rate and each check (name, passed, offending rows and a sample of them)',
      'each check (check, passed, offending_rows)',
    ),
  handler: (args) =>
    runCommand(args, async () => {
      const { config, log } = setup(args);
      const db = await openDatabase(config, log, { requireTables: pipeline.tables });
      try {
        const report = await verifyWarehouse(db, pipeline);
        printVerifyReport(report, args.format);
        assertChecksPassed(report);
      } finally {
        await db.close();
      }
    }),
};
