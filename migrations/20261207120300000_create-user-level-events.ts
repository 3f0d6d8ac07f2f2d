// Issue 30: user_level_events, what user_levels is computed from: one row per distinct (user, ts,
// itemInSession, sessionId, level) of every event of a known user with a ts and a level, any page,
// kept across runs (staging holds one run only). A late file for an earlier day can split or merge
// a user's intervals, and only that user's events in order say how (loaders/user-levels.ts).
// Redshift: distributed on user_id, sorted by (user_id, ts): the recompute reads one user's events
// in ts order on one slice (the window functions partition by user_id), and joins the users a run
// touched on that key, so nothing is redistributed
// (https://docs.aws.amazon.com/redshift/latest/dg/c_best-practices-best-dist-key.html: distribute on
// the common join column; https://docs.aws.amazon.com/redshift/latest/dg/t_Sorting_data.html).
import { bigint, integer, varchar } from '../lib/dialect/table-def.ts';
import { tableMigration } from '../lib/migrate/table-migration.ts';

export const { up, down, table } = tableMigration({
  name: 'user_level_events',
  columns: [
    { name: 'user_id', type: integer, notNull: true },
    { name: 'ts', type: bigint, notNull: true },
    { name: 'item_in_session', type: integer },
    { name: 'session_id', type: integer },
    { name: 'level', type: varchar(16), notNull: true },
  ],
  distribution: { style: 'key', key: 'user_id' },
  sortKey: ['user_id', 'ts'],
  indexes: [['user_id', 'ts']],
});
