/**
 * Renders rows for people (aligned text table) or programs (JSON, CSV).
 */

export type OutputFormat = 'table' | 'json' | 'csv';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['table', 'json', 'csv'];

type Row = Record<string, unknown>;

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (v instanceof Date) return v.toISOString();
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

const isNumeric = (v: unknown) => typeof v === 'number' || (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v));

export function formatTable(rows: readonly Row[], columns: readonly string[] = Object.keys(rows[0] ?? {})): string {
  if (columns.length === 0) return '(no rows)\n';
  const cells = rows.map((r) => columns.map((c) => cell(r[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => (row[i] ?? '').length)));
  const right = columns.map((c) => rows.length > 0 && rows.every((r) => r[c] === null || r[c] === undefined || isNumeric(r[c])));
  const pad = (s: string, i: number) => (right[i] ? s.padStart(widths[i] ?? 0) : s.padEnd(widths[i] ?? 0));
  const lines = [
    columns.map((c, i) => pad(c, i)).join(' | ').trimEnd(),
    widths.map((w) => '-'.repeat(w)).join('-+-'),
    ...cells.map((row) => row.map((v, i) => pad(v, i)).join(' | ').trimEnd()),
  ];
  lines.push(`(${rows.length} row${rows.length === 1 ? '' : 's'})`);
  return `${lines.join('\n')}\n`;
}

function csvCell(v: unknown): string {
  const s = cell(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function formatRows(rows: readonly Row[], format: OutputFormat, columns?: readonly string[]): string {
  const cols = columns ?? Object.keys(rows[0] ?? {});
  switch (format) {
    case 'table':
      return formatTable(rows, cols);
    case 'json':
      return `${JSON.stringify(rows.map((r) => Object.fromEntries(cols.map((c) => [c, r[c] ?? null]))), null, 2)}\n`;
    case 'csv':
      return `${[cols.map(csvCell).join(','), ...rows.map((r) => cols.map((c) => csvCell(r[c])).join(','))].join('\n')}\n`;
    default: {
      const never: never = format;
      throw new Error(`unknown format ${String(never)}`);
    }
  }
}
