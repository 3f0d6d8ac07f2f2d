/**
 * npm run migrate -- up [NAME]|down [NAME]|redo|status|validate|create NAME [--count N] [--all] [--dry-run]
 *                    [--dialect redshift|postgres] [--replace-existing [--yes]] [--fake] [--ignore-checksums] [--format json]
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { openDatabase } from '../../lib/db/database.ts';
import { DIALECT_NAMES, dialectByName, type DialectName } from '../../lib/dialect/index.ts';
import { ConfigError, EXIT } from '../../lib/errors.ts';
import { ChecksumMismatchError, type ChecksumProblem } from '../../lib/migrate/checksums.ts';
import type { ExistingTable } from '../../lib/migrate/existing-tables.ts';
import {
  migrate,
  migrationNames,
  migrationScript,
  migrationStatus,
  type Direction,
  type MigrationStatus,
} from '../../lib/migrate/migrate.ts';
import { warnAboutNpmBanner } from './npm-run.ts';
import { formatRows } from './format-table.ts';
import {
  commonOptions,
  confirmAction,
  formatOption,
  print,
  printJson,
  runCommand,
  setup,
  type CommonArgs,
  type FormatArgs,
} from './common.ts';

interface MigrateArgs extends CommonArgs, FormatArgs {
  action: 'up' | 'down' | 'redo' | 'status' | 'validate' | 'create';
  name?: string;
  count?: number;
  all: boolean;
  dryRun: boolean;
  dialect?: DialectName;
  replaceExisting: boolean;
  yes: boolean;
  fake: boolean;
  ignoreChecksums: boolean;
}

/**
 * `up NAME` / `down NAME`: go to that migration. up applies the pending ones
 * up to and including it; down rolls back those applied after it (it stays
 * applied). NAME is a migration's full name, or the part after its timestamp
 * when that is unique. Returns the count to run (0: already there).
 */
export function countToReach(
  target: string,
  direction: Direction,
  all: readonly string[],
  applied: readonly string[],
): number {
  const matches = all.filter((n) => n === target || n.replace(/^\d+_/, '') === target);
  if (matches.length !== 1) {
    throw new ConfigError([
      `migrate ${direction} ${target}: ${matches.length === 0 ? 'no such migration' : `ambiguous (${matches.join(', ')})`}; see migrate status`,
    ]);
  }
  const name = matches[0] as string;
  if (direction === 'up') {
    const pending = all.filter((n) => !applied.includes(n));
    return pending.indexOf(name) + 1;
  }
  const at = applied.indexOf(name);
  if (at < 0)
    throw new ConfigError([
      `migrate down ${name}: it is not applied (down NAME rolls back the migrations applied after NAME)`,
    ]);
  return applied.length - 1 - at;
}

function statusLine(m: MigrationStatus): string {
  const mark =
    m.checksumState === 'changed'
      ? '  CHANGED since applied'
      : m.checksumState === 'missing'
        ? '  MISSING: applied, file gone'
        : '';
  return `${m.appliedAt ? 'applied ' : 'pending '} ${m.name}${m.appliedAt ? `  (${m.appliedAt})` : ''}${mark}`;
}

/** `migrate status --format json` (docs/operations.md, Machine-readable output). */
function statusJson(status: readonly MigrationStatus[]): object {
  return {
    applied: status
      .filter((m) => m.appliedAt)
      .map((m) => ({
        name: m.name,
        appliedAt: m.appliedAt,
        checksum: m.checksum ?? null,
        checksumState: m.checksumState,
      })),
    pending: status.filter((m) => !m.appliedAt).map((m) => ({ name: m.name, checksum: m.checksum ?? null })),
  };
}

const checksumProblems = (status: readonly MigrationStatus[]): ChecksumProblem[] =>
  status.flatMap((m) =>
    m.checksumState === 'changed' || m.checksumState === 'missing' ? [{ name: m.name, state: m.checksumState }] : [],
  );

/** --replace-existing asks first: the tables are dropped (their rows reload from S3). */
function confirmReplace(tables: readonly ExistingTable[], yes: boolean): Promise<boolean> {
  const names = tables.map((t) => t.table).join(', ');
  return confirmAction(
    `Drop ${names} (their rows reload from S3 with npm run load) and recreate them with this tool's columns?`,
    `--replace-existing drops ${names} and recreates them empty: add --yes to confirm when not at a terminal`,
    yes,
  );
}

const TEMPLATE = `// One table or one change per migration. Never edit a migration that has been applied: add a new one.
import type { MigrationBuilder } from 'node-pg-migrate';
import { dialectOf } from '../lib/migrate/table-migration.ts';

export async function up(pgm: MigrationBuilder): Promise<void> {
  const dialect = await dialectOf(pgm);
  void dialect; // render engine-specific DDL through the dialect, e.g. dialect.createTable({...})
  pgm.sql('SELECT 1');
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql('SELECT 1');
}
`;

/** `migrate create` writes into the checkout's migrations/ (the build compiles it into dist/). */
export async function createMigration(name: string, dir: string = path.resolve('migrations')): Promise<string> {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name))
    throw new ConfigError([`migration name: use lowercase letters, digits and dashes, got '${name}'`]);
  const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 17);
  const file = path.join(dir, `${stamp}_${name}.ts`);
  await writeFile(file, TEMPLATE, { flag: 'wx' });
  return file;
}

export const migrateCommand: CommandModule<object, MigrateArgs> = {
  command: 'migrate <action> [name]',
  describe: 'Create, change or roll back the warehouse schema',
  builder: (y) =>
    formatOption(
      commonOptions(y as Argv<object>),
      'status and validate: the applied migrations (name, when, checksum, checksum state) and the pending ones',
      'status and validate: one row per migration (name, state, applied_at, checksum_state)',
    )
      .positional('action', {
        choices: ['up', 'down', 'redo', 'status', 'validate', 'create'] as const,
        demandOption: true,
        describe:
          'up: apply pending (up NAME: up to NAME); down: roll back (one by default; down NAME: back to NAME); redo: down then up; status: applied and pending, with checksums; validate: fail if an applied migration changed; create: scaffold a migration',
      })
      .positional('name', {
        type: 'string',
        describe:
          'create: the new migration; up/down: the migration to go to (its full name or the part after the timestamp)',
      })
      .option('count', { type: 'number', describe: 'how many migrations (default: all for up, 1 for down/redo)' })
      .option('all', {
        type: 'boolean',
        default: false,
        describe: 'every migration (down --all removes the whole schema)',
      })
      .option('dry-run', {
        type: 'boolean',
        default: false,
        describe: 'print the SQL that would run instead of running it',
      })
      .option('dialect', {
        choices: DIALECT_NAMES,
        describe: 'with --dry-run: render for this engine without connecting',
      })
      .option('replace-existing', {
        type: 'boolean',
        default: false,
        describe:
          "up: drop and recreate the tables these migrations create that exist already (the seed's), after a confirmation; nothing else is dropped",
      })
      .option('yes', {
        type: 'boolean',
        default: false,
        describe: 'with --replace-existing or down --all: do not ask for confirmation',
      })
      .option('fake', {
        type: 'boolean',
        default: false,
        describe:
          "mark the migrations as applied (or rolled back) without running them (node-pg-migrate's --fake), for a schema made by hand",
      })
      .option('ignore-checksums', {
        type: 'boolean',
        default: false,
        describe:
          'up: run even though an applied migration changed or is missing (the changed checksums are recorded anew)',
      })
      .check((a) => {
        if (a.replaceExisting && a.action !== 'up') throw new Error('--replace-existing only goes with migrate up');
        if (a.replaceExisting && (a.dryRun || a.fake))
          throw new Error('--replace-existing does not go with --dry-run or --fake');
        if (a.dialect && !a.dryRun)
          throw new Error('--dialect only goes with --dry-run (a live run detects the engine)');
        if (a.count !== undefined && (!Number.isInteger(a.count) || a.count < 1))
          throw new Error('--count takes a whole number of 1 or more');
        if (a.action === 'create' && !a.name) throw new Error('migrate create needs a NAME');
        if (a.name && !['create', 'up', 'down'].includes(a.action))
          throw new Error(`migrate ${a.action} takes no NAME`);
        if (a.name && a.action !== 'create' && (a.count !== undefined || a.all))
          throw new Error('up NAME / down NAME go to that migration: no --count or --all with them');
        if (a.format !== 'table' && a.action !== 'status' && a.action !== 'validate')
          throw new Error(`--format ${a.format} goes with migrate status and validate`);
        if (a.ignoreChecksums && a.action !== 'up' && a.action !== 'redo')
          throw new Error('--ignore-checksums goes with migrate up');
        return true;
      }) as unknown as Argv<MigrateArgs>,
  handler: (args) =>
    runCommand(args, async () => {
      if (args.action === 'create') {
        print(await createMigration(args.name ?? ''));
        return;
      }
      const { config, log, faults } = setup(args);
      const count = args.all ? Infinity : args.count;
      const steps: { direction: Direction; count: number | undefined }[] =
        args.action === 'redo'
          ? [
              { direction: 'down', count: count ?? 1 },
              { direction: 'up', count: count ?? 1 },
            ]
          : args.action === 'status' || args.action === 'validate'
            ? []
            : [{ direction: args.action, count }];
      /** up NAME / down NAME as a count, once the applied migrations are known (none without a server for up; all for down). */
      const target = async (applied: () => Promise<string[]>) => {
        const step = steps[0];
        if (!args.name || !step || (args.action !== 'up' && args.action !== 'down')) return;
        step.count = countToReach(args.name, step.direction, await migrationNames(), await applied());
        if (step.count === 0) steps.length = 0;
      };

      if (args.dryRun) warnAboutNpmBanner(log, 'the SQL script');
      if (args.dryRun && args.dialect) {
        await target(async () => (args.action === 'down' ? migrationNames() : []));
        if (steps.length === 0) print(`-- Nothing to migrate ${args.action}: already at ${args.name}.`);
        for (const step of steps)
          print(
            await migrationScript(
              { dialect: dialectByName(args.dialect) },
              { ...step, log, schema: config.schema, fake: args.fake },
            ),
          );
        return;
      }
      // up creates the warehouse schema; status and dry runs only read, so a missing one is no error there.
      const creates = !args.dryRun && (args.action === 'up' || args.action === 'redo');
      const db = await openDatabase(config, log, {
        missingSchema: creates ? 'create' : args.dryRun || args.action === 'status' ? 'ignore' : 'refuse',
      });
      try {
        if (args.action === 'status' || args.action === 'validate') {
          const status = await migrationStatus(db);
          const problems = checksumProblems(status);
          if (args.format === 'json') printJson(statusJson(status));
          else if (args.format === 'csv')
            print(
              formatRows(
                status.map((m) => ({
                  name: m.name,
                  state: m.appliedAt ? 'applied' : 'pending',
                  applied_at: m.appliedAt ?? '',
                  checksum_state: m.checksumState ?? '',
                })),
                'csv',
              ),
            );
          else if (args.action === 'status') {
            for (const m of status) print(statusLine(m));
            const pending = status.filter((m) => !m.appliedAt).length;
            print(`${status.length - pending} applied, ${pending} pending (${db.dialect.name} at ${db.description})`);
            if (problems.length > 0)
              print(`${problems.length} applied migration(s) differ from their files: see migrate validate.`);
          } else if (problems.length === 0)
            print(`${status.filter((m) => m.appliedAt).length} applied migration(s) match their files.`);
          if (args.action === 'validate' && problems.length > 0) throw new ChecksumMismatchError(problems, false);
          return;
        }
        await target(async () => (await migrationStatus(db)).filter((m) => m.appliedAt).map((m) => m.name));
        if (steps.length === 0) print(`Nothing to migrate ${args.action}: already at ${args.name}.`);
        const dropsEverything = !args.dryRun && !args.fake && args.all && steps.some((s) => s.direction === 'down');
        if (
          dropsEverything &&
          !(await confirmAction(
            `migrate ${args.action} --all drops every table of ${db.description} (the star schema, the staging tables, the ledger and the run history)?`,
            `migrate ${args.action} --all drops every table and the run history: add --yes to confirm when not at a terminal`,
            args.yes,
          ))
        ) {
          log.info('Nothing done.');
          return EXIT.usage;
        }
        for (const step of steps) {
          if (args.dryRun) {
            print(await migrationScript({ db }, { ...step, log, fake: args.fake }));
            continue;
          }
          const replaceExisting = args.replaceExisting
            ? { confirm: (tables: readonly ExistingTable[]) => confirmReplace(tables, args.yes) }
            : undefined;
          const ran = await migrate(db, {
            ...step,
            log,
            faults,
            fake: args.fake,
            replaceExisting,
            ignoreChecksums: args.ignoreChecksums,
          });
          print(
            ran.length === 0
              ? `Nothing to migrate ${step.direction}.`
              : `${args.fake ? 'Marked as migrated (--fake, nothing run)' : 'Migrated'} ${step.direction}: ${ran.join(', ')}`,
          );
        }
      } finally {
        await db.close();
      }
    }),
};
