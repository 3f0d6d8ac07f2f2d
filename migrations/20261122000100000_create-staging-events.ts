// staging_events: one row per log event, as COPY loads it (camelCase keys mapped by the JSONPaths file).
import { bigint, double, integer, smallint, varchar } from '../lib/dialect/table-def.ts';
import { tableMigration } from '../lib/migrate/table-migration.ts';

export const { up, down, table } = tableMigration({
  name: 'staging_events',
  columns: [
    { name: 'artist', type: varchar(1024) },
    { name: 'auth', type: varchar(32) },
    { name: 'first_name', type: varchar(256) },
    { name: 'gender', type: varchar(16) },
    { name: 'item_in_session', type: integer },
    { name: 'last_name', type: varchar(256) },
    { name: 'length', type: double },
    { name: 'level', type: varchar(16) },
    { name: 'location', type: varchar(512) },
    { name: 'method', type: varchar(16) },
    { name: 'page', type: varchar(64) },
    { name: 'registration', type: double },
    { name: 'session_id', type: integer },
    { name: 'song', type: varchar(1024) },
    { name: 'status', type: smallint },
    { name: 'ts', type: bigint },
    { name: 'user_agent', type: varchar(1024) },
    { name: 'user_id', type: integer },
  ],
  // Rows spread evenly for a fast COPY; the songplays match joins against
  // staging_songs, which is replicated (DISTSTYLE ALL), so no redistribution.
  distribution: { style: 'even' },
  sortKey: ['ts'],
  backup: false,
});
