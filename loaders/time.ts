// time: one row per songplay start_time not yet in it, with its calendar parts
// (ISO week; weekday 0 = Sunday … 6 = Saturday). The start times come from the
// staged songplay events (the same events and conversion as songplays), so this
// step does not wait for songplays and runs beside it. start_time is a
// TIMESTAMP without time zone, so the session time zone never changes the parts.
// DATE_PART returns a double on both engines (PostgreSQL's EXTRACT returns
// NUMERIC, a third slower); rows go in in start_time order, which is the
// order of the table's index (PostgreSQL) and sort key (Redshift).
import { loaderFile, type TransformStep } from '../lib/load/steps.ts';
import { epochMsToTimestamp, SONGPLAY_EVENTS } from './songplay-events.ts';

const part = (p: string) => `CAST(DATE_PART('${p}', new_times.start_time) AS INTEGER)`;

export const time: TransformStep = {
  table: 'time',
  file: loaderFile(import.meta.url),
  role: 'dimension',
  description: 'time, one row per songplay start_time not yet in it',
  key: ['start_time'],
  dependsOn: [],
  // Every calendar part is computed from the songplay events' ts.
  columnSources: {
    columns: {
      start_time: ['staging_events.ts'],
      hour: ['staging_events.ts'],
      day: ['staging_events.ts'],
      week: ['staging_events.ts'],
      month: ['staging_events.ts'],
      year: ['staging_events.ts'],
      weekday: ['staging_events.ts'],
    },
    // The songplay events (SONGPLAY_EVENTS), their distinct start times.
    rows: ['staging_events.page', 'staging_events.user_id', 'staging_events.session_id', 'staging_events.ts'],
  },
  statements: () => [
    `INSERT INTO time (start_time, hour, day, week, month, year, weekday)
SELECT
    new_times.start_time,
    ${part('hour')},
    ${part('day')},
    ${part('week')},
    ${part('month')},
    ${part('year')},
    ${part('dow')}
FROM (
    SELECT DISTINCT ${epochMsToTimestamp('e.ts')} AS start_time
    FROM staging_events AS e
    WHERE ${SONGPLAY_EVENTS}
) AS new_times
LEFT JOIN time AS t ON t.start_time = new_times.start_time
WHERE t.start_time IS NULL
ORDER BY new_times.start_time`,
  ],
};
