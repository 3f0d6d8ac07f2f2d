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
// Two events with one natural key are ranked: a matched song first (the
// smallest song_id), then the smaller itemInSession, level, location, user
// agent. item_in_session is kept, so a later run's duplicate is ranked against
// the stored play as one full load ranks them: a duplicate whose song is
// unmatched never replaces a matched play (issue 26, point 10).
import { ranksBefore, rankOrderBy, type RankTerm } from '../lib/load/ranking.ts';
import { loaderFile, type TransformStep } from '../lib/load/steps.ts';
import { upsertStep } from '../lib/load/upsert.ts';
import { epochMsToTimestamp, SONGPLAY_EVENTS } from './songplay-events.ts';

const KEY = ['user_id', 'session_id', 'start_time'];

const RANKING: readonly RankTerm[] = [
  { column: 'song_id', source: 's.song_id' },
  { column: 'item_in_session', source: 'e.item_in_session' },
  { column: 'level', source: 'e.level' },
  { column: 'location', source: 'e.location' },
  { column: 'user_agent', source: 'e.user_agent' },
];

export const songplays: TransformStep = upsertStep({
  table: 'songplays',
  file: loaderFile(import.meta.url),
  role: 'fact',
  description: 'songplays from NextSong events, matched to songs by title, artist and duration',
  key: KEY,
  surrogateKey: 'songplay_id',
  // It matches against the songs loaded before (incremental loads), with their own artist names.
  dependsOn: ['songs'],
  references: [
    { column: 'user_id', table: 'users', targetColumn: 'user_id', nullable: false },
    { column: 'start_time', table: 'time', targetColumn: 'start_time', nullable: false },
    { column: 'song_id', table: 'songs', targetColumn: 'song_id', nullable: true },
    { column: 'artist_id', table: 'artists', targetColumn: 'artist_id', nullable: true },
  ],
  checks: [
    {
      name: 'staged NextSong events have their songplay',
      description: 'every NextSong event of a known user in staging is in songplays (nothing lost)',
      sql: `SELECT e.user_id, e.session_id, e.ts
FROM staging_events AS e
LEFT JOIN songplays AS sp
    ON sp.user_id = e.user_id
    AND sp.session_id = e.session_id
    AND sp.start_time = ${epochMsToTimestamp('e.ts')}
WHERE ${SONGPLAY_EVENTS}
    AND sp.songplay_id IS NULL`,
    },
  ],
  columns: [
    'start_time',
    'user_id',
    'level',
    'song_id',
    'artist_id',
    'session_id',
    'location',
    'user_agent',
    'item_in_session',
    'event_song',
    'event_artist',
    'event_length',
  ],
  columnSources: {
    columns: {
      start_time: ['staging_events.ts'],
      user_id: ['staging_events.user_id'],
      level: ['staging_events.level'],
      song_id: ['staging_songs.song_id', 'songs.song_id'],
      artist_id: ['staging_songs.artist_id', 'songs.artist_id'],
      session_id: ['staging_events.session_id'],
      location: ['staging_events.location'],
      user_agent: ['staging_events.user_agent'],
      item_in_session: ['staging_events.item_in_session'],
      event_song: ['staging_events.song'],
      event_artist: ['staging_events.artist'],
      event_length: ['staging_events.length'],
    },
    // NextSong events of a known user; the song matched by title, artist name and duration; one row per natural key.
    rows: [
      'staging_events.page',
      'staging_events.user_id',
      'staging_events.session_id',
      'staging_events.ts',
      'staging_events.song',
      'staging_events.artist',
      'staging_events.length',
      'staging_events.item_in_session',
      'staging_events.level',
      'staging_events.location',
      'staging_events.user_agent',
      'staging_songs.song_id',
      'staging_songs.title',
      'staging_songs.artist_name',
      'staging_songs.duration',
      'songs.song_id',
      'songs.title',
      'songs.artist_name',
      'songs.duration',
    ],
  },
  // The songs an event can match, in a table of its own with statistics: the
  // planner then hashes these (a few thousand) and streams the events past
  // them in parallel. A temporary table would make PostgreSQL plan without
  // parallel workers (they cannot read another session's temporary tables);
  // on Redshift it is a TEMP table replicated to every node (DISTSTYLE ALL, as
  // staging_songs is), so the match join needs no redistribution.
  workTables: [
    {
      name: 'songplays_candidates',
      distribution: { style: 'all' },
      parallelRead: true,
      select: `SELECT song_id, artist_id, title, artist_name, duration
FROM staging_songs
UNION ALL
SELECT known.song_id, known.artist_id, known.title, known.artist_name, known.duration
FROM songs AS known
LEFT JOIN staging_songs AS staged ON staged.song_id = known.song_id
WHERE staged.song_id IS NULL`,
    },
  ],
  // The plays ranked: the staged events', and the plays stored before that a
  // staged song file matches better (an unmatched play, or one matched to a
  // larger song_id): a song file that arrives after its plays matches them as
  // one full load of the same files would (issue 30). A run that stages no
  // song files reads no stored play.
  select: `SELECT start_time, user_id, level, song_id, artist_id, session_id, location, user_agent,
    item_in_session, event_song, event_artist, event_length
FROM (
    SELECT
        e.start_time,
        e.user_id,
        e.level,
        s.song_id,
        s.artist_id,
        e.session_id,
        e.location,
        e.user_agent,
        e.item_in_session,
        e.event_song,
        e.event_artist,
        e.event_length,
        ROW_NUMBER() OVER (
            PARTITION BY e.user_id, e.session_id, e.start_time
            ORDER BY ${rankOrderBy(RANKING)}
        ) AS rn
    FROM (
        SELECT
            ${epochMsToTimestamp('e.ts')} AS start_time,
            e.user_id, e.level, e.session_id, e.location, e.user_agent, e.item_in_session,
            e.song AS event_song, e.artist AS event_artist, e.length AS event_length
        FROM staging_events AS e
        WHERE ${SONGPLAY_EVENTS}
        UNION ALL
        SELECT
            sp.start_time,
            sp.user_id, sp.level, sp.session_id, sp.location, sp.user_agent, sp.item_in_session,
            sp.event_song, sp.event_artist, sp.event_length
        FROM songplays AS sp
        WHERE EXISTS (
            SELECT 1
            FROM staging_songs AS staged
            WHERE staged.title = sp.event_song
                AND staged.artist_name = sp.event_artist
                AND ABS(staged.duration - sp.event_length) <= 0.01
                AND (sp.song_id IS NULL OR staged.song_id < sp.song_id)
        )
    ) AS e
    LEFT JOIN songplays_candidates AS s
        ON s.title = e.event_song
        AND s.artist_name = e.event_artist
        AND ABS(s.duration - e.event_length) <= 0.01
) AS ranked
WHERE rn = 1`,
  // A play stored by an earlier run that outranks the batch's row stays (Redshift's MERGE takes no
  // condition on WHEN MATCHED, so the batch row goes instead).
  prune: [
    `DELETE FROM songplays_batch
USING songplays
WHERE ${KEY.map((k) => `songplays.${k} = songplays_batch.${k}`).join('\n    AND ')}
    AND ${ranksBefore(RANKING, 'songplays', 'songplays_batch')}`,
  ],
  // Redshift: the batch is distributed as songplays is (migration 7), so the MERGE joins on each slice.
  distribution: { style: 'key', key: 'start_time' },
  // Statistics of the key alone: what the MERGE's join needs (the wide text columns cost the most to analyze).
  analyze: KEY,
});
