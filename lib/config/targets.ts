/**
 * Named targets: several warehouses side by side in one INI file (read by
 * lib/config/ini-file.ts, configparser's syntax), the way dbt profiles and
 * Flyway environments keep dev, a shared server and production together:
 *
 *   [target.dev]
 *   # nothing set: the embedded PostgreSQL
 *
 *   [target.shared]
 *   DATABASE_URL = postgres://alice@pg.internal:5432/warehouse?sslmode=verify-full
 *   WAREHOUSE_SCHEMA = dev_alice
 *
 *   [target.prod]
 *   DATABASE_URL = redshift-data://sparkify-wg/dev
 *   IAM_ROLE_ARN = arn:aws:iam::123456789012:role/sparkify-redshift-s3-read
 *
 * Each section holds the same settings as .env (uppercase names; a value may
 * be quoted). `--target NAME` or SPARKIFY_TARGET selects one; the file is
 * SPARKIFY_TARGETS_FILE, else sparkify.ini in the working folder.
 */
import { ConfigError } from '../errors.ts';
import { unquote } from './dwh-cfg.ts';
import { parseIni } from './ini-file.ts';

export const DEFAULT_TARGETS_FILE = 'sparkify.ini';
const PREFIX = 'target.';

/** The names of the targets a file defines, in file order. */
export function targetNames(text: string, file: string): string[] {
  return parseIni(text, file)
    .filter((s) => s.name.toLowerCase().startsWith(PREFIX))
    .map((s) => s.name.slice(PREFIX.length));
}

/** The settings of target `name` (section [target.NAME], compared case-insensitively); every problem at once. */
export function targetSettings(text: string, file: string, name: string): Record<string, string> {
  const sections = parseIni(text, file);
  const section = sections.find((s) => s.name.toLowerCase() === `${PREFIX}${name.toLowerCase()}`);
  if (!section) {
    const known = targetNames(text, file);
    throw new ConfigError([
      `target ${name}: ${file} has no [target.${name}] section (${known.length > 0 ? `its targets: ${known.join(', ')}` : 'it defines no [target.NAME] section'})`,
    ]);
  }
  const problems: string[] = [];
  const settings: Record<string, string> = {};
  for (const entry of section.entries) {
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(entry.key))
      problems.push(
        `${file}:${entry.line}: [${section.name}] ${entry.key}: a setting name is letters, digits and _ (as in .env)`,
      );
    else settings[entry.key.toUpperCase()] = unquote(entry.value);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return settings;
}
