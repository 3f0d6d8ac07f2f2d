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
