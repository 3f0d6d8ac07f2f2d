// users: one row per non-empty userId across all events (not only NextSong);
// first name, last name, gender and level from the user's latest event
// (by ts, then itemInSession), so a newer load moves a user from free to paid,
// and a load of older events never moves them back (last_event_ts). An event
// without a ts counts as older than any event with one, in a batch and across loads.
// The tie-break columns of the winning event are kept (last_event_item_in_session,
// last_event_session_id), so a later run decides a tie at the same ts exactly as
// one full load of both runs' files does (issue 26, point 10).
import { ranksBefore, rankOrderBy, type RankTerm } from '../lib/load/ranking.ts';
import { loaderFile, type TransformStep } from '../lib/load/steps.ts';
import { upsertStep } from '../lib/load/upsert.ts';

/** Among one user's events at their latest ts: the larger itemInSession, then sessionId, then level ('paid' > 'free'), then the names. */
const TIE_BREAK: readonly RankTerm[] = [
  { column: 'last_event_item_in_session', source: 'e.item_in_session', descending: true },
  { column: 'last_event_session_id', source: 'e.session_id', descending: true },
  { column: 'level', source: 'e.level', descending: true },
  { column: 'first_name', source: 'e.first_name' },
  { column: 'last_name', source: 'e.last_name' },
  { column: 'gender', source: 'e.gender' },
];
/** Across runs: the latest ts first (an event without ts last), then the tie-break. */
const LATEST_FIRST: readonly RankTerm[] = [{ column: 'last_event_ts', descending: true }, ...TIE_BREAK];

export const users: TransformStep = upsertStep({
  table: 'users',
  file: loaderFile(import.meta.url),
  role: 'dimension',
  description: 'users from every event of a known user, latest event wins',
  key: ['user_id'],
  dependsOn: [],
  // Redshift: the batch is replicated as the table is (DISTSTYLE ALL), so the MERGE joins on each slice.
  distribution: { style: 'all' },
  columns: [
    'user_id',
    'first_name',
    'last_name',
    'gender',
    'level',
    'last_event_ts',
    'last_event_item_in_session',
    'last_event_session_id',
  ],
  columnSources: {
    columns: {
      user_id: ['staging_events.user_id'],
      first_name: ['staging_events.first_name'],
      last_name: ['staging_events.last_name'],
      gender: ['staging_events.gender'],
      level: ['staging_events.level'],
      last_event_ts: ['staging_events.ts'],
      last_event_item_in_session: ['staging_events.item_in_session'],
      last_event_session_id: ['staging_events.session_id'],
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
  select: `SELECT user_id, first_name, last_name, gender, level, last_event_ts,
    last_event_item_in_session, last_event_session_id
FROM (
    SELECT
        e.user_id,
        e.first_name,
        e.last_name,
        e.gender,
        e.level,
        e.ts AS last_event_ts,
        e.item_in_session AS last_event_item_in_session,
        e.session_id AS last_event_session_id,
        ROW_NUMBER() OVER (
            PARTITION BY e.user_id
            ORDER BY ${rankOrderBy(TIE_BREAK)}
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
  // Redshift's MERGE takes no extra condition on WHEN MATCHED: drop from the batch the rows that the
  // stored row outranks (a later ts, or the same ts and a better tie-break), as one full load would.
  // An event without a ts never wins over one with a ts (MAX above prefers one with a ts within the batch).
  prune: [
    `DELETE FROM users_batch
USING users
WHERE users.user_id = users_batch.user_id
    AND ${ranksBefore(LATEST_FIRST, 'users', 'users_batch')}`,
  ],
});
