/**
 * npm run analyze [-- --format table|json|csv] [--query NAME…]
 */
import type { Argv, CommandModule } from 'yargs';
import { pipeline } from '../../loaders/index.ts';
import { runAnalytics } from '../../lib/report/analytics.ts';
import { openDatabase } from '../../lib/db/database.ts';
import { formatRows, jsonRows, OUTPUT_FORMATS, type OutputFormat } from './format-table.ts';
import { commonOptions, print, runCommand, setup, type CommonArgs } from './common.ts';

interface AnalyzeArgs extends CommonArgs {
  format: OutputFormat;
  query?: string[];
}

export const analyzeCommand: CommandModule<object, AnalyzeArgs> = {
  command: 'analyze',
  describe: "Run the analytics team's queries (lib/report/analytics/*.sql)",
  builder: (y) =>
    commonOptions(y as Argv<object>)
      .option('format', { choices: OUTPUT_FORMATS, default: 'table' as OutputFormat, describe: 'output format' })
      .option('query', {
        type: 'string',
        array: true,
        describe: 'only these queries (file names without .sql)',
      }) as unknown as Argv<AnalyzeArgs>,
  handler: (args) =>
    runCommand(args, async () => {
      const { config, log } = setup(args);
      const db = await openDatabase(config, log, { requireTables: pipeline.tables });
      try {
        const results = await runAnalytics(db, args.query);
        if (args.format === 'json') {
          print(
            JSON.stringify(
              Object.fromEntries(results.map((r) => [r.name, jsonRows(r.rows, r.columns, r.types)])),
              null,
              2,
            ),
          );
          return;
        }
        for (const r of results) {
          print(args.format === 'csv' ? `# ${r.name}` : `## ${r.title}: ${r.description}`);
          print(formatRows(r.rows, args.format));
        }
      } finally {
        await db.close();
      }
    }),
};
