// songplays: one row per NextSong event of a known user; natural key (user_id, session_id, start_time).
import { bigint, integer, timestamp, varchar } from '../lib/dialect/table-def.ts';
import { tableMigration } from '../lib/migrate/table-migration.ts';

export const { up, down, table } = tableMigration({
  name: 'songplays',
  columns: [
    { name: 'songplay_id', type: bigint, notNull: true, identity: true },
    { name: 'start_time', type: timestamp, notNull: true },
    { name: 'user_id', type: integer, notNull: true },
    { name: 'level', type: varchar(16) },
    { name: 'song_id', type: varchar(32) },
    { name: 'artist_id', type: varchar(32) },
    { name: 'session_id', type: integer, notNull: true },
    { name: 'location', type: varchar(512) },
    { name: 'user_agent', type: varchar(1024) },
  ],
  // start_time: high cardinality (even spread) and shared with time; song_id is
  // NULL for most plays (unmatched songs), which would pile them on one slice.
  distribution: { style: 'key', key: 'start_time' },
  sortKey: ['start_time'],
  indexes: [['user_id', 'session_id', 'start_time']],
});
