// Issue 28, point 8: Redshift's physical design, second pass (PostgreSQL: nothing to change).
// - The staging tables lose their sort keys: nothing filters or merges on them, and a sort key
//   costs every COPY a sort (https://docs.aws.amazon.com/redshift/latest/dg/t_Sorting_data.html).
// - staging_songs is spread EVEN instead of replicated (DISTSTYLE ALL): the songplays match reads
//   it through songplays_candidates, a TEMP table replicated itself (loaders/songplays.ts), so a
//   second copy on every node bought nothing
//   (https://docs.aws.amazon.com/redshift/latest/dg/c_choosing_dist_sort.html).
// - The MERGE targets get an informational PRIMARY KEY on their join columns, which the planner
//   uses (https://docs.aws.amazon.com/redshift/latest/dg/c_best-practices-defining-constraints.html).
// The staging tables are dropped and created again: they hold only what the next load replaces.
import type { MigrationBuilder } from 'node-pg-migrate';
import type { TableDef } from '../lib/dialect/table-def.ts';
import { dialectOf } from '../lib/migrate/table-migration.ts';
import { migratedTableDefs, type TableRedesign } from '../lib/report/page/schema-model.ts';

/** The staging tables' new physical design (lib/report/page/schema-model.ts applies it to the earlier definitions). */
export const redesigned: readonly TableRedesign[] = [
  { name: 'staging_events', sortKey: undefined },
  { name: 'staging_songs', distribution: { style: 'even' }, sortKey: undefined },
];

const THIS_MIGRATION = '20261207000300000_redshift-physical-design';

/** The redesigned tables' definitions after this migration (`after`) or before it. */
async function stagingDefs(after: boolean): Promise<TableDef[]> {
  const defs = await migratedTableDefs(undefined, after ? undefined : THIS_MIGRATION);
  return redesigned.map((r) => {
    const def = defs.find((d) => d.name === r.name);
    if (!def) throw new Error(`${THIS_MIGRATION}: no earlier migration creates ${r.name}`);
    return def;
  });
}

/** The MERGE targets and their join columns (the upsert keys of loaders/). */
export const MERGE_KEYS: Readonly<Record<string, readonly string[]>> = {
  users: ['user_id'],
  songs: ['song_id'],
  artists: ['artist_id'],
  time: ['start_time'],
  songplays: ['user_id', 'session_id', 'start_time'],
};

export async function up(pgm: MigrationBuilder): Promise<void> {
  const dialect = await dialectOf(pgm);
  for (const def of await stagingDefs(true)) for (const statement of dialect.redesignScratchTable(def)) pgm.sql(statement);
  for (const [table, columns] of Object.entries(MERGE_KEYS)) for (const statement of dialect.informationalPrimaryKey(table, columns, false)) pgm.sql(statement);
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  const dialect = await dialectOf(pgm);
  for (const [table, columns] of Object.entries(MERGE_KEYS)) for (const statement of dialect.informationalPrimaryKey(table, columns, true)) pgm.sql(statement);
  for (const def of await stagingDefs(false)) for (const statement of dialect.redesignScratchTable(def)) pgm.sql(statement);
}
