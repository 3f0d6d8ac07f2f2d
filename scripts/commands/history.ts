/**
 * sparkify-warehouse history [--last N] [--format text|json]: the last runs
 * of `load` and `start` from the run record (load_runs), newest first.
 */
import type { Argv, CommandModule } from 'yargs';
import { openDatabase } from '../../lib/db/database.ts';
import { ConfigError } from '../../lib/errors.ts';
import { EMPTY_RUN, RUNS_TABLE, readRuns, runRow } from '../../lib/load/run-record.ts';
import {
  commonOptions,
  formatOption,
  print,
  printJson,
  runCommand,
  setup,
  type CommonArgs,
  type FormatArgs,
} from './common.ts';
import { costCells } from './cost-output.ts';
import { formatRows, formatTable } from './format-table.ts';

interface HistoryArgs extends CommonArgs, FormatArgs {
  last: number;
}

export const historyCommand: CommandModule<object, HistoryArgs> = {
  command: 'history',
  describe:
    'The last runs of load and start (load_runs): when, how long, outcome, rows per table, skipped records, error; on Redshift the estimate against the actual (time, money)',
  builder: (y) =>
    formatOption(
      commonOptions(y as Argv<object>),
      'the runs, newest first (run id, command, tool version, target, sources, start, end, seconds, outcome, steps with rows and seconds, skipped records, error, cost: the estimate and the actual)',
      'one row per run, as the table shows it',
    )
      .option('last', { type: 'number', default: 10, describe: 'how many runs' })
      .check((a) => {
        if (!Number.isInteger(a.last) || a.last < 1 || a.last > 10000)
          throw new Error('--last takes a whole number from 1 to 10000');
        return true;
      }) as unknown as Argv<HistoryArgs>,
  handler: (args) =>
    runCommand(args, async () => {
      const { config, log } = setup(args);
      const db = await openDatabase(config, log);
      try {
        const conn = await db.connect();
        const runs = await readRuns(conn, args.last).finally(() => conn.end());
        if (!runs)
          throw new ConfigError([
            `the warehouse has no ${RUNS_TABLE} table: run \`sparkify-warehouse migrate up\` first`,
          ]);
        if (args.format === 'json') printJson({ runs });
        else {
          // Runs on Redshift add their estimate and actual (time, money) after the other columns.
          const rows = runs.map((r) => ({ ...runRow(r), ...(runs.some((x) => x.cost) ? costCells(r.cost) : {}) }));
          if (args.format === 'csv') print(formatRows(rows, 'csv', Object.keys(rows[0] ?? runRow(EMPTY_RUN))));
          else print(runs.length === 0 ? 'No runs recorded yet.' : formatTable(rows));
        }
      } finally {
        await db.close();
      }
    }),
};
