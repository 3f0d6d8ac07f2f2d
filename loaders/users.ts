// users: one row per non-empty userId across all events (not only NextSong);
// first name, last name, gender and level from the user's latest event
// (by ts, then itemInSession), so a newer load moves a user from free to paid,
// and a load of older events never moves them back (last_event_ts).
import { dropUnchanged, mergeFromBatch, type TransformStep } from '../lib/transform-step.ts';

const COLUMNS = ['user_id', 'first_name', 'last_name', 'gender', 'level', 'last_event_ts'];

export const users: TransformStep = {
  table: 'users',
  description: 'users from every event of a known user, latest event wins',
  statements: [
    'DROP TABLE IF EXISTS users_batch',
    `CREATE TEMP TABLE users_batch AS
SELECT user_id, first_name, last_name, gender, level, last_event_ts
FROM (
    SELECT
        user_id,
        first_name,
        last_name,
        gender,
        level,
        ts AS last_event_ts,
        ROW_NUMBER() OVER (
            PARTITION BY user_id
            ORDER BY ts DESC NULLS LAST, item_in_session DESC NULLS LAST,
                session_id DESC NULLS LAST, level DESC NULLS LAST,
                first_name, last_name, gender
        ) AS rn
    FROM staging_events
    WHERE user_id IS NOT NULL
) AS ranked
WHERE rn = 1`,
    // Redshift's MERGE takes no extra condition on WHEN MATCHED: drop stale rows from the batch instead.
    `DELETE FROM users_batch
USING users
WHERE users.user_id = users_batch.user_id
    AND users.last_event_ts > users_batch.last_event_ts`,
    dropUnchanged({ target: 'users', batch: 'users_batch', key: ['user_id'], columns: COLUMNS }),
    `ANALYZE users_batch`,
    mergeFromBatch({ target: 'users', batch: 'users_batch', key: ['user_id'], columns: COLUMNS }),
    'DROP TABLE users_batch',
  ],
};
