/**
 * The analytics team's queries: one .sql file each in lib/report/analytics/, its
 * first line a `-- Title: description` comment. Portable SQL; the few
 * engine-specific expressions are `{{name|arg|arg}}` markers the dialect renders.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Database } from '../db/database.ts';
import type { Dialect } from '../dialect/index.ts';
import { ConfigError } from '../errors.ts';

export const ANALYTICS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'analytics');

export interface AnalyticsQuery {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly file: string;
  readonly sql: string;
}

export function renderMarkers(sql: string, dialect: Dialect): string {
  return sql.replace(/\{\{(\w+)((?:\|[^|}]+)*)\}\}/g, (whole, name: string, rawArgs: string) => {
    const args = rawArgs.split('|').slice(1);
    if (name === 'minutes_between' && args.length === 2)
      return dialect.minutesBetween(args[0] as string, args[1] as string);
    if (name === 'days_between' && args.length === 2) return dialect.daysBetween(args[0] as string, args[1] as string);
    throw new Error(`unknown SQL marker ${whole}`);
  });
}

export function analyticsQueries(dialect: Dialect): AnalyticsQuery[] {
  return readdirSync(ANALYTICS_DIR)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((f) => {
      const text = readFileSync(path.join(ANALYTICS_DIR, f), 'utf8');
      const header = /^--\s*([^:]+):\s*(.*)$/m.exec(text);
      return {
        name: f.replace(/\.sql$/, ''),
        title: header?.[1]?.trim() ?? f,
        description: header?.[2]?.trim() ?? '',
        file: path.join('lib', 'report', 'analytics', f),
        sql: renderMarkers(text, dialect).trim(),
      };
    });
}

export interface AnalyticsAnswer {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly rows: Record<string, unknown>[];
  readonly columns: readonly string[];
  /** Each column's SQL type where the transport says it (typed --format json). */
  readonly types?: readonly string[] | undefined;
}

/** Runs the named queries (all when none are named) on a connection of their own. */
export async function runAnalytics(db: Database, names?: readonly string[]): Promise<AnalyticsAnswer[]> {
  const all = analyticsQueries(db.dialect);
  const unknown = (names ?? []).filter((n) => !all.some((q) => q.name === n));
  if (unknown.length > 0)
    throw new ConfigError([
      `--query: unknown ${unknown.join(', ')} (choose from ${all.map((q) => q.name).join(', ')})`,
    ]);
  const conn = await db.connect();
  try {
    const out: AnalyticsAnswer[] = [];
    for (const q of all.filter((q) => !names || names.length === 0 || names.includes(q.name))) {
      // One statement each; script() also says each column's type (typed --format json).
      const [result] = await conn.script(q.sql);
      out.push({
        name: q.name,
        title: q.title,
        description: q.description,
        rows: result?.rows ?? [],
        columns: result?.columns ?? [],
        types: result?.types,
      });
    }
    return out;
  } finally {
    await conn.end();
  }
}
