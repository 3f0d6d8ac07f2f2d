/**
 * npm run verify: data-quality checks; exit 4 naming the failed checks.
 */
import type { Argv, CommandModule } from 'yargs';
import { runChecks, type VerifyReport } from '../../lib/report/checks.ts';
import { openDatabase, type Database } from '../../lib/db/database.ts';
import { CheckFailedError } from '../../lib/errors.ts';
import { formatTable } from './format-table.ts';
import { commonOptions, print, runCommand, setup, type CommonArgs } from './common.ts';

export async function verify(db: Database): Promise<VerifyReport> {
  const client = await db.connect();
  try {
    return await runChecks(client);
  } finally {
    await client.end();
  }
}

export function printVerifyReport(report: VerifyReport): void {
  print(formatTable(report.counts));
  const rate = report.songplays === 0 ? 0 : (100 * report.matched) / report.songplays;
  print(`Song match rate: ${report.matched} of ${report.songplays} songplays (${rate.toFixed(1)}%) have a song_id.\n`);
  for (const r of report.results) {
    print(`${r.failures === 0 ? 'PASS' : 'FAIL'}  ${r.check.name}${r.failures === 0 ? '' : `: ${r.failures} offending row(s)`}`);
    if (r.failures > 0) print(formatTable(r.sample).replace(/^/gm, '      '));
  }
}

export function assertPassed(report: VerifyReport): void {
  const failed = report.results.filter((r) => r.failures > 0);
  if (failed.length > 0) throw new CheckFailedError(`${failed.length} check(s) failed: ${failed.map((r) => r.check.name).join('; ')}`);
}

export const verifyCommand: CommandModule<object, CommonArgs> = {
  command: 'verify',
  describe: 'Run the data-quality checks (keys unique and not NULL, references, nothing lost)',
  builder: (y) => commonOptions(y as Argv<object>),
  handler: (args) =>
    runCommand(args, async () => {
      const { config, log } = setup(args);
      const db = await openDatabase(config, log);
      try {
        const report = await verify(db);
        printVerifyReport(report);
        assertPassed(report);
      } finally {
        await db.close();
      }
    }),
};
