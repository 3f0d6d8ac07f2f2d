/**
 * npm run query -- "SELECT …"  |  npm run query -- --file q.sql   [--format table|json|csv]
 */
import { readFile } from 'node:fs/promises';
import type { Argv, CommandModule } from 'yargs';
import { openDatabase } from '../../lib/db/database.ts';
import { formatRows, OUTPUT_FORMATS, type OutputFormat } from './format-table.ts';
import { commonOptions, print, runCommand, setup, type CommonArgs } from './common.ts';

interface QueryArgs extends CommonArgs {
  sql?: string;
  file?: string;
  format: OutputFormat;
}

export const queryCommand: CommandModule<object, QueryArgs> = {
  command: 'query [sql]',
  describe: 'Run SQL against the configured warehouse (embedded included) and print the result',
  builder: (y) =>
    commonOptions(y as Argv<object>)
      .positional('sql', { type: 'string', describe: 'the SQL to run' })
      .option('file', { type: 'string', describe: 'read the SQL from this file' })
      .option('format', { choices: OUTPUT_FORMATS, default: 'table' as OutputFormat })
      .check((a) => {
        if (Boolean(a.sql) === Boolean(a.file)) throw new Error('give either SQL or --file, not both and not neither');
        return true;
      }) as unknown as Argv<QueryArgs>,
  handler: (args) =>
    runCommand(args, async () => {
      const { config, log } = setup(args);
      const sql = args.file ? await readFile(args.file, 'utf8') : (args.sql ?? '');
      const db = await openDatabase(config, log);
      try {
        const conn = await db.connect();
        const results = await conn.script(sql).finally(() => conn.end());
        if (args.format === 'json' && results.length > 1) {
          // Several statements: still exactly one JSON document, a list of each statement's rows or command tag.
          print(
            `[${results.map((r) => (r.columns.length > 0 ? formatRows(r.rows, 'json', [...r.columns], r.types).trimEnd() : JSON.stringify({ command: r.command, rowCount: r.rowCount }))).join(',\n')}]`,
          );
          return;
        }
        for (const r of results) {
          if (r.columns.length > 0) print(formatRows(r.rows, args.format, [...r.columns], r.types));
          else print(`${r.command} ${r.rowCount ?? ''}`.trim());
        }
      } finally {
        await db.close();
      }
    }),
};
