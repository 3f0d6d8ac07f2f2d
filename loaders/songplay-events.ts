// The staged events that are songplays, and their start time: shared by the
// songplays and time steps (and songplays' completeness check), so both read
// the same events with the same conversion.

/** Epoch milliseconds to TIMESTAMP on both engines, milliseconds kept, no time zone involved. */
export const epochMsToTimestamp = (column: string) =>
  `TIMESTAMP 'epoch' + (${column} / 1000) * INTERVAL '1 second' + (${column} % 1000) * INTERVAL '1 millisecond'`;

/** The events (alias `e`) that are songplays. */
export const SONGPLAY_EVENTS = `e.page = 'NextSong'
        AND e.user_id IS NOT NULL
        AND e.session_id IS NOT NULL
        AND e.ts IS NOT NULL`;
