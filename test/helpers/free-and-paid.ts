/**
 * Log events built for the free and paid views (lib/report/analytics/:
 * conversions, active users, weekly retention, plays around upgrading), and
 * their answers worked out by hand. November 2018: the 5th, 12th and 19th are
 * Mondays, so the weeks (Monday to Sunday, UTC) start on those days.
 *
 * - user 20 plays free on Mon 5th, upgrades on Wed 7th 09:00 on a Home page
 *   (any page counts), then plays paid on the 7th, 8th and Mon 12th;
 * - user 21 plays paid on the 5th and 6th, is away the whole week of the
 *   12th (churns), and comes back on Tue 20th, free (a downgrade that day);
 * - user 22 plays free on the 6th and the 13th at 09:00, upgrades on a play on
 *   the 13th at 15:00, downgrades on the 19th at 20:00 (after a paid play at
 *   10:00 that day), upgrades again on Wed 21st and plays on Mon 26th, the
 *   only one that week;
 * - user 23 is first seen in the week of the 12th (Wed 14th), plays on Sun
 *   18th at 23:59:59.999 (still that week) and on the 21st, always free;
 * - user 24 has only a Home event (on the 5th): an interval, but no plays.
 */
import { event, type Event } from './fixtures.ts';
import type { TestDatabase } from './database.ts';

/** A time on a day of November 2018, UTC, in epoch milliseconds. */
export const nov = (day: number, hour: number, minute = 0, second = 0, ms = 0) =>
  Date.UTC(2018, 10, day, hour, minute, second, ms);

let session = 100;
const play = (userId: string, level: string, ts: number): Event =>
  event({ userId, level, ts, sessionId: (session += 1), song: 'Unknown Tune', artist: 'Nobody', length: 99.0 });
const visit = (userId: string, level: string, ts: number): Event =>
  event({ userId, level, ts, sessionId: (session += 1), page: 'Home', song: null, artist: null, length: null });

export const FREE_AND_PAID_EVENTS: readonly Event[] = [
  play('20', 'free', nov(5, 10)),
  play('20', 'free', nov(5, 10, 5)),
  visit('20', 'paid', nov(7, 9)),
  play('20', 'paid', nov(7, 11)),
  play('20', 'paid', nov(8, 12)),
  play('20', 'paid', nov(12, 8)),

  play('21', 'paid', nov(5, 20)),
  play('21', 'paid', nov(6, 21)),
  play('21', 'free', nov(20, 7)),

  play('22', 'free', nov(6, 9)),
  play('22', 'free', nov(13, 9)),
  play('22', 'paid', nov(13, 15)),
  play('22', 'paid', nov(19, 10)),
  play('22', 'free', nov(19, 20)),
  play('22', 'paid', nov(21, 18)),
  play('22', 'paid', nov(26, 8)),

  play('23', 'free', nov(14, 12)),
  play('23', 'free', nov(18, 23, 59, 59, 999)),
  play('23', 'free', nov(21, 12)),

  visit('24', 'free', nov(5, 12)),
];

/** The answers of `analyze --format json` for these events, worked out by hand from the list above. */
export const FREE_AND_PAID_ANSWERS = {
  'conversions-by-day': [
    { day: '2018-11-07', free_to_paid: 1, paid_to_free: 0 },
    { day: '2018-11-13', free_to_paid: 1, paid_to_free: 0 },
    { day: '2018-11-19', free_to_paid: 0, paid_to_free: 1 },
    { day: '2018-11-20', free_to_paid: 0, paid_to_free: 1 },
    { day: '2018-11-21', free_to_paid: 1, paid_to_free: 0 },
  ],
  'conversions-by-week': [
    { week_start: '2018-11-05', free_to_paid: 1, paid_to_free: 0 },
    { week_start: '2018-11-12', free_to_paid: 1, paid_to_free: 0 },
    { week_start: '2018-11-19', free_to_paid: 1, paid_to_free: 2 },
  ],
  'active-users-by-day': [
    { day: '2018-11-05', level: 'free', users: 1 }, // 20
    { day: '2018-11-05', level: 'paid', users: 1 }, // 21
    { day: '2018-11-06', level: 'free', users: 1 }, // 22
    { day: '2018-11-06', level: 'paid', users: 1 }, // 21
    { day: '2018-11-07', level: 'paid', users: 1 }, // 20 (its Home event is no play)
    { day: '2018-11-08', level: 'paid', users: 1 },
    { day: '2018-11-12', level: 'paid', users: 1 },
    { day: '2018-11-13', level: 'paid', users: 1 }, // 22: free at 09:00, paid at 15:00, counted once, paid
    { day: '2018-11-14', level: 'free', users: 1 },
    { day: '2018-11-18', level: 'free', users: 1 }, // 23 at 23:59:59.999
    { day: '2018-11-19', level: 'free', users: 1 }, // 22: paid at 10:00, free at 20:00, counted once, free
    { day: '2018-11-20', level: 'free', users: 1 }, // 21 is back
    { day: '2018-11-21', level: 'free', users: 1 }, // 23
    { day: '2018-11-21', level: 'paid', users: 1 }, // 22
    { day: '2018-11-26', level: 'paid', users: 1 }, // 22
  ],
  'active-users-by-week': [
    { week_start: '2018-11-05', level: 'free', users: 1 }, // 22
    { week_start: '2018-11-05', level: 'paid', users: 2 }, // 20 (last play paid), 21
    { week_start: '2018-11-12', level: 'free', users: 1 }, // 23
    { week_start: '2018-11-12', level: 'paid', users: 2 }, // 20, 22
    { week_start: '2018-11-19', level: 'free', users: 2 }, // 21, 23
    { week_start: '2018-11-19', level: 'paid', users: 1 }, // 22
    { week_start: '2018-11-26', level: 'paid', users: 1 }, // 22
  ],
  'weekly-retention': [
    { cohort_week: '2018-11-05', cohort_users: 3, week_offset: 0, active_users: 3, retained_pct: 100 },
    { cohort_week: '2018-11-05', cohort_users: 3, week_offset: 1, active_users: 2, retained_pct: 66.7 }, // 20, 22
    { cohort_week: '2018-11-05', cohort_users: 3, week_offset: 2, active_users: 2, retained_pct: 66.7 }, // 21 back, 22
    { cohort_week: '2018-11-05', cohort_users: 3, week_offset: 3, active_users: 1, retained_pct: 33.3 }, // 22
    { cohort_week: '2018-11-12', cohort_users: 1, week_offset: 0, active_users: 1, retained_pct: 100 },
    { cohort_week: '2018-11-12', cohort_users: 1, week_offset: 1, active_users: 1, retained_pct: 100 },
    { cohort_week: '2018-11-12', cohort_users: 1, week_offset: 2, active_users: 0, retained_pct: 0 }, // 23 did not play
  ],
  // One row per change from free to paid: plays in the free interval it ends and in the paid interval it starts.
  'plays-around-upgrade': [
    {
      user_id: 20,
      upgraded_at: '2018-11-07T09:00:00Z',
      plays_before: 2,
      plays_after: 3,
      days_before: 1,
      days_after: 3,
    },
    // 22's first upgrade: free from the 6th, paid until the downgrade of the 19th at 20:00.
    {
      user_id: 22,
      upgraded_at: '2018-11-13T15:00:00Z',
      plays_before: 2,
      plays_after: 2,
      days_before: 2,
      days_after: 2,
    },
    // 22's second: free from the 19th at 20:00, paid since.
    {
      user_id: 22,
      upgraded_at: '2018-11-21T18:00:00Z',
      plays_before: 1,
      plays_after: 2,
      days_before: 1,
      days_after: 2,
    },
  ],
} as const;

export const FREE_AND_PAID_VIEWS = Object.keys(FREE_AND_PAID_ANSWERS);

export interface Interval {
  readonly user_id: number;
  readonly level: string;
  readonly valid_from: string;
  readonly valid_to: string | null;
}

const sqlTimestamp = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

/**
 * user_levels by its rules, computed here from the events (not by the
 * loader): events with a userId, a ts and a level, any page, in (ts,
 * itemInSession) order; an interval at each user's first event and at each
 * change of level.
 */
export function expectedIntervals(events: readonly Event[]): Interval[] {
  const byUser = new Map<number, Event[]>();
  for (const e of events) {
    if (e['userId'] === '' || e['userId'] == null || e['ts'] == null || e['level'] == null) continue;
    const id = Number(e['userId']);
    byUser.set(id, [...(byUser.get(id) ?? []), e]);
  }
  const out: Interval[] = [];
  for (const [user_id, list] of [...byUser].sort((a, b) => a[0] - b[0])) {
    const sorted = [...list].sort(
      (a, b) => Number(a['ts']) - Number(b['ts']) || Number(a['itemInSession']) - Number(b['itemInSession']),
    );
    const starts = sorted.filter((e, i) => i === 0 || e['level'] !== sorted[i - 1]?.['level']);
    starts.forEach((e, i) => {
      const next = starts[i + 1];
      out.push({
        user_id,
        level: String(e['level']),
        valid_from: sqlTimestamp(Number(e['ts'])),
        valid_to: next ? sqlTimestamp(Number(next['ts'])) : null,
      });
    });
  }
  return out;
}

/** user_levels as stored, in (user_id, valid_from) order, timestamps as text with milliseconds. */
export async function storedIntervals(tdb: Pick<TestDatabase, 'query'>): Promise<Interval[]> {
  return tdb.query<Interval>(
    `SELECT user_id, level,
        TO_CHAR(valid_from, 'YYYY-MM-DD HH24:MI:SS.MS') AS valid_from,
        TO_CHAR(valid_to, 'YYYY-MM-DD HH24:MI:SS.MS') AS valid_to
    FROM user_levels ORDER BY user_id, valid_from`,
  );
}
