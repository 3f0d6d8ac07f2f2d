/**
 * Builds the report: reads the warehouse, renders every chart and the schema
 * diagram to SVG, and writes one self-contained index.html.
 */
import path from 'node:path';
import type { Database } from '../../db/database.ts';
import type { Pipeline } from '../../load/steps.ts';
import { makeDir, replaceFile } from '../../owned-files.ts';
import { CHARTS, narrowSpec, renderSvg } from './charts.ts';
import { erdSvg } from './erd-svg.ts';
import { renderPage, type RenderedChart } from './html.ts';
import { collectReportData, type ReportData } from './report-data.ts';
import { loadSchemaModel, type SchemaModel } from './schema-model.ts';

export async function renderCharts(data: ReportData): Promise<RenderedChart[]> {
  const rows = Object.fromEntries([...data.queries].map(([name, r]) => [name, r.rows]));
  const out: RenderedChart[] = [];
  for (const def of CHARTS) {
    const { spec, marks } = def.build(rows);
    out.push({
      id: def.id,
      title: def.title,
      caption: def.caption,
      marks,
      ...(spec ? { svg: await renderSvg(spec), narrowSvg: await renderSvg(narrowSpec(spec)) } : {}),
      sql: def.queries.map((name) => {
        const q = data.queries.get(name)?.query;
        return { file: q?.file ?? name, sql: q?.sql ?? '' };
      }),
    });
  }
  return out;
}

export async function renderReport(data: ReportData, schema: SchemaModel): Promise<string> {
  return renderPage({ data, charts: await renderCharts(data), erdSvg: erdSvg(schema), tablesNotDrawn: schema.others });
}

/** Writes OUT_DIR/index.html (replaced whole, never half-written) and returns its path. */
export async function writeReport(db: Database, outDir: string, pipeline: Pipeline): Promise<string> {
  const html = await renderReport(await collectReportData(db, pipeline), await loadSchemaModel(pipeline));
  // The folder may be anyone's (--out): its temp file is created exclusively, under a random name (lib/owned-files.ts).
  await makeDir(outDir, 0o755);
  const file = path.resolve(outDir, 'index.html');
  await replaceFile(file, html, 0o644);
  return file;
}
