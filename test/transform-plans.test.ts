// The plans PostgreSQL picks for the two heavy transforms, on staged data:
// set-based (hash joins and aggregates, one sort), never a nested loop over
// the events that would look rows up one event at a time. (Small inputs, such
// as the empty songs table of a first load, may be nested-looped.)
import path from 'node:path';
import test from 'ava';
import { dialectByName } from '../lib/dialect/index.ts';
import { generate } from '../lib/sample/generator.ts';
import { songplays } from '../loaders/songplays.ts';
import { users } from '../loaders/users.ts';
import { load, migratedDatabase } from './helpers/load.ts';
import type { TestDatabase } from './helpers/database.ts';
import { fileScope, tempDir } from './helpers/temp-dir.ts';

interface PlanNode {
  'Node Type': string;
  'Join Type'?: string;
  'Relation Name'?: string;
  Plans?: PlanNode[];
}

const nodes = (n: PlanNode): PlanNode[] => [n, ...(n.Plans ?? []).flatMap(nodes)];
const reads = (n: PlanNode, table: string) => nodes(n).some((x) => x['Relation Name'] === table);

let tdb: TestDatabase;
const scope = fileScope();
test.before(async () => {
  const out = await tempDir(scope, 'gen-');
  await generate({ songs: 2000, events: 60000, seed: 9, out });
  tdb = await migratedDatabase();
  await load(
    tdb,
    {
      LOG_DATA: path.join(out, 'log_data'),
      SONG_DATA: path.join(out, 'song_data'),
      LOG_JSONPATH: path.join(out, 'log_json_path.json'),
    },
    { only: ['stage'] },
  );
  await tdb.query('ANALYZE staging_events');
  await tdb.query('ANALYZE staging_songs');
});
test.after.always(async () => {
  await tdb?.drop();
});

async function plan(statement: string): Promise<PlanNode[]> {
  const select = statement.replace(/^CREATE TEMP TABLE \w+ AS\s*/, '');
  const rows = await tdb.query<{ 'QUERY PLAN': { Plan: PlanNode }[] }>(`EXPLAIN (FORMAT JSON) ${select}`);
  return nodes(rows[0]?.['QUERY PLAN'][0]?.Plan as PlanNode);
}

test('songplays: events hash-joined to the song candidates, one sort for ranking, no nested loop over events', async (t) => {
  const statements = songplays.statements(dialectByName('postgres'));
  const at = statements.findIndex((s) => s.startsWith('CREATE TEMP TABLE songplays_batch'));
  // The statements before it make the song candidates table the batch is joined to.
  for (const statement of statements.slice(0, at)) await tdb.query(statement);
  t.teardown(() => tdb.query('DROP TABLE IF EXISTS songplays_candidates').then(() => undefined));
  const all = await plan(statements[at] ?? '');
  const types = all.map((n) => n['Node Type']);
  t.false(
    all.some((n) => n['Node Type'] === 'Nested Loop' && reads(n, 'staging_events')),
    types.join(', '),
  );
  t.true(
    all.some(
      (n) =>
        n['Node Type'] === 'Hash Join' &&
        /Left|Right/.test(n['Join Type'] ?? '') &&
        reads(n, 'staging_events') &&
        reads(n, 'songplays_candidates'),
    ),
    types.join(', '),
  );
  // The candidates are the hashed side; the events stream past them (in parallel workers on big inputs).
  t.true(
    all.some((n) => n['Node Type'] === 'Hash' && reads(n, 'songplays_candidates') && !reads(n, 'staging_events')),
    types.join(', '),
  );
  t.is(types.filter((x) => x === 'Sort').length, 1, types.join(', '));
  t.is(types.filter((x) => x === 'WindowAgg').length, 1);
});

test("users: each user's latest ts by aggregation, then a hash join; no nested loop, no sort of every event", async (t) => {
  const create =
    users.statements(dialectByName('postgres')).find((s) => s.startsWith('CREATE TEMP TABLE users_batch')) ?? '';
  const all = await plan(create);
  const types = all.map((n) => n['Node Type']);
  t.false(
    all.some((n) => n['Node Type'] === 'Nested Loop' && reads(n, 'staging_events')),
    types.join(', '),
  );
  t.true(types.includes('Aggregate'), types.join(', '));
  t.true(types.includes('Hash Join'), types.join(', '));
  // The only sort ranks the rows at each user's latest ts, after the join.
  const sorts = all.filter((n) => n['Node Type'] === 'Sort');
  t.true(sorts.length <= 1, types.join(', '));
  for (const sort of sorts)
    t.true(
      nodes(sort).some((n) => n['Node Type'] === 'Hash Join'),
      'the sort is above the join',
    );
});
