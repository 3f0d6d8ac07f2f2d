/**
 * How JSON fields map to staging columns, as in Redshift's COPY … FORMAT AS JSON:
 * a JSONPaths file (by position; `$.key` or `$['key']`, nested keys and array
 * indexes), or 'auto' (top-level keys equal to column names, case-sensitive),
 * or 'auto ignorecase'.
 */
import { InputError } from '../errors.ts';

export type PathSegment = string | number;

export type JsonMapping =
  | { readonly kind: 'paths'; readonly paths: readonly (readonly PathSegment[])[]; readonly source: string }
  | { readonly kind: 'auto'; readonly ignoreCase: boolean };

/** Parses one JSONPath expression such as `$['userId']`, `$.a.b` or `$.a[0]`. */
export function parseJsonPath(expr: string): PathSegment[] | string {
  if (!expr.startsWith('$')) return "a JSONPath must start with '$'";
  const out: PathSegment[] = [];
  let i = 1;
  while (i < expr.length) {
    const c = expr[i];
    if (c === '.') {
      const m = /^[A-Za-z0-9_$@-]+/.exec(expr.slice(i + 1));
      if (!m) return `expected a key after '.' at position ${i + 1}`;
      out.push(m[0]);
      i += 1 + m[0].length;
    } else if (c === '[') {
      const rest = expr.slice(i);
      const quoted = /^\[\s*(['"])((?:\\.|(?!\1).)*)\1\s*\]/.exec(rest);
      const index = /^\[\s*(\d+)\s*\]/.exec(rest);
      if (quoted) {
        out.push((quoted[2] ?? '').replace(/\\(.)/g, '$1'));
        i += quoted[0].length;
      } else if (index) {
        out.push(Number(index[1]));
        i += index[0].length;
      } else return `expected ['key'] or [index] at position ${i + 1}`;
    } else return `unexpected '${c}' at position ${i + 1}`;
  }
  if (out.length === 0) return "the path '$' names no field";
  return out;
}

/** Reads a JSONPaths document and checks it against the table's columns (count). */
export function parseJsonPathsFile(text: string, source: string, columns: readonly string[]): JsonMapping {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new InputError(`${source}: the JSONPaths file is not valid JSON: ${(err as Error).message}`, [
      { file: source, line: 1, reason: `not valid JSON: ${(err as Error).message}` },
    ]);
  }
  const list = (doc as { jsonpaths?: unknown } | null)?.jsonpaths;
  if (!Array.isArray(list)) {
    // Redshift silently falls back to 'auto' here; we refuse, since that hides a typo.
    throw new InputError(`${source}: a JSONPaths file must be an object with a "jsonpaths" array`, [
      { file: source, line: 1, field: 'jsonpaths', reason: 'missing "jsonpaths" array' },
    ]);
  }
  const lines = text.split('\n');
  const lineOf = (expr: string) =>
    Math.max(1, lines.findIndex((l) => l.includes(JSON.stringify(expr).slice(1, -1))) + 1);
  const paths = list.map((expr, index) => {
    if (typeof expr !== 'string') throw new InputError(`${source}: jsonpaths[${index}] is not a string`);
    const parsed = parseJsonPath(expr);
    if (typeof parsed === 'string') {
      throw new InputError(`${source}:${lineOf(expr)}: jsonpaths[${index}] '${expr}': ${parsed}`, [
        { file: source, line: lineOf(expr), field: `jsonpaths[${index}]`, reason: parsed, value: expr },
      ]);
    }
    return parsed;
  });
  // Order: COPY maps by position, so a path naming another column's field is a mistake.
  const normalise = (name: string) => name.replace(/[^A-Za-z0-9]/g, '').toLowerCase();
  const byName = new Map(columns.map((c, i) => [normalise(c), i]));
  paths.forEach((segments, index) => {
    const last = segments[segments.length - 1];
    const named = typeof last === 'string' ? byName.get(normalise(last)) : undefined;
    if (named !== undefined && named !== index && index < columns.length) {
      const expr = String(list[index]);
      throw new InputError(
        `${source}:${lineOf(expr)}: jsonpaths[${index}] '${expr}' names the field of column ${columns[named]}, but position ${index + 1} is column ${columns[index]}: the paths are not in the table's column order`,
        [
          {
            file: source,
            line: lineOf(expr),
            field: `jsonpaths[${index}]`,
            reason: 'order does not match the table',
            value: expr,
          },
        ],
      );
    }
  });
  if (paths.length !== columns.length) {
    throw new InputError(
      `${source}: the JSONPaths file has ${paths.length} paths but the table has ${columns.length} columns (${columns.join(', ')}); COPY maps them by position`,
    );
  }
  return { kind: 'paths', paths, source };
}

/** Parses the LOG_JSONPATH / format setting into a mapping (a file is read by the caller). */
export function autoMapping(setting: string): JsonMapping | undefined {
  if (setting === 'auto') return { kind: 'auto', ignoreCase: false };
  if (setting === 'auto ignorecase') return { kind: 'auto', ignoreCase: true };
  return undefined;
}

/** Compiles a mapping into a function that picks each column's raw value from a record. */
export function compileMapping(
  mapping: JsonMapping,
  columns: readonly string[],
): (record: Record<string, unknown>) => unknown[] {
  if (mapping.kind === 'paths') {
    const paths = mapping.paths;
    if (paths.every((p) => p.length === 1)) {
      // The common case ($['key'] for every column): one property read per column.
      const keys = paths.map((p) => p[0] as string | number);
      return (record) => {
        const out = new Array<unknown>(keys.length);
        for (let i = 0; i < keys.length; i += 1)
          out[i] = (record as Record<string | number, unknown>)[keys[i] as string | number];
        return out;
      };
    }
    return (record) =>
      paths.map((segments) => {
        let v: unknown = record;
        for (const s of segments) {
          if (v === null || typeof v !== 'object') return undefined;
          v = (v as Record<string | number, unknown>)[s];
        }
        return v;
      });
  }
  if (!mapping.ignoreCase) return (record) => columns.map((c) => (Object.hasOwn(record, c) ? record[c] : undefined));
  const lower = columns.map((c) => c.toLowerCase());
  return (record) => {
    const byLower = new Map<string, unknown>();
    for (const k of Object.keys(record)) byLower.set(k.toLowerCase(), record[k]);
    return lower.map((c) => byLower.get(c));
  };
}

/**
 * The path that compileMapping's picker read column i's value from in this
 * record (for 'auto ignorecase': the key that won), to find its JSON text.
 */
export function sourcePathOf(
  mapping: JsonMapping,
  columns: readonly string[],
): (record: Record<string, unknown>, i: number) => readonly PathSegment[] | undefined {
  if (mapping.kind === 'paths') return (_record, i) => mapping.paths[i];
  if (!mapping.ignoreCase) return (_record, i) => (columns[i] === undefined ? undefined : [columns[i]]);
  return (record, i) => {
    const lower = columns[i]?.toLowerCase();
    let key: string | undefined;
    for (const k of Object.keys(record)) if (k.toLowerCase() === lower) key = k;
    return key === undefined ? undefined : [key];
  };
}

/** A readable name for column i's JSON field, for error messages. */
export function fieldName(mapping: JsonMapping, columns: readonly string[], i: number): string {
  if (mapping.kind === 'paths') {
    const segs = mapping.paths[i] ?? [];
    return `${segs.map((s) => (typeof s === 'number' ? `[${s}]` : s)).join('.')} (column ${columns[i]})`;
  }
  return columns[i] ?? `#${i}`;
}

/**
 * How column i is mapped, for a warning that it matched nothing: the
 * JSONPaths expression when the file was read, its position otherwise, or
 * the key 'auto' looks for.
 */
export function describeColumnMapping(
  format: string,
  columns: readonly string[],
  i: number,
  mapping?: JsonMapping,
): string {
  const auto = mapping?.kind === 'auto' ? mapping : autoMapping(format);
  if (auto?.kind === 'auto')
    return `'${format}' reads the top-level key "${columns[i] ?? ''}"${auto.ignoreCase ? ' in any case' : ''}`;
  const segments = mapping?.kind === 'paths' ? mapping.paths[i] : undefined;
  const path = segments ? ` ($${segments.map((s) => (typeof s === 'number' ? `[${s}]` : `['${s}']`)).join('')})` : '';
  return `jsonpaths[${i}]${path} of ${format}`;
}
