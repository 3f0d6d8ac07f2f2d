/**
 * npm run migrate -- up|down|redo|status|create NAME [--count N] [--all] [--dry-run] [--dialect redshift|postgres]
 *                    [--replace-existing [--yes]] [--fake]
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { Argv, CommandModule } from 'yargs';
import { openDatabase } from '../../lib/db/database.ts';
import { DIALECT_NAMES, dialectByName, type DialectName } from '../../lib/dialect/index.ts';
import { ConfigError } from '../../lib/errors.ts';
import type { ExistingTable } from '../../lib/migrate/existing-tables.ts';
import { MIGRATIONS_DIR, migrate, migrationScript, migrationStatus, type Direction } from '../../lib/migrate/migrate.ts';
import { commonOptions, print, runCommand, setup, type CommonArgs } from './common.ts';

interface MigrateArgs extends CommonArgs {
  action: 'up' | 'down' | 'redo' | 'status' | 'create';
  name?: string;
  count?: number;
  all: boolean;
  dryRun: boolean;
  dialect?: DialectName;
  replaceExisting: boolean;
  yes: boolean;
  fake: boolean;
}

/** --replace-existing asks first: the tables are dropped (their rows reload from S3). */
async function confirmReplace(tables: readonly ExistingTable[], yes: boolean): Promise<boolean> {
  const names = tables.map((t) => t.table).join(', ');
  if (yes) return true;
  if (!process.stdin.isTTY) throw new ConfigError([`--replace-existing drops ${names} and recreates them empty: add --yes to confirm when not at a terminal`]);
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await rl.question(`Drop ${names} (their rows reload from S3 with npm run load) and recreate them with this tool's columns? Type yes to confirm: `);
  rl.close();
  return answer.trim().toLowerCase() === 'yes';
}

const TEMPLATE = `// One table or one change per migration. Never edit a migration that has been applied: add a new one.
import type { MigrationBuilder } from 'node-pg-migrate';
import { dialectOf } from '../../lib/migrate/table-migration.ts';

export async function up(pgm: MigrationBuilder): Promise<void> {
  const dialect = await dialectOf(pgm);
  void dialect; // render engine-specific DDL through the dialect, e.g. dialect.createTable({...})
  pgm.sql('SELECT 1');
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql('SELECT 1');
}
`;

export async function createMigration(name: string, dir: string = MIGRATIONS_DIR): Promise<string> {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) throw new ConfigError([`migration name: use lowercase letters, digits and dashes, got '${name}'`]);
  const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 17);
  const file = path.join(dir, `${stamp}_${name}.ts`);
  await writeFile(file, TEMPLATE, { flag: 'wx' });
  return file;
}

export const migrateCommand: CommandModule<object, MigrateArgs> = {
  command: 'migrate <action> [name]',
  describe: 'Create, change or roll back the warehouse schema',
  builder: (y) =>
    commonOptions(y as Argv<object>)
      .positional('action', { choices: ['up', 'down', 'redo', 'status', 'create'] as const, demandOption: true, describe: 'up: apply pending; down: roll back (one by default); redo: down then up; status: applied and pending; create: scaffold a migration' })
      .positional('name', { type: 'string', describe: 'name of the migration to create' })
      .option('count', { type: 'number', describe: 'how many migrations (default: all for up, 1 for down/redo)' })
      .option('all', { type: 'boolean', default: false, describe: 'every migration (down --all removes the whole schema)' })
      .option('dry-run', { type: 'boolean', default: false, describe: 'print the SQL that would run instead of running it' })
      .option('dialect', { choices: DIALECT_NAMES, describe: 'with --dry-run: render for this engine without connecting' })
      .option('replace-existing', { type: 'boolean', default: false, describe: "up: drop and recreate the tables these migrations create that exist already (the seed's), after a confirmation; nothing else is dropped" })
      .option('yes', { type: 'boolean', default: false, describe: 'with --replace-existing: do not ask for confirmation' })
      .option('fake', { type: 'boolean', default: false, describe: "mark the migrations as applied (or rolled back) without running them (node-pg-migrate's --fake), for a schema made by hand" })
      .check((a) => {
        if (a.replaceExisting && a.action !== 'up') throw new Error('--replace-existing only goes with migrate up');
        if (a.replaceExisting && (a.dryRun || a.fake)) throw new Error('--replace-existing does not go with --dry-run or --fake');
        if (a.dialect && !a.dryRun) throw new Error('--dialect only goes with --dry-run (a live run detects the engine)');
        if (a.count !== undefined && (!Number.isInteger(a.count) || a.count < 1)) throw new Error('--count takes a whole number of 1 or more');
        if (a.action === 'create' && !a.name) throw new Error('migrate create needs a NAME');
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
          ? [{ direction: 'down', count: count ?? 1 }, { direction: 'up', count: count ?? 1 }]
          : args.action === 'status'
            ? []
            : [{ direction: args.action, count }];

      if (args.dryRun && args.dialect) {
        for (const step of steps) print(await migrationScript({ dialect: dialectByName(args.dialect) }, { ...step, log, schema: config.schema, fake: args.fake }));
        return;
      }
      // up creates the warehouse schema; status and dry runs only read, so a missing one is no error there.
      const creates = !args.dryRun && (args.action === 'up' || args.action === 'redo');
      const db = await openDatabase(config, log, { missingSchema: creates ? 'create' : args.dryRun || args.action === 'status' ? 'ignore' : 'refuse' });
      try {
        if (args.action === 'status') {
          const status = await migrationStatus(db);
          for (const m of status) print(`${m.appliedAt ? 'applied ' : 'pending '} ${m.name}${m.appliedAt ? `  (${m.appliedAt})` : ''}`);
          const pending = status.filter((m) => !m.appliedAt).length;
          print(`${status.length - pending} applied, ${pending} pending (${db.dialect.name} at ${db.description})`);
          return;
        }
        for (const step of steps) {
          if (args.dryRun) {
            print(await migrationScript({ db }, { ...step, log, fake: args.fake }));
            continue;
          }
          const replaceExisting = args.replaceExisting ? { confirm: (tables: readonly ExistingTable[]) => confirmReplace(tables, args.yes) } : undefined;
          const ran = await migrate(db, { ...step, log, faults, fake: args.fake, replaceExisting });
          print(ran.length === 0 ? `Nothing to migrate ${step.direction}.` : `${args.fake ? 'Marked as migrated (--fake, nothing run)' : 'Migrated'} ${step.direction}: ${ran.join(', ')}`);
        }
      } finally {
        await db.close();
      }
    }),
};
