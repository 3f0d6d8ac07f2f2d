// "A new star table is one migration, one loader and one line" (issue 24),
// checked for real: a scratch copy of this repository gets a `sessions` table
// (a migration file, a loader file, its registration in loaders/index.ts, and
// nothing else), is built, and then the whole pipeline follows: migrate, the
// load (sessions filled), verify (its key and reference checks derived and
// passing), the report's diagram, the dry runs on both engines, the sample
// generator's counts, and the test files that list tables or count
// migrations and checks, run inside the copy.
import { execFile } from 'node:child_process';
import { cp, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { generate } from '../lib/sample/generator.ts';
import { PROJECT_DIR } from './helpers/cli.ts';
import { createTestDatabase, testServerUrl } from './helpers/database.ts';
import { fileScope, tempDir } from './helpers/temp-dir.ts';

const run = promisify(execFile);
const scope = fileScope();
let scratch = '';

const MIGRATION = `// sessions: one row per user session with plays (added by test/extra-table.test.ts).
import { bigint, integer, timestamp } from '../lib/dialect/table-def.ts';
import { tableMigration } from '../lib/migrate/table-migration.ts';

export const { up, down, table } = tableMigration({
  name: 'sessions',
  columns: [
    { name: 'session_id', type: integer, notNull: true },
    { name: 'user_id', type: integer, notNull: true },
    { name: 'plays', type: bigint },
    { name: 'started_at', type: timestamp },
  ],
  distribution: { style: 'key', key: 'user_id' },
  sortKey: ['started_at'],
  indexes: [['session_id', 'user_id']],
});
`;

const LOADER = `// sessions: one row per user session, from songplays.
import { loaderFile, type TransformStep } from '../lib/load/steps.ts';
import { upsertStep } from '../lib/load/upsert.ts';

export const sessions: TransformStep = upsertStep({
  table: 'sessions',
  file: loaderFile(import.meta.url),
  role: 'fact',
  description: 'sessions, one per user and session',
  key: ['session_id', 'user_id'],
  dependsOn: ['songplays'],
  references: [{ column: 'user_id', table: 'users', targetColumn: 'user_id', nullable: false }],
  distribution: { style: 'key', key: 'user_id' },
  columns: ['session_id', 'user_id', 'plays', 'started_at'],
  columnSources: {
    columns: {
      session_id: ['songplays.session_id'],
      user_id: ['songplays.user_id'],
      plays: ['songplays.songplay_id'],
      started_at: ['songplays.start_time'],
    },
    rows: ['songplays.session_id', 'songplays.user_id'],
  },
  select: \`SELECT session_id, user_id, COUNT(songplay_id) AS plays, MIN(start_time) AS started_at
FROM songplays
WHERE session_id IS NOT NULL AND user_id IS NOT NULL
GROUP BY session_id, user_id\`,
});
`;

/** The test files that count migrations or checks and list tables (they must follow without edits). */
const FOLLOWING_TESTS = [
  'test/pipeline.test.ts',
  'test/verify.test.ts',
  'test/migrate.test.ts',
  'test/existing-tables.test.ts',
  'test/migrate-redshift-path.test.ts',
  // The new table's columnSources are checked against its SQL, and its columns reach JSON keys.
  'test/lineage-declarations.test.ts',
];

test.before(async () => {
  scratch = await tempDir(scope, 'sw-extra-table-');
  // The repository as it is in the work tree (tracked and new files), without what is built or installed.
  const { stdout } = await run('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], {
    cwd: PROJECT_DIR,
    maxBuffer: 16 * 1024 * 1024,
  });
  for (const file of stdout.split('\0').filter(Boolean)) {
    await mkdir(path.dirname(path.join(scratch, file)), { recursive: true });
    await cp(path.join(PROJECT_DIR, file), path.join(scratch, file)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err; // deleted in the work tree, not yet in git
    });
  }
  await symlink(path.join(PROJECT_DIR, 'node_modules'), path.join(scratch, 'node_modules'), 'dir');
  // The three edits: a migration, a loader, and its registration (its import and one line).
  await writeFile(path.join(scratch, 'migrations', '20991231000000000_create-sessions.ts'), MIGRATION);
  await writeFile(path.join(scratch, 'loaders', 'sessions.ts'), LOADER);
  const index = path.join(scratch, 'loaders', 'index.ts');
  const registry = await readFile(index, 'utf8');
  const registered = registry
    .replace(
      "import { users } from './users.ts';",
      "import { users } from './users.ts';\nimport { sessions } from './sessions.ts';",
    )
    .replace(/transforms: \[([^\]]*)\]/, (_m, list: string) => `transforms: [${list}, sessions]`);
  if (registered === registry || !registered.includes(', sessions]'))
    throw new Error('loaders/index.ts: the registration could not be added');
  await writeFile(index, registered);
  await run(process.execPath, [path.join(scratch, 'scripts', 'build.mjs')], { cwd: scratch });
});

async function cli(
  args: readonly string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return run(process.execPath, [path.join(scratch, 'dist', 'scripts', 'cli.js'), ...args, '--env-file=/dev/null'], {
    cwd: scratch,
    env: { PATH: process.env['PATH'], HOME: process.env['HOME'], TMPDIR: process.env['TMPDIR'], ...env },
    maxBuffer: 64 * 1024 * 1024,
  }).then(
    (r) => ({ code: 0, ...r }),
    (err: { code?: number; stdout?: string; stderr?: string }) => ({
      code: typeof err.code === 'number' ? err.code : 1,
      stdout: err.stdout ?? '',
      stderr: err.stderr ?? '',
    }),
  );
}

test('the scratch copy with a sessions table: migrate, load, verify, report diagram, dry runs and generator counts follow', async (t) => {
  const tdb = await createTestDatabase();
  t.teardown(() => tdb.drop());
  const data = await tempDir(t, 'sw-extra-data-');
  // The sample generator (the same module in the copy) counts the tables it knows; the new one it does not.
  const expected: Record<string, number> = { ...(await generate({ songs: 200, events: 1500, seed: 7, out: data })) };

  const env = {
    DATABASE_URL: tdb.url,
    LOG_DATA: path.join(data, 'log_data'),
    SONG_DATA: path.join(data, 'song_data'),
    LOG_JSONPATH: path.join(data, 'log_json_path.json'),
  };
  const migrated = await cli(['migrate', 'up'], env);
  t.is(migrated.code, 0, migrated.stderr);
  const loaded = await cli(['load', '--format', 'json'], env);
  t.is(loaded.code, 0, loaded.stderr);
  const runDoc = JSON.parse(loaded.stdout) as { steps: { step: string; rows: number }[] };
  const step = runDoc.steps.find((s) => s.step === 'transform sessions');
  t.truthy(step, 'the load ran the new step');
  t.true((step?.rows ?? 0) > 0, 'and filled sessions');
  for (const table of ['songplays', 'users', 'songs', 'artists', 'time']) {
    t.is(
      runDoc.steps.find((s) => s.step === `transform ${table}`)?.rows,
      expected[table],
      `${table}: the generator's count`,
    );
  }

  const verified = await cli(['verify'], env);
  t.is(verified.code, 0, verified.stdout + verified.stderr);
  t.regex(verified.stdout, /PASS {2}sessions: session_id, user_id unique/);
  t.regex(verified.stdout, /PASS {2}sessions\.user_id in users/);

  const mermaid = await cli(['report', '--mermaid'], env);
  t.is(mermaid.code, 0, mermaid.stderr);
  t.regex(mermaid.stdout, /\bsessions \{/);
  t.regex(mermaid.stdout, /users \|\|--o\{ sessions/);

  for (const dialect of ['redshift', 'postgres']) {
    const plan = await cli(['load', '--dry-run', '--dialect', dialect], {
      IAM_ROLE_ARN: 'arn:aws:iam::123456789012:role/r',
    });
    t.is(plan.code, 0, plan.stderr);
    t.regex(plan.stdout, /-- step: transform sessions: sessions, one per user and session\nBEGIN;/, dialect);
    t.regex(plan.stdout, /MERGE INTO sessions/, dialect);
    const ddl = await cli(['migrate', 'up', '--dry-run', '--dialect', dialect], {});
    t.is(ddl.code, 0, ddl.stderr);
    t.regex(ddl.stdout, /CREATE TABLE sessions \(/, dialect);
  }
});

test('the test files that count migrations and checks and list tables pass in the scratch copy', async (t) => {
  const ava = path.join(scratch, 'node_modules', 'ava', 'entrypoints', 'cli.mjs');
  const r = await run(process.execPath, [ava, ...FOLLOWING_TESTS], {
    cwd: scratch,
    env: { ...process.env, TEST_DATABASE_URL: testServerUrl() },
    maxBuffer: 64 * 1024 * 1024,
  }).then(
    (x) => ({ code: 0, out: x.stdout + x.stderr }),
    (err: { code?: number; stdout?: string; stderr?: string }) => ({
      code: err.code ?? 1,
      out: `${err.stdout ?? ''}${err.stderr ?? ''}`,
    }),
  );
  if (process.env['EXTRA_TABLE_LOG']) await writeFile(process.env['EXTRA_TABLE_LOG'], r.out);
  t.is(r.code, 0, r.out.slice(-6000));
  t.regex(r.out, /\d+ tests passed/);
});
