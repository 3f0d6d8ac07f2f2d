// songplays: one row per NextSong event of a known user, natural key
// (user_id, session_id, start_time). start_time is ts (epoch ms) as a UTC
// TIMESTAMP with its milliseconds. The song is the one whose title, artist
// name and duration (within 0.01 s) match the event; NULL when none does; the
// smallest song_id when several do, so an event never yields two rows.
// Candidates: the staged song files and, for incremental loads, the songs
// loaded before, each with its own file's artist name (songs.artist_name), so
// an incremental load matches exactly as one full load of the same files.
// The ranking sorts the events by the natural key, which is also the order of
// songplays' index: the MERGE then inserts into the index in order (inserting
// in arrival order instead, after ranking only repeated keys, was slower).
import { upsertBatch, type TransformStep } from '../lib/transform-step.ts';

const COLUMNS = ['start_time', 'user_id', 'level', 'song_id', 'artist_id', 'session_id', 'location', 'user_agent'];
const KEY = ['user_id', 'session_id', 'start_time'];

/** Epoch milliseconds to TIMESTAMP on both engines, milliseconds kept, no time zone involved. */
export const EPOCH_MS_TO_TIMESTAMP = (column: string) =>
  `TIMESTAMP 'epoch' + (${column} / 1000) * INTERVAL '1 second' + (${column} % 1000) * INTERVAL '1 millisecond'`;

/** The events that are songplays (also the source of the time table's new rows). */
export const SONGPLAY_EVENTS = `e.page = 'NextSong'
        AND e.user_id IS NOT NULL
        AND e.session_id IS NOT NULL
        AND e.ts IS NOT NULL`;

export const songplays: TransformStep = {
  table: 'songplays',
  description: 'songplays from NextSong events, matched to songs by title, artist and duration',
  statements: [
    'DROP TABLE IF EXISTS songplays_candidates',
    'DROP TABLE IF EXISTS songplays_batch',
    // The songs an event can match, in a table of its own with statistics: the
    // planner then hashes these (a few thousand) and streams the events past
    // them in parallel. A temporary table would make PostgreSQL plan without
    // parallel workers (they cannot read another session's temporary tables).
    `CREATE TABLE songplays_candidates AS
SELECT song_id, artist_id, title, artist_name, duration
FROM staging_songs
UNION ALL
SELECT known.song_id, known.artist_id, known.title, known.artist_name, known.duration
FROM songs AS known
LEFT JOIN staging_songs AS staged ON staged.song_id = known.song_id
WHERE staged.song_id IS NULL`,
    'ANALYZE songplays_candidates',
    `CREATE TEMP TABLE songplays_batch AS
SELECT start_time, user_id, level, song_id, artist_id, session_id, location, user_agent
FROM (
    SELECT
        ${EPOCH_MS_TO_TIMESTAMP('e.ts')} AS start_time,
        e.user_id,
        e.level,
        s.song_id,
        s.artist_id,
        e.session_id,
        e.location,
        e.user_agent,
        ROW_NUMBER() OVER (
            PARTITION BY e.user_id, e.session_id, e.ts
            ORDER BY s.song_id NULLS LAST, e.item_in_session NULLS LAST,
                e.level NULLS LAST, e.location NULLS LAST, e.user_agent NULLS LAST
        ) AS rn
    FROM staging_events AS e
    LEFT JOIN songplays_candidates AS s
        ON s.title = e.song
        AND s.artist_name = e.artist
        AND ABS(s.duration - e.length) <= 0.01
    WHERE ${SONGPLAY_EVENTS}
) AS ranked
WHERE rn = 1`,
    // Statistics of the key alone: what the MERGE's join needs (the wide text columns cost the most to analyze).
    ...upsertBatch({ target: 'songplays', batch: 'songplays_batch', key: KEY, columns: COLUMNS }, KEY),
    'DROP TABLE songplays_candidates',
  ],
};
