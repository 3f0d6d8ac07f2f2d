// The ledger's "older records" DELETE on PostgreSQL after a run of many
// objects: a hash join of this run's records with the older ones. Before the
// staging strategy analyzed the ledger after copying a run's rows into it, the
// planner still had the statistics of the last autoanalyze, which had never
// seen the new run id: it expected one such row and nested-looped, and a
// re-run of 100k song files sat in that DELETE for more than ten minutes
// (`npm run bench`, size files).
import test from 'ava';
import { transaction } from '../lib/db/connection.ts';
import { connectWire } from '../lib/db/wire-connection.ts';
import { DELETE_OLDER_RECORDS, insertLedgerRows, type LedgerRow } from '../lib/stage/ledger.ts';
import { migratedDatabase } from './helpers/load.ts';

interface PlanNode {
  'Node Type': string;
  Plans?: PlanNode[];
}
const nodes = (n: PlanNode): PlanNode[] => [n, ...(n.Plans ?? []).flatMap(nodes)];

test("a run's older ledger records are found with a hash join, whatever the statistics knew of the run", async (t) => {
  const tdb = await migratedDatabase();
  t.teardown(() => tdb.drop());
  const conn = await connectWire({ connectionString: tdb.url });
  t.teardown(() => conn.end());
  const objects = 20_000;
  const rows = (runId: string): LedgerRow[] =>
    Array.from({ length: objects }, (_, i) => ({
      table: 'staging_songs',
      object: { uri: `/data/song_data/${i}.json`, size: 300, version: 'v1' },
      runId,
      mapping: 'm1',
    }));
  // The first run's records, committed, and the statistics autovacuum would gather from them.
  await transaction(conn, () => insertLedgerRows(conn, 'postgres', rows('run-1')));
  await conn.query('ANALYZE load_ledger');
  const plan = await transaction(conn, async () => {
    await insertLedgerRows(conn, 'postgres', rows('run-2'));
    const { rows: explained } = await conn.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
      `EXPLAIN (FORMAT JSON) ${DELETE_OLDER_RECORDS}`,
      ['run-2'],
    );
    await conn.query(DELETE_OLDER_RECORDS, ['run-2']);
    const { rows: left } = await conn.query<{ run_id: string; n: number }>(
      'SELECT run_id, COUNT(*)::int AS n FROM load_ledger GROUP BY run_id',
    );
    t.deepEqual(left, [{ run_id: 'run-2', n: objects }], "every record of the first run's objects is replaced");
    return nodes((explained[0] as { 'QUERY PLAN': [{ Plan: PlanNode }] })['QUERY PLAN'][0].Plan).map(
      (n) => n['Node Type'],
    );
  });
  // A hash or merge join: the two runs' 20k records matched in one pass, not one lookup per row.
  t.true(plan.includes('Hash Join') || plan.includes('Merge Join'), plan.join(' > '));
  t.false(plan.includes('Nested Loop'), plan.join(' > '));
});
