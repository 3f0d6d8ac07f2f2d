// Issue 30: user_levels, one row per interval of one level per user, by event time: valid_from the
// ts of the event that starts it, valid_to the next interval's valid_from (NULL: the current one).
// Redshift: DISTSTYLE ALL and SORTKEY (user_id, valid_from). It is a small, slowly changing
// dimension of users (a row per user and level change; users is ALL too), joined with songplays,
// which is distributed on start_time, on user_id and a time range: a copy on every node joins
// without redistributing songplays ("ALL distribution is appropriate only for relatively slow
// moving tables", https://docs.aws.amazon.com/redshift/latest/dg/c_choosing_dist_sort.html). The
// sort key serves the per-user lookups and the range join (zone maps,
// https://docs.aws.amazon.com/redshift/latest/dg/t_Sorting_data.html). PostgreSQL: an index on
// (user_id, valid_from), the grain.
import { integer, timestamp, varchar } from '../lib/dialect/table-def.ts';
import { tableMigration } from '../lib/migrate/table-migration.ts';

export const { up, down, table } = tableMigration({
  name: 'user_levels',
  columns: [
    { name: 'user_id', type: integer, notNull: true },
    { name: 'level', type: varchar(16), notNull: true },
    { name: 'valid_from', type: timestamp, notNull: true },
    { name: 'valid_to', type: timestamp },
  ],
  distribution: { style: 'all' },
  sortKey: ['user_id', 'valid_from'],
  indexes: [['user_id', 'valid_from']],
});
