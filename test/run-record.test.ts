// The run record (load_runs) as it is written and read back on a real
// database: every skipped record counted (20 kept), the duration end − start,
// and a long error cut to its column's bytes on a character boundary.
import test from 'ava';
import type { RecordProblem } from '../lib/errors.ts';
import { LoadRun, SKIPPED_KEPT, readRuns, recordRunEnd, recordRunStart, runRow } from '../lib/load/run-record.ts';
import { silentLogger } from '../lib/log.ts';
import type { TestDatabase } from './helpers/database.ts';
import { migratedDatabase } from './helpers/load.ts';

let tdb: TestDatabase;
test.before(async () => {
  tdb = await migratedDatabase();
});
test.after.always(async () => {
  await tdb?.drop();
});

/** Records `run` as the load does (start on one connection, end on another) and reads it back. */
async function recordAndRead(run: LoadRun) {
  const db = await tdb.open();
  try {
    const conn = await db.connect();
    try {
      await recordRunStart(conn, run, silentLogger);
    } finally {
      await conn.end();
    }
    await recordRunEnd(db, run, silentLogger);
    const reader = await db.connect();
    try {
      return (await readRuns(reader, 50))?.find((r) => r.runId === run.runId);
    } finally {
      await reader.end();
    }
  } finally {
    await db.close();
  }
}

test('all skipped records are counted, the first 20 kept; the duration reads back as end − start', async (t) => {
  const run = new LoadRun('load --max-errors 100');
  run.skipped = Array.from(
    { length: 27 },
    (_, i): RecordProblem => ({ file: 'log_data/bad.json', line: i + 1, field: 'ts', reason: 'not a number' }),
  );
  run.end();
  run.endedAt = new Date(run.startedAt.getTime() + 90_500);
  const read = await recordAndRead(run);
  t.is(read?.outcome, 'succeeded');
  t.is(read?.skippedRecords, 27);
  t.is(read?.skipped.length, SKIPPED_KEPT);
  t.deepEqual(
    read?.skipped.map((p) => p.line),
    Array.from({ length: 20 }, (_, i) => i + 1),
  );
  t.is(read?.seconds, 90.5);
  t.is(read && runRow(read).seconds, '90.5');
  t.is(read?.startedAt, run.startedAt.toISOString());
  t.is(read?.endedAt, run.endedAt.toISOString());
  t.is(run.summary().seconds, 90.5, 'the summary load --format json prints');
});

test("a long error is cut to its column's 4096 bytes on a character boundary, and the run is still recorded", async (t) => {
  const run = new LoadRun('load');
  run.end(new Error(`transform songplays failed: ${'é'.repeat(3000)}`));
  const read = await recordAndRead(run);
  t.is(read?.outcome, 'failed', 'the record is completed, not left running');
  const error = read?.error ?? '';
  t.true(Buffer.byteLength(error) <= 4096, `${Buffer.byteLength(error)} bytes`);
  t.true(Buffer.byteLength(error) >= 4090, 'as much as fits is kept');
  t.regex(error, /^transform songplays failed: é+…$/);
});

// Issue 26, "What to build": the run record written idempotently. A write sent twice (a retry whose first
// answer was lost, a second call) leaves one row and one set of skipped records; a plain INSERT made two
// (neither engine has a key on run_id: Redshift enforces none).
test('recording a run twice (start and end, as a retried write would) leaves one row and its skipped records once', async (t) => {
  const run = new LoadRun('load --max-errors 5');
  run.skipped = [
    { file: 'log_data/a.json', line: 3, field: 'ts', reason: 'not a number' },
    { file: 'log_data/a.json', line: 9, reason: 'not JSON' },
  ];
  const db = await tdb.open();
  t.teardown(() => db.close());
  const conn = await db.connect();
  t.teardown(() => conn.end());
  t.true(await recordRunStart(conn, run, silentLogger));
  t.true(await recordRunStart(conn, run, silentLogger), 'the second start is no error either');
  run.end();
  await recordRunEnd(db, run, silentLogger);
  await recordRunEnd(db, run, silentLogger);
  const rows = await tdb.query<{ n: number }>('select count(*)::int as n from load_runs where run_id = $1', [
    run.runId,
  ]);
  t.is(rows[0]?.n, 1, 'one load_runs row');
  const skipped = await tdb.query<{ seq: number; line: string }>(
    'select seq, line::text as line from load_run_skipped where run_id = $1 order by seq',
    [run.runId],
  );
  t.deepEqual(
    skipped.map((s) => [s.seq, s.line]),
    [
      [1, '3'],
      [2, '9'],
    ],
  );
  const read = (await readRuns(conn, 50))?.filter((r) => r.runId === run.runId);
  t.is(read?.length, 1);
  t.is(read?.[0]?.outcome, 'succeeded');
  t.is(read?.[0]?.skippedRecords, 2);
});
