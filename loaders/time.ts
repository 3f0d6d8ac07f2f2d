// time: one row per distinct start_time in songplays, with its calendar parts
// (ISO week; weekday 0 = Sunday … 6 = Saturday). start_time is a TIMESTAMP
// without time zone, so the session time zone never changes the parts.
import type { TransformStep } from '../lib/transform-step.ts';

const part = (p: string) => `CAST(EXTRACT(${p} FROM new_times.start_time) AS INTEGER)`;

export const time: TransformStep = {
  table: 'time',
  description: 'time, one row per songplay start_time not yet in it',
  statements: [
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
    SELECT DISTINCT sp.start_time
    FROM songplays AS sp
    LEFT JOIN time AS t ON t.start_time = sp.start_time
    WHERE t.start_time IS NULL
) AS new_times`,
  ],
};
