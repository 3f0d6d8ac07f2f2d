/**
 * Where the analytics team's page goes and how it is written (npm run report,
 * and npm start at the end). The page builder (lib/report/page/) loads vega
 * and vega-lite, which take a while: it is imported only when a page is written.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Config } from '../config/config.ts';
import type { Database } from '../db/database.ts';
import type { Pipeline } from '../load/steps.ts';
import type { Logger } from '../log.ts';
import type { FreshnessInput } from './page/report-data.ts';

export function defaultReportDir(config: Config): string {
  return path.join(config.warehouseDir, 'report');
}

/** Writes OUT_DIR/index.html and returns its file:// URL. */
/** `freshness`: the sources to show the newest data of (lib/report/freshness.ts); none: the page has no freshness part. */
export async function writeReportPage(
  db: Database,
  outDir: string,
  pipeline: Pipeline,
  log: Logger,
  freshness?: FreshnessInput,
): Promise<string> {
  log.info('Writing the report…');
  const { writeReport } = await import('./page/build.ts');
  return pathToFileURL(await writeReport(db, outDir, pipeline, freshness)).href;
}
