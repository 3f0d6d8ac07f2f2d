/**
 * The analytics team's queries: one .sql file each in lib/analytics/, its
 * first line a `-- Title: description` comment. Portable SQL; the few
 * engine-specific expressions are `{{name|arg|arg}}` markers the dialect renders.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Dialect } from '../dialect/index.ts';

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
    if (name === 'minutes_between' && args.length === 2) return dialect.minutesBetween(args[0] as string, args[1] as string);
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
