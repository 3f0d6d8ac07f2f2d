// users: one row per non-empty userId across all events (not only NextSong);
// first name, last name, gender and level from the user's latest event
// (by ts, then itemInSession), so a newer load moves a user from free to paid,
// and a load of older events never moves them back (last_event_ts). An event
// without a ts counts as older than any event with one, in a batch and across loads.
import { loaderFile, type TransformStep } from '../lib/load/steps.ts';
import { upsertStep } from '../lib/load/upsert.ts';

export const users: TransformStep = upsertStep({
  table: 'users',
  file: loaderFile(import.meta.url),
  role: 'dimension',
  description: 'users from every event of a known user, latest event wins',
  key: ['user_id'],
  dependsOn: [],
  // Redshift: the batch is replicated as the table is (DISTSTYLE ALL), so the MERGE joins on each slice.
  distribution: { style: 'all' },
  columns: ['user_id', 'first_name', 'last_name', 'gender', 'level', 'last_event_ts'],
  columnSources: {
    columns: {
      user_id: ['staging_events.user_id'],
      first_name: ['staging_events.first_name'],
      last_name: ['staging_events.last_name'],
      gender: ['staging_events.gender'],
      level: ['staging_events.level'],
      last_event_ts: ['staging_events.ts'],
    },
    // The latest event per user (MAX(ts)), then the tie-breaks among that user's events at that ts.
    rows: [
      'staging_events.user_id',
      'staging_events.ts',
      'staging_events.item_in_session',
      'staging_events.session_id',
      'staging_events.level',
      'staging_events.first_name',
      'staging_events.last_name',
      'staging_events.gender',
    ],
  },
  // The latest ts per user by aggregation (no sort of every event), then the
  // tie-break among that user's events at that ts (few rows to rank).
  select: `SELECT user_id, first_name, last_name, gender, level, last_event_ts
FROM (
    SELECT
        e.user_id,
        e.first_name,
        e.last_name,
        e.gender,
        e.level,
        e.ts AS last_event_ts,
        ROW_NUMBER() OVER (
            PARTITION BY e.user_id
            ORDER BY e.item_in_session DESC NULLS LAST, e.session_id DESC NULLS LAST,
                e.level DESC NULLS LAST, e.first_name, e.last_name, e.gender
        ) AS rn
    FROM staging_events AS e
    JOIN (
        SELECT user_id, MAX(ts) AS ts
        FROM staging_events
        WHERE user_id IS NOT NULL
        GROUP BY user_id
    ) AS latest
        ON latest.user_id = e.user_id
        AND (latest.ts = e.ts OR (latest.ts IS NULL AND e.ts IS NULL))
) AS ranked
WHERE rn = 1`,
  // Redshift's MERGE takes no extra condition on WHEN MATCHED: drop stale rows from the batch instead.
  // An event without a ts never wins over one with a ts (MAX above prefers one with a ts within the batch).
  prune: [
    `DELETE FROM users_batch
USING users
WHERE users.user_id = users_batch.user_id
    AND (users.last_event_ts > users_batch.last_event_ts
        OR (users.last_event_ts IS NOT NULL AND users_batch.last_event_ts IS NULL))`,
  ],
});
