/**
 * What npm does to a command line when the command runs as an npm script
 * (`npm run load …`), caught where it can be:
 * - `npm run load --incremental` (no `--`): npm takes `--incremental` as a
 *   setting of its own, drops it from the command line and exports it as
 *   npm_config_incremental=true. A flag of this command found there, and not
 *   on the command line, is refused (exit 2) with the line to type instead:
 *   running a full load when an incremental one was asked is worse than
 *   stopping.
 * - npm prints its own banner (`> sparkify-warehouse@… load`) on stdout before
 *   the command's output, unless `npm run --silent`: when stdout is a file or
 *   a pipe and holds a script or a JSON document, say so on stderr.
 */
import { ConfigError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';

type Env = Readonly<Record<string, string | undefined>>;

const runByNpm = (env: Env) => env['npm_lifecycle_event'] !== undefined;

/**
 * Flags that are npm settings of its own too, which a user may keep in an
 * .npmrc (yes=true for npx, target=… for node-gyp): found in npm's
 * environment, they say nothing about this command line, so they are not
 * taken as swallowed flags.
 */
const NPM_OWN = new Set([
  'yes',
  'dry-run',
  'target',
  'all',
  'only',
  'json',
  'force',
  'global',
  'browser',
  'verbose',
  'quiet',
  'config',
]);

/** The flags of `declared` (yargs' camel-case and kebab-case keys) that npm swallowed: in the environment, not on the command line. */
export function swallowedByNpm(declared: readonly string[], argv: readonly string[], env: Env): string[] {
  if (!runByNpm(env)) return [];
  const kebab = [
    ...new Set(declared.filter((k) => k.length > 1 && !/[A-Z]/.test(k) && k !== '$0' && k !== '_' && !NPM_OWN.has(k))),
  ];
  return kebab.filter((name) => {
    const value = env[`npm_config_${name.replace(/-/g, '_')}`];
    if (value === undefined || value === '') return false;
    return !argv.some((a) => a === `--${name}` || a.startsWith(`--${name}=`) || a === `--no-${name}`);
  });
}

/** Refuses a command line whose flags npm swallowed (see above). */
export function refuseSwallowedFlags(declared: readonly string[], argv: readonly string[], env: Env): void {
  const swallowed = swallowedByNpm(declared, argv, env);
  if (swallowed.length === 0) return;
  const script = env['npm_lifecycle_event'] ?? 'SCRIPT';
  const flags = swallowed.map((name) => {
    const value = env[`npm_config_${name.replace(/-/g, '_')}`];
    return value === 'true' ? `--${name}` : `--${name} ${value}`;
  });
  throw new ConfigError([
    `npm took ${flags.join(' ')} as its own setting${swallowed.length > 1 ? 's' : ''}, so this command never saw ${swallowed.length > 1 ? 'them' : 'it'}: put \`--\` before the command's flags, as in \`npm run ${script} -- ${flags.join(' ')}\``,
  ]);
}

/** A dry run's script or a JSON document written through `npm run` without --silent: npm's banner lines precede it on stdout. */
export function warnAboutNpmBanner(log: Logger, what: string, env: Env = process.env): void {
  if (!runByNpm(env) || process.stdout.isTTY || env['npm_config_loglevel'] === 'silent') return;
  const script = env['npm_lifecycle_event'] ?? 'SCRIPT';
  log.warn(
    `npm printed its own "> ${env['npm_package_name'] ?? 'sparkify-warehouse'}@… ${script}" lines on stdout before ${what}: use \`npm run --silent ${script} -- …\` (or \`npx sparkify-warehouse ${script} …\`) to get ${what} alone.`,
  );
}
