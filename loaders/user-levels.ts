// user_levels: one row per interval of one level per user, by event time
// (issue 30). The events: every staged event with a userId, a ts and a level,
// any page. In (ts, itemInSession) order, an interval starts at the user's
// first event and at each event whose level differs from the previous one's;
// valid_from is that event's ts (a UTC TIMESTAMP, milliseconds kept), valid_to
// the next interval's valid_from (NULL: the current interval).
//
// Events at the same ts: the last of them (the larger itemInSession, then
// sessionId, then level, 'paid' > 'free') gives the level at that instant, the
// tie-break users uses for its latest event (loaders/users.ts), so users.level
// is always the open interval's level and no interval is empty (two valid_from
// never repeat for a user).
//
// Late and replayed data: staging holds one run, so the events of every run
// are kept, reduced to what the intervals need, in user_level_events (the
// step's store, emptied with user_levels by --replace and --full-refresh). A
// run adds its new events to the store, then recomputes the intervals of the
// users it touched from all their stored events: a late file for an earlier
// day can split an interval (or merge two), a replay adds nothing, and any
// sequence of incremental loads ends where one full load of the same files
// ends. Merging change points into the stored intervals instead cannot work:
// a late event of another level inside an interval ends at the next event of
// the user, which the intervals do not hold.
import { loaderFile, type TransformStep } from '../lib/load/steps.ts';
import { epochMsToTimestamp } from './songplay-events.ts';

const STORE = 'user_level_events';

/** The staged events (alias `e`) that say a user's level at a time. */
const LEVEL_EVENTS = `e.user_id IS NOT NULL
    AND e.ts IS NOT NULL
    AND e.level IS NOT NULL`;

/** `a` equals `b`, NULL equal to NULL (Redshift has no IS NOT DISTINCT FROM). */
const same = (a: string, b: string) => `(${a} = ${b} OR (${a} IS NULL AND ${b} IS NULL))`;

export const userLevels: TransformStep = {
  table: 'user_levels',
  file: loaderFile(import.meta.url),
  role: 'dimension',
  description: "user_levels, each user's free/paid intervals by event time, recomputed for the users a run touches",
  key: ['user_id', 'valid_from'],
  dependsOn: [],
  keeps: [STORE],
  // Through the store (user_level_events), which holds the same staged columns of every run.
  columnSources: {
    columns: {
      user_id: ['staging_events.user_id'],
      level: ['staging_events.level'],
      valid_from: ['staging_events.ts'],
      valid_to: ['staging_events.ts'],
    },
    // Events with a user, a ts and a level; ordered by ts, ties by itemInSession, sessionId, level.
    rows: [
      'staging_events.user_id',
      'staging_events.ts',
      'staging_events.level',
      'staging_events.item_in_session',
      'staging_events.session_id',
    ],
  },
  references: [{ column: 'user_id', table: 'users', targetColumn: 'user_id', nullable: false }],
  checks: [
    {
      name: 'users.level is the level of the open interval',
      description: "every user's level (from the latest event) is the level of the user's interval with no valid_to",
      sql: `SELECT u.user_id, u.level, ul.level AS open_interval_level
FROM users AS u
LEFT JOIN user_levels AS ul
    ON ul.user_id = u.user_id
    AND ul.valid_to IS NULL
WHERE u.level IS NOT NULL
    AND u.last_event_ts IS NOT NULL
    AND (ul.level IS NULL OR ul.level <> u.level)`,
    },
    {
      name: 'songplays.level agrees with user_levels',
      description: "every play's level is the level of the user's interval that contains its start_time",
      sql: `SELECT sp.songplay_id, sp.user_id, sp.start_time, sp.level, ul.level AS interval_level
FROM songplays AS sp
LEFT JOIN user_levels AS ul
    ON ul.user_id = sp.user_id
    AND ul.valid_from <= sp.start_time
    AND (ul.valid_to IS NULL OR sp.start_time < ul.valid_to)
WHERE sp.level IS NOT NULL
    AND (ul.level IS NULL OR ul.level <> sp.level)`,
    },
  ],
  statements: () => [
    // The run's new events into the store: one row per distinct (user, ts, itemInSession, sessionId, level).
    `INSERT INTO ${STORE} (user_id, ts, item_in_session, session_id, level)
SELECT DISTINCT e.user_id, e.ts, e.item_in_session, e.session_id, e.level
FROM staging_events AS e
LEFT JOIN ${STORE} AS known
    ON known.user_id = e.user_id
    AND known.ts = e.ts
    AND ${same('known.item_in_session', 'e.item_in_session')}
    AND ${same('known.session_id', 'e.session_id')}
    AND known.level = e.level
WHERE ${LEVEL_EVENTS}
    AND known.user_id IS NULL`,
    // The touched users' intervals, recomputed from all their events.
    `DELETE FROM user_levels
WHERE user_id IN (
    SELECT e.user_id
    FROM staging_events AS e
    WHERE ${LEVEL_EVENTS}
)`,
    // LAG and LEAD in their one-argument forms (Redshift takes no default value: a missing row is NULL on
    // both engines; https://docs.aws.amazon.com/redshift/latest/dg/r_WF_LAG.html,
    // https://docs.aws.amazon.com/redshift/latest/dg/r_WF_LEAD.html).
    `INSERT INTO user_levels (user_id, level, valid_from, valid_to)
SELECT
    user_id,
    level,
    valid_from,
    LEAD(valid_from) OVER (PARTITION BY user_id ORDER BY valid_from) AS valid_to
FROM (
    SELECT user_id, level, ${epochMsToTimestamp('ts')} AS valid_from
    FROM (
        SELECT
            user_id,
            ts,
            level,
            LAG(level) OVER (PARTITION BY user_id ORDER BY ts) AS previous_level
        FROM (
            SELECT
                k.user_id,
                k.ts,
                k.level,
                ROW_NUMBER() OVER (
                    PARTITION BY k.user_id, k.ts
                    ORDER BY k.item_in_session DESC NULLS LAST, k.session_id DESC NULLS LAST, k.level DESC
                ) AS rn
            FROM ${STORE} AS k
            JOIN (
                SELECT DISTINCT e.user_id
                FROM staging_events AS e
                WHERE ${LEVEL_EVENTS}
            ) AS touched
                ON touched.user_id = k.user_id
        ) AS at_ts
        WHERE rn = 1
    ) AS in_order
    WHERE previous_level IS NULL OR previous_level <> level
) AS starts`,
  ],
};
