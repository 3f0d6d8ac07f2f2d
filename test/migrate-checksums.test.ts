// Migration integrity, as Flyway users expect it: each applied migration's
// checksum is recorded (migration_checksums); `migrate status` marks an
// applied migration whose file changed or disappeared, `migrate validate`
// fails naming it, `migrate up` refuses to run over it unless
// --ignore-checksums. And `migrate up NAME` / `down NAME` go to a migration.
import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { ChecksumMismatchError } from '../lib/migrate/checksums.ts';
import { MIGRATIONS_DIR, migrate, migrationStatus } from '../lib/migrate/migrate.ts';
import { silentLogger } from '../lib/log.ts';
import { runCli } from './helpers/cli.ts';
import { createTestDatabase } from './helpers/database.ts';
import { migratedDatabase } from './helpers/load.ts';
import { tempDir } from './helpers/temp-dir.ts';

const USERS = '20261122000300000_create-users';

interface StatusJson {
  applied: { name: string; appliedAt: string; checksum: string | null; checksumState: string }[];
  pending: { name: string; checksum: string | null }[];
}

test.serial(
  'through the CLI: checksums recorded at up; a changed or missing applied migration is marked, fails validate and stops up unless --ignore-checksums',
  async (t) => {
    const tdb = await migratedDatabase();
    t.teardown(() => tdb.drop());
    const env = { DATABASE_URL: tdb.url };
    const status = async () => {
      const r = await runCli(['migrate', 'status', '--format', 'json'], env);
      t.is(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as StatusJson;
    };

    const clean = await status();
    t.deepEqual(clean.pending, []);
    t.true(clean.applied.every((m) => m.checksumState === 'ok'));
    const source = await readFile(path.join(MIGRATIONS_DIR, `${USERS}.ts`), 'utf8');
    t.is(
      clean.applied.find((m) => m.name === USERS)?.checksum,
      createHash('sha256').update(source).digest('hex'),
      "the SHA-256 of the migration's file",
    );
    t.is((await runCli(['migrate', 'validate'], env)).code, 0);

    // The file of an applied migration changed (its recorded checksum differs), and one applied migration has no file.
    await tdb.query(`UPDATE migration_checksums SET checksum = 'recorded-before-an-edit' WHERE name = '${USERS}'`);
    await tdb.query("INSERT INTO pgmigrations (name, run_on) VALUES ('20261130000000000_deleted-file', now())");
    const marked = await runCli(['migrate', 'status'], env);
    t.regex(marked.stdout, new RegExp(`applied  ${USERS}  \\(.*\\)  CHANGED since applied`));
    t.regex(marked.stdout, /applied {2}20261130000000000_deleted-file .* MISSING: applied, file gone/);
    const states = await status();
    t.deepEqual(
      states.applied.filter((m) => m.checksumState !== 'ok').map((m) => [m.name, m.checksumState]),
      [
        [USERS, 'changed'],
        ['20261130000000000_deleted-file', 'missing'],
      ],
    );
    const validate = await runCli(['migrate', 'validate'], env);
    t.is(validate.code, 1);
    t.regex(validate.stderr, new RegExp(`${USERS}: its file has changed since it was applied`));
    t.regex(validate.stderr, /20261130000000000_deleted-file: applied, but its file is missing/);
    const validateJson = await runCli(['migrate', 'validate', '--format', 'json'], env);
    t.is(validateJson.code, 1);
    t.is(
      (JSON.parse(validateJson.stdout) as StatusJson).applied.length,
      clean.applied.length + 1,
      'one JSON document: the status',
    );

    await tdb.query("DELETE FROM pgmigrations WHERE name = '20261130000000000_deleted-file'");
    t.is((await runCli(['migrate', 'down'], env)).code, 0, 'down is not refused');
    const refused = await runCli(['migrate', 'up'], env);
    t.is(refused.code, 1);
    t.regex(
      refused.stderr,
      new RegExp(
        `Refusing to migrate: 1 applied migration\\(s\\) differ from the files:\\n  - ${USERS}: its file has changed since it was applied`,
      ),
    );
    t.regex(refused.stderr, /restore its file .* new migration .* --ignore-checksums/s);
    t.is((await status()).pending.length, 1, 'nothing ran');

    const forced = await runCli(['migrate', 'up', '--ignore-checksums'], env);
    t.is(forced.code, 0, forced.stderr);
    t.regex(forced.stderr, new RegExp(`--ignore-checksums: migrating over ${USERS} \\(changed\\)`));
    t.true(
      (await status()).applied.every((m) => m.checksumState === 'ok'),
      'the checksum is recorded anew',
    );

    // Applied before checksums were kept: shown as such, recorded by the next up.
    await tdb.query(`DELETE FROM migration_checksums WHERE name = '${USERS}'`);
    t.is((await status()).applied.find((m) => m.name === USERS)?.checksumState, 'unrecorded');
    t.is((await runCli(['migrate', 'validate'], env)).code, 0, 'not a mismatch');
    const adopt = await runCli(['migrate', 'up'], env);
    t.regex(adopt.stderr, /Recording the checksums of 1 migration\(s\) applied before checksums were kept/);
    t.is((await status()).applied.find((m) => m.name === USERS)?.checksumState, 'ok');
  },
);

test.serial('up NAME and down NAME go to that migration (full name or the part after the timestamp)', async (t) => {
  const tdb = await migratedDatabase();
  t.teardown(() => tdb.drop());
  const env = { DATABASE_URL: tdb.url };
  const applied = async () =>
    (JSON.parse((await runCli(['migrate', 'status', '--format', 'json'], env)).stdout) as StatusJson).applied.map((m) =>
      m.name.replace(/^\d+_/, ''),
    );
  const down = await runCli(['migrate', 'down', 'create-load-ledger'], env);
  t.is(down.code, 0, down.stderr);
  t.deepEqual(
    (await applied()).slice(-2),
    ['create-songplays', 'create-load-ledger'],
    'the named migration stays applied',
  );
  const up = await runCli(['migrate', 'up', '20261122001000000_staging-tables-unlogged'], env);
  t.is(up.code, 0, up.stderr);
  t.regex(
    up.stdout,
    /Migrated up: 20261122000900000_add-users-last-event-ts, 20261122001000000_staging-tables-unlogged$/m,
  );
  t.is((await applied()).at(-1), 'staging-tables-unlogged');
  t.regex(
    (await runCli(['migrate', 'up', 'staging-tables-unlogged'], env)).stdout,
    /Nothing to migrate up: already at staging-tables-unlogged/,
  );
  const unknown = await runCli(['migrate', 'up', 'no-such-migration'], env);
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /migrate up no-such-migration: no such migration/);
  t.is((await runCli(['migrate', 'up'], env)).code, 0);
});

test('a migration file edited after it was applied: status says changed, up refuses; a deleted one: missing', async (t) => {
  const dir = await tempDir(t, 'sparkify-migrations-');
  const file = (name: string, table: string) =>
    writeFile(
      path.join(dir, `${name}.js`),
      `export async function up(pgm) { pgm.sql('CREATE TABLE ${table} (a INTEGER)'); }\nexport async function down(pgm) { pgm.sql('DROP TABLE ${table}'); }\n`,
    );
  await file('1_first', 'first_t');
  await file('2_second', 'second_t');
  const tdb = await createTestDatabase();
  t.teardown(() => tdb.drop());
  const db = await tdb.open();
  t.teardown(() => db.close());
  await migrate(db, { direction: 'up', log: silentLogger, dir });
  t.deepEqual(
    (await migrationStatus(db, dir)).map((m) => m.checksumState),
    ['ok', 'ok'],
  );
  await file('1_first', 'first_t_renamed');
  await file('3_third', 'third_t');
  t.deepEqual(
    (await migrationStatus(db, dir)).map((m) => [m.name, m.checksumState]),
    [
      ['1_first', 'changed'],
      ['2_second', 'ok'],
      ['3_third', undefined],
    ],
  );
  const err = await t.throwsAsync(migrate(db, { direction: 'up', log: silentLogger, dir }), {
    instanceOf: ChecksumMismatchError,
  });
  t.deepEqual(err?.problems, [{ name: '1_first', state: 'changed' }]);
  t.deepEqual(
    (
      await tdb.query<{ n: string }>("select count(*) as n from information_schema.tables where table_name = 'third_t'")
    )[0]?.n,
    '0',
  );
  await rm(path.join(dir, '2_second.js'));
  t.deepEqual((await migrationStatus(db, dir)).find((m) => m.name === '2_second')?.checksumState, 'missing');
  // The changed file restored: the missing one alone stops up, and the pending one does not run.
  await file('1_first', 'first_t');
  const missing = await t.throwsAsync(migrate(db, { direction: 'up', log: silentLogger, dir }), {
    instanceOf: ChecksumMismatchError,
  });
  t.deepEqual(missing?.problems, [{ name: '2_second', state: 'missing' }]);
  t.regex(missing?.message ?? '', /Refusing to migrate: .*\n {2}- 2_second: applied, but its file is missing/);
  t.deepEqual(
    (
      await tdb.query<{ n: string }>("select count(*) as n from information_schema.tables where table_name = 'third_t'")
    )[0]?.n,
    '0',
  );
});

test('a checkout with CRLF line endings (Windows) has the same checksums as one with LF: nothing is reported changed', async (t) => {
  const dir = await tempDir(t, 'sparkify-migrations-');
  const source = (table: string) =>
    `export async function up(pgm) {\n  pgm.sql('CREATE TABLE ${table} (a INTEGER)');\n}\nexport async function down(pgm) {\n  pgm.sql('DROP TABLE ${table}');\n}\n`;
  await writeFile(path.join(dir, '1_first.js'), source('crlf_t'));
  const tdb = await createTestDatabase();
  t.teardown(() => tdb.drop());
  const db = await tdb.open();
  t.teardown(() => db.close());
  await migrate(db, { direction: 'up', log: silentLogger, dir });
  await writeFile(path.join(dir, '1_first.js'), source('crlf_t').replace(/\n/g, '\r\n'));
  t.deepEqual(
    (await migrationStatus(db, dir)).map((m) => [m.name, m.checksumState]),
    [['1_first', 'ok']],
  );
  await t.notThrowsAsync(migrate(db, { direction: 'up', log: silentLogger, dir }));
  // A real change still counts.
  await writeFile(path.join(dir, '1_first.js'), source('crlf_t2').replace(/\n/g, '\r\n'));
  t.deepEqual(
    (await migrationStatus(db, dir)).map((m) => m.checksumState),
    ['changed'],
  );
});
