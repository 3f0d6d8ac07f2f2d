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
  const right = columns.map(
    (c) => rows.length > 0 && rows.every((r) => r[c] === null || r[c] === undefined || isNumeric(r[c])),
  );
  const pad = (s: string, i: number) => (right[i] ? s.padStart(widths[i] ?? 0) : s.padEnd(widths[i] ?? 0));
  const lines = [
    columns
      .map((c, i) => pad(c, i))
      .join(' | ')
      .trimEnd(),
    widths.map((w) => '-'.repeat(w)).join('-+-'),
    ...cells.map((row) =>
      row
        .map((v, i) => pad(v, i))
        .join(' | ')
        .trimEnd(),
    ),
  ];
  lines.push(`(${rows.length} row${rows.length === 1 ? '' : 's'})`);
  return `${lines.join('\n')}\n`;
}

function csvCell(v: unknown): string {
  const s = cell(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * A value as `--format json` prints it: BIGINT and NUMERIC (which pg and the
 * Data API give as text, to lose nothing) as numbers where the number is
 * exact, else as text; TIMESTAMP (UTC in this warehouse, without a zone) and
 * TIMESTAMPTZ as ISO 8601 with the zone (Z).
 */
export function jsonValue(value: unknown, type: string | undefined): unknown {
  if (value instanceof Date) return value.toISOString();
  if (typeof value !== 'string') return value;
  switch (type) {
    case 'int8':
    case 'numeric':
    case 'float8':
    case 'float4': {
      const n = Number(value);
      const exact = /^-?\d+$/.test(value)
        ? Number.isSafeInteger(n)
        : Number.isFinite(n) && value.replace(/0+$/, '').replace(/\.$/, '') === String(n).replace(/\.0+$/, '');
      return exact && value.trim() !== '' ? n : value;
    }
    case 'timestamp':
    case 'timestamptz': {
      const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2}(?:\.\d+)?)([+-]\d{2}(?::?\d{2})?|Z)?$/.exec(value.trim());
      if (!m) return value;
      const zone =
        m[3] === undefined || m[3] === 'Z'
          ? 'Z'
          : m[3].length === 3
            ? `${m[3]}:00`
            : m[3].includes(':')
              ? m[3]
              : `${m[3].slice(0, 3)}:${m[3].slice(3)}`;
      return `${m[1]}T${m[2]}${zone}`;
    }
    default:
      return value;
  }
}

/** Rows as `--format json` gives them: each value typed by its column's SQL type (jsonValue). */
export function jsonRows(
  rows: readonly Row[],
  columns: readonly string[],
  types?: readonly string[],
): Record<string, unknown>[] {
  return rows.map((r) => Object.fromEntries(columns.map((c, i) => [c, jsonValue(r[c] ?? null, types?.[i])])));
}

export function formatRows(
  rows: readonly Row[],
  format: OutputFormat,
  columns?: readonly string[],
  types?: readonly string[],
): string {
  const cols = columns ?? Object.keys(rows[0] ?? {});
  switch (format) {
    case 'table':
      return formatTable(rows, cols);
    case 'json':
      return `${JSON.stringify(jsonRows(rows, cols, types), null, 2)}\n`;
    case 'csv':
      return `${[cols.map(csvCell).join(','), ...rows.map((r) => cols.map((c) => csvCell(r[c])).join(','))].join('\n')}\n`;
    default: {
      const never: never = format;
      throw new Error(`unknown format ${String(never)}`);
    }
  }
}
