/**
 * The report page's part about the sources: the schema drift the last load
 * that staged found (load_runs.drift, lib/sources/drift.ts).
 */
import { driftRows } from '../../sources/drift.ts';
import type { DriftFindings } from '../../load/run-record.ts';
import { escapeHtml } from './html-escape.ts';

/** The drift of the latest run that recorded one. */
export interface LastDrift {
  readonly runId: string;
  readonly startedAt: string;
  readonly tables: readonly DriftFindings[];
}

/** `table`: the page's table renderer (html.ts rowsTable). */
export function driftSection(
  drift: LastDrift | undefined,
  table: (rows: Record<string, string | number>[]) => string,
): string {
  if (!drift) return '';
  const rows = drift.tables.flatMap(driftRows);
  const records = drift.tables.map((d) => `${d.table} ${d.records.toLocaleString('en-US')}`).join(', ');
  const when = `the load of ${escapeHtml(drift.startedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC'))} (run ${escapeHtml(drift.runId)}; records read: ${escapeHtml(records)})`;
  return `<h3 id="drift">Source keys (schema drift)</h3>
${
  rows.length === 0
    ? `<p class="note">No drift in ${when}: every key is mapped, of one type, and present.</p>`
    : `<p class="note">In ${when}: keys no column loads, keys whose type changes, mapped keys missing from records.</p>${table(rows)}`
}`;
}
