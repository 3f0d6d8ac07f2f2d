// Issue 28, point 3: the run record fits its columns in bytes (Redshift counts VARCHAR in
// bytes, PostgreSQL in characters), with multibyte text at each limit, on PostgreSQL and
// through the Data API stand-in (whose VARCHARs count bytes as Redshift's do, and which refuses
// a result row over 64 KB); the skipped records go to load_run_skipped, one row each.
import test from 'ava';
import { loadConfig } from '../lib/config/config.ts';
import { openDatabase, type Database } from '../lib/db/database.ts';
import { InputError, type RecordProblem } from '../lib/errors.ts';
import {
  COLUMN_BYTES,
  fitBytes,
  LoadRun,
  readRuns,
  recordRunEnd,
  recordRunStart,
  SKIPPED_KEPT,
} from '../lib/load/run-record.ts';
import { silentLogger, type Logger } from '../lib/log.ts';
import { migrate } from '../lib/migrate/migrate.ts';
import { startDataApiStandIn, type DataApiStandIn } from './helpers/data-api.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';

const bytes = (s: string) => Buffer.byteLength(s);

test('fitBytes: at most the limit in UTF-8 bytes, "…" when cut, never half a character', (t) => {
  for (const limit of [1024, 4096]) {
    const exact = 'é'.repeat(limit / 2);
    t.is(fitBytes(exact, limit), exact, 'exactly the limit: kept whole');
    const over = `${exact}x`;
    const cut = fitBytes(over, limit);
    t.true(bytes(cut) <= limit, `${bytes(cut)} bytes into ${limit}`);
    t.true(cut.endsWith('…'));
    // 4-byte characters (surrogate pairs in JavaScript) are never split.
    const emoji = fitBytes('😀'.repeat(limit), limit);
    t.true(bytes(emoji) <= limit);
    t.notRegex(emoji, /[\ud800-\udbff](?![\udc00-\udfff])/, 'no lone high surrogate');
    t.is(bytes(fitBytes('€'.repeat(limit), limit)), Math.floor((limit - 3) / 3) * 3 + 3);
  }
});

/** A run with multibyte text over every limit: command, error, steps' JSON, the skipped records' fields. */
function wideRun(): LoadRun {
  const run = new LoadRun(`load --only ${'é'.repeat(800)}`);
  for (let i = 0; i < 400; i += 1)
    run.steps.push({
      step: `stage staging_events ${i}`,
      table: 'staging_events',
      rows: i,
      seconds: 0.5,
      detail: `détail ${'€'.repeat(20)}`,
    });
  const skipped: RecordProblem[] = [];
  for (let i = 0; i < SKIPPED_KEPT + 5; i += 1) {
    skipped.push({
      file: `s3://bücket/${'ä'.repeat(600)}.json`,
      line: i + 1,
      field: `f${'ö'.repeat(200)}`,
      value: '😀'.repeat(400),
      reason: `Invalid digit ${'€'.repeat(400)}`,
    });
  }
  run.skipped = skipped;
  run.end(new InputError(`COPY failed: ${'€'.repeat(2000)}`));
  return run;
}

async function checkRoundTrip(t: import('ava').ExecutionContext, db: Database): Promise<void> {
  const run = wideRun();
  const warnings: string[] = [];
  const log: Logger = { ...silentLogger, warn: (m: string) => warnings.push(m) };
  const conn = await db.connect();
  try {
    t.true(await recordRunStart(conn, run, log), warnings.join('\n'));
  } finally {
    await conn.end();
  }
  await recordRunEnd(db, run, log);
  t.deepEqual(warnings, [], 'every write fits');
  const reader = await db.connect();
  try {
    const [read] = (await readRuns(reader, 1)) ?? [];
    t.is(read?.outcome, 'failed', 'the failed run is completed, not left running');
    t.true(bytes(read?.command ?? '') <= COLUMN_BYTES.command);
    t.true(bytes(read?.error ?? '') <= COLUMN_BYTES.error);
    t.true((read?.error ?? '').endsWith('…'));
    t.is(read?.skippedRecords, SKIPPED_KEPT + 5);
    t.is(read?.skipped.length, SKIPPED_KEPT, 'the first SKIPPED_KEPT, one row each');
    t.deepEqual(
      read?.skipped.map((p) => p.line),
      Array.from({ length: SKIPPED_KEPT }, (_, i) => i + 1),
    );
    for (const p of read?.skipped ?? []) {
      t.true(
        bytes(p.file) <= COLUMN_BYTES.file &&
          bytes(p.value ?? '') <= COLUMN_BYTES.value &&
          bytes(p.reason) <= COLUMN_BYTES.reason &&
          bytes(p.field ?? '') <= COLUMN_BYTES.field,
      );
    }
    t.true(read !== undefined && read.steps.length > 0 && read.steps.length < 400, 'as many steps as fit');
    const [row] = (
      await reader.query<{ n: number | string }>(
        'SELECT OCTET_LENGTH(command) + OCTET_LENGTH(steps) + OCTET_LENGTH(error) AS n FROM load_runs',
      )
    ).rows;
    t.true(Number(row?.n) < 32 * 1024, `a load_runs row of ${String(row?.n)} bytes of text: well under 64 KB`);
  } finally {
    await reader.end();
  }
}

test.serial(
  'PostgreSQL: a failed run with multibyte text over every limit is recorded in bytes and read back',
  async (t) => {
    const tdb = await createTestDatabase();
    t.teardown(() => tdb.drop());
    const db = await openDatabase(tdb.config(), silentLogger);
    t.teardown(() => db.close());
    await migrate(db, { direction: 'up', log: silentLogger });
    await checkRoundTrip(t, db);
  },
);

let standIn: DataApiStandIn | undefined;
test.after.always(async () => standIn?.close());

test.serial(
  'Redshift Data API (stand-in, VARCHAR in bytes, 64 KB rows): the same run is recorded and read back',
  async (t) => {
    standIn = await startDataApiStandIn({ env: {} });
    const tdb: TestDatabase = await createTestDatabase();
    t.teardown(() => tdb.drop());
    // The stand-in takes any credentials; the SDK wants some.
    const env = {
      ...standIn.env(tdb.name),
      AWS_ACCESS_KEY_ID: 'AKIDSTANDIN',
      AWS_SECRET_ACCESS_KEY: 'stand-in-secret',
      AWS_REGION: 'us-west-2',
    };
    const saved = { ...process.env };
    Object.assign(process.env, env);
    t.teardown(() => {
      for (const k of Object.keys(env)) if (saved[k] === undefined) delete process.env[k];
      Object.assign(process.env, saved);
    });
    const db = await openDatabase(loadConfig(env), silentLogger);
    t.teardown(() => db.close());
    await migrate(db, { direction: 'up', log: silentLogger });
    await checkRoundTrip(t, db);
  },
);
