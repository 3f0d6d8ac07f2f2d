/**
 * npm run report [-- --out DIR] [--png FILE] [--mermaid]: the analytics team's
 * page (charts, schema diagram, checks and loads) as one self-contained
 * OUT/index.html; prints its file:// address.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Argv, CommandModule } from 'yargs';
import { pipeline } from '../../loaders/index.ts';
import { openDatabase } from '../../lib/db/database.ts';
import { CHROMIUM_PATH } from '../../lib/report/page/chromium.ts';
import { erdMermaid } from '../../lib/report/page/erd-mermaid.ts';
import { loadSchemaModel } from '../../lib/report/page/schema-model.ts';
import { defaultReportDir, writeReportPage } from '../../lib/report/report-page.ts';
import { sourceReaderFor } from '../../lib/sources/source-objects.ts';
import { commonOptions, print, runCommand, setup, type CommonArgs } from './common.ts';
import { freshnessOptions, thresholdsOf, type FreshnessArgs } from './freshness-options.ts';

interface ReportArgs extends CommonArgs, FreshnessArgs {
  out?: string;
  png?: string;
  pngHeight?: number;
  browser: string;
  mermaid: boolean;
  format: 'table' | 'json';
}

export const reportCommand: CommandModule<object, ReportArgs> = {
  command: 'report',
  describe: 'Write the analytics report: one self-contained HTML page of charts, the schema and the checks',
  builder: (y) =>
    freshnessOptions(commonOptions(y as Argv<object>))
      .option('out', {
        type: 'string',
        describe: 'folder for index.html (default: WAREHOUSE_DIR/report, i.e. .warehouse/report)',
      })
      .option('png', {
        type: 'string',
        describe: 'also save a screenshot of the page to this PNG file (needs Chromium)',
      })
      .option('png-height', { type: 'number', describe: 'screenshot only the top of the page, this many pixels tall' })
      .option('browser', { type: 'string', default: CHROMIUM_PATH, describe: 'the Chromium executable for --png' })
      .option('mermaid', {
        type: 'boolean',
        default: false,
        describe: 'print the schema diagram as Mermaid text (for the docs) and exit; needs no database',
      })
      .option('format', {
        choices: ['table', 'json', 'text'] as const,
        default: 'table' as const,
        coerce: (f: string) => (f === 'text' ? 'table' : f),
        describe: 'table: the page address (and the Mermaid text); json: one JSON document with them',
      }) as unknown as Argv<ReportArgs>,
  handler: (args) =>
    runCommand(args, async () => {
      if (args.mermaid) {
        const mermaid = erdMermaid(await loadSchemaModel(pipeline));
        print(args.format === 'json' ? JSON.stringify({ mermaid }) : mermaid);
        return;
      }
      const { config, log } = setup(args);
      const thresholds = thresholdsOf(args);
      const db = await openDatabase(config, log, { requireTables: pipeline.tables });
      let url: string;
      try {
        // The page's freshness part lists the configured sources (an unreadable one is shown as unknown).
        const reader = sourceReaderFor(config);
        url = await writeReportPage(db, args.out ?? defaultReportDir(config), pipeline, log, {
          reader,
          sources: config.sources,
          thresholds,
        });
      } finally {
        await db.close();
      }
      if (args.format !== 'json') print(url);
      const screenshot = args.png ? path.resolve(args.png) : undefined;
      if (screenshot) {
        // playwright-core is loaded only for --png.
        const { screenshotReport } = await import('../../lib/report/page/screenshot.ts');
        await screenshotReport(fileURLToPath(url), screenshot, {
          browser: args.browser,
          ...(args.pngHeight ? { height: args.pngHeight } : {}),
        });
        log.info(`Screenshot: ${screenshot}`);
      }
      // stdout is exactly one JSON document.
      if (args.format === 'json')
        print(JSON.stringify({ report: url, file: fileURLToPath(url), ...(screenshot ? { screenshot } : {}) }));
    }),
};
