/**
 * The report's charts: each one a Vega-Lite spec built from the rows of
 * analytics queries (lib/report/analytics/*.sql), compiled and rendered to SVG here
 * in Node (vega's headless View, no canvas, no browser), so the page needs no
 * script to show them. Scales, axes and bar sizes come from the data: the
 * charts stay right for any data size.
 */
import * as vega from 'vega';
import * as vl from 'vega-lite';
import { useFontMetrics } from './text-metrics.ts';
import { playsByPlatform } from './user-agent.ts';

export type Rows = readonly Record<string, unknown>[];

export interface ChartDef {
  readonly id: string;
  readonly title: string;
  /** One sentence under the title: what is counted, and in which unit. */
  readonly caption: string;
  /** The analytics queries (file names without .sql) whose rows the chart shows. */
  readonly queries: readonly string[];
  /** The spec for these rows, and how many bars or points it draws; no spec when there is nothing to draw. */
  build(rows: Readonly<Record<string, Rows>>): { spec?: vl.TopLevelSpec; marks: number };
}

const FONT = "'Liberation Sans', 'DejaVu Sans', Arial, Helvetica, sans-serif";
const WIDTH = 460;
const HEIGHT = 220;
/** A chart that spans the page (the html template widens its figure). */
const WIDE_WIDTH = 1040;
export const WIDE_CHARTS: ReadonlySet<string> = new Set([
  'plays-by-day',
  'conversions-per-day',
  'active-users-per-day',
]);

const CONFIG: vl.Config = {
  font: FONT,
  background: '#ffffff',
  padding: 4,
  view: { stroke: null },
  // maxExtent: vega places an axis title at most 200 px from the axis by default, over long labels.
  axis: {
    maxExtent: 400,
    labelFontSize: 11,
    titleFontSize: 12,
    titleFontWeight: 'normal',
    labelColor: '#374151',
    titleColor: '#111827',
    gridColor: '#e5e7eb',
  },
  legend: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', orient: 'top' },
};

const LEVEL_COLORS: Record<string, string> = { free: '#60a5fa', paid: '#d97706', unknown: '#9ca3af' };

const num = (v: unknown) => Number(v);
const str = (v: unknown) => (v === null || v === undefined ? 'unknown' : String(v));

function levelColor(levels: readonly string[]) {
  const domain = [...new Set(levels)].sort();
  return { domain, range: domain.map((l) => LEVEL_COLORS[l] ?? '#6b7280') };
}

const playsAxis = { field: 'plays', type: 'quantitative', title: 'Plays (count)' } as const;

/** A horizontal bar chart of labelled counts, largest first (top-10 lists). */
function rankedBars(
  values: { label: string; value: number }[],
  valueTitle: string,
  labelTitle: string,
): vl.TopLevelSpec {
  return {
    width: WIDTH - 200,
    height: { step: 20 },
    data: { values },
    mark: { type: 'bar', color: '#2563eb' },
    encoding: {
      y: {
        field: 'label',
        type: 'nominal',
        title: labelTitle,
        sort: { field: 'value', order: 'descending' },
        axis: { labelLimit: 300 },
      },
      x: { field: 'value', type: 'quantitative', title: valueTitle, axis: { tickMinStep: 1, format: 'd' } },
      tooltip: [
        { field: 'label', title: labelTitle },
        { field: 'value', title: valueTitle },
      ],
    },
  };
}

/** A vertical bar chart of counts in the query's own order (buckets, levels). */
function orderedBars(
  values: { label: string; value: number; color?: string }[],
  labelTitle: string,
  valueTitle: string,
): vl.TopLevelSpec {
  return {
    width: { step: 56 },
    height: HEIGHT,
    data: { values },
    mark: { type: 'bar', color: '#2563eb' },
    encoding: {
      x: {
        field: 'label',
        type: 'ordinal',
        title: labelTitle,
        sort: values.map((v) => v.label),
        axis: { labelAngle: 0 },
      },
      y: { field: 'value', type: 'quantitative', title: valueTitle, axis: { tickMinStep: 1, format: 'd' } },
      ...(values.some((v) => v.color)
        ? {
            color: {
              field: 'label',
              type: 'nominal',
              legend: null,
              scale: { domain: values.map((v) => v.label), range: values.map((v) => v.color ?? '#2563eb') },
            },
          }
        : {}),
      tooltip: [
        { field: 'label', title: labelTitle },
        { field: 'value', title: valueTitle },
      ],
    },
  };
}

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const pad2 = (n: number) => String(n).padStart(2, '0');

type Row = Rows[number];

/** A chart of one bar per row of one query, largest first (the top-N lists). */
function rankedChart(
  query: string,
  label: (r: Row) => string,
  value: string,
  valueTitle: string,
  labelTitle: string,
): ChartDef['build'] {
  return (rows) => {
    const values = (rows[query] ?? []).map((r) => ({ label: label(r), value: num(r[value]) }));
    return values.length === 0
      ? { marks: 0 }
      : { marks: values.length, spec: rankedBars(values, valueTitle, labelTitle) };
  };
}

/** A chart of one bar per row of one query, in the query's order; `color` picks a bar's colour from its row. */
function orderedChart(
  query: string,
  label: string,
  value: string,
  labelTitle: string,
  valueTitle: string,
  color?: (r: Row) => string,
): ChartDef['build'] {
  return (rows) => {
    const values = (rows[query] ?? []).map((r) => ({
      label: str(r[label]),
      value: num(r[value]),
      ...(color ? { color: color(r) } : {}),
    }));
    return values.length === 0
      ? { marks: 0 }
      : { marks: values.length, spec: orderedBars(values, labelTitle, valueTitle) };
  };
}

/** An x axis of days (UTC) for `field` holding 'YYYY-MM-DD': one tick a day over a short period, its own ticks over a long one. */
function dayAxis(field: string, dates: readonly string[]) {
  const times = dates.map((d) => Date.parse(d));
  const days = (Math.max(...times) - Math.min(...times)) / 86_400_000;
  return {
    field,
    type: 'temporal',
    timeUnit: 'utcyearmonthdate',
    title: 'Day (UTC)',
    // Dates are days in UTC; a UTC scale keeps them from shifting with the builder's time zone.
    scale: { type: 'utc' },
    axis: {
      format: '%b %d',
      labelAngle: 0,
      labelOverlap: 'greedy',
      labelSeparation: 10,
      ...(days <= 62 ? { tickCount: { interval: 'day', step: 1 } } : {}),
    },
  } as const;
}

/** The x axis of a chart by day (dates) or by week (`week_start`, ordinal), on the field `period`. */
function periodAxis(period: 'day' | 'week_start', periods: readonly string[]) {
  return period === 'day'
    ? dayAxis('period', periods)
    : { field: 'period', type: 'ordinal', title: 'Week (UTC, from Monday)', axis: { labelAngle: 0 } };
}

const DIRECTION_COLORS = { domain: ['free → paid', 'paid → free'], range: ['#d97706', '#60a5fa'] };

/** Conversions (rows of `day|week_start, free_to_paid, paid_to_free`) as one bar per period and direction with any; zeros are not drawn. */
function conversionChart(query: string, period: 'day' | 'week_start'): ChartDef['build'] {
  return (rows) => {
    // `label`: the period as the query gives it, for the tooltip (vega-lite parses a temporal field into a date).
    const values = (rows[query] ?? []).flatMap((r) =>
      [
        {
          period: str(r[period]),
          label: str(r[period]),
          direction: 'free → paid',
          conversions: num(r['free_to_paid']),
        },
        {
          period: str(r[period]),
          label: str(r[period]),
          direction: 'paid → free',
          conversions: num(r['paid_to_free']),
        },
      ].filter((v) => v.conversions > 0),
    );
    if (values.length === 0) return { marks: 0 };
    const x = periodAxis(
      period,
      values.map((v) => v.period),
    );
    return {
      marks: values.length,
      spec: {
        width: period === 'day' ? WIDE_WIDTH : WIDTH,
        height: HEIGHT,
        data: { values },
        mark: { type: 'bar' },
        encoding: {
          x,
          xOffset: { field: 'direction', type: 'nominal', scale: { domain: DIRECTION_COLORS.domain } },
          y: {
            field: 'conversions',
            type: 'quantitative',
            title: 'Conversions (count)',
            axis: { tickMinStep: 1, format: 'd' },
          },
          color: { field: 'direction', type: 'nominal', title: 'Level change', scale: DIRECTION_COLORS },
          tooltip: [
            { field: 'label', title: period === 'day' ? 'Day (UTC)' : 'Week from (UTC)' },
            { field: 'direction', title: 'Change' },
            { field: 'conversions', title: 'Conversions' },
          ],
        },
      } as vl.TopLevelSpec,
    };
  };
}

/** Active users (rows of `day|week_start, level, users`) as bars stacked by level. */
function activeUsersChart(query: string, period: 'day' | 'week_start'): ChartDef['build'] {
  return (rows) => {
    const values = (rows[query] ?? []).map((r) => ({
      period: str(r[period]),
      label: str(r[period]),
      level: str(r['level']),
      users: num(r['users']),
    }));
    if (values.length === 0) return { marks: 0 };
    const x = periodAxis(
      period,
      values.map((v) => v.period),
    );
    return {
      marks: values.length,
      spec: {
        width: period === 'day' ? WIDE_WIDTH : WIDTH,
        height: HEIGHT,
        data: { values },
        mark: { type: 'bar' },
        encoding: {
          x,
          y: {
            field: 'users',
            type: 'quantitative',
            title: 'Active users (count)',
            stack: 'zero',
            axis: { tickMinStep: 1, format: 'd' },
          },
          color: {
            field: 'level',
            type: 'nominal',
            title: 'Level at the last play',
            scale: levelColor(values.map((v) => v.level)),
          },
          order: { field: 'level' },
          tooltip: [
            { field: 'label', title: period === 'day' ? 'Day (UTC)' : 'Week from (UTC)' },
            { field: 'level', title: 'Level' },
            { field: 'users', title: 'Active users' },
          ],
        },
      } as vl.TopLevelSpec,
    };
  };
}

export const CHARTS: readonly ChartDef[] = [
  {
    id: 'plays-by-hour',
    title: 'Plays by hour of day (UTC)',
    caption: 'Songs played in each hour of the day, UTC, stacked by the level of the user at play time.',
    queries: ['plays-by-hour-and-level'],
    build(rows) {
      const values = (rows['plays-by-hour-and-level'] ?? []).map((r) => ({
        hour: num(r['hour']),
        level: str(r['level']),
        plays: num(r['plays']),
      }));
      if (values.length === 0) return { marks: 0 };
      return {
        marks: values.length,
        spec: {
          width: WIDTH,
          height: HEIGHT,
          data: { values },
          mark: { type: 'bar' },
          encoding: {
            x: {
              field: 'hour',
              type: 'ordinal',
              title: 'Hour of day (UTC, 0-23)',
              scale: { domain: Array.from({ length: 24 }, (_, h) => h) },
              axis: { labelAngle: 0 },
            },
            y: { ...playsAxis, stack: 'zero' },
            color: {
              field: 'level',
              type: 'nominal',
              title: 'Level at play time',
              scale: levelColor(values.map((v) => v.level)),
            },
            order: { field: 'level' },
            tooltip: [
              { field: 'hour', title: 'Hour (UTC)' },
              { field: 'level', title: 'Level' },
              { field: 'plays', title: 'Plays' },
            ],
          },
        },
      };
    },
  },
  {
    id: 'plays-by-weekday',
    title: 'Plays by weekday (UTC)',
    caption: 'Songs played on each day of the week, UTC.',
    queries: ['plays-by-weekday'],
    build(rows) {
      const values = (rows['plays-by-weekday'] ?? []).map((r) => ({ day: str(r['day_name']), plays: num(r['plays']) }));
      if (values.length === 0) return { marks: 0 };
      return {
        marks: values.length,
        spec: {
          width: WIDTH,
          height: HEIGHT,
          data: { values },
          mark: { type: 'bar', color: '#2563eb' },
          encoding: {
            x: {
              field: 'day',
              type: 'ordinal',
              title: 'Weekday (UTC)',
              sort: WEEKDAYS,
              scale: { domain: WEEKDAYS },
              axis: { labelAngle: 0 },
            },
            y: playsAxis,
            tooltip: [
              { field: 'day', title: 'Weekday' },
              { field: 'plays', title: 'Plays' },
            ],
          },
        },
      };
    },
  },
  {
    id: 'plays-by-day',
    title: 'Plays per day',
    caption:
      'Songs played on each day (UTC) of the loaded period, free and paid users (level at play time), one point per day and level.',
    queries: ['plays-by-day'],
    build(rows) {
      const values = (rows['plays-by-day'] ?? []).map((r) => ({
        date: `${num(r['year'])}-${pad2(num(r['month']))}-${pad2(num(r['day']))}`,
        level: str(r['level']),
        plays: num(r['plays']),
      }));
      if (values.length === 0) return { marks: 0 };
      const dates = values.map((v) => Date.parse(v.date));
      const days = (Math.max(...dates) - Math.min(...dates)) / 86_400_000;
      return {
        marks: values.length,
        spec: {
          width: WIDE_WIDTH,
          height: HEIGHT,
          data: { values },
          mark: { type: 'line', point: true },
          encoding: {
            // Dates are days in UTC; a UTC scale keeps them from shifting with the builder's time zone.
            x: {
              field: 'date',
              type: 'temporal',
              timeUnit: 'utcyearmonthdate',
              title: 'Day (UTC)',
              scale: { type: 'utc' },
              // One tick a day over a short period (vega counts days in UTC on a utc scale); its own ticks over a long one.
              axis: {
                format: '%b %d',
                labelAngle: 0,
                labelOverlap: 'greedy',
                labelSeparation: 10,
                ...(days <= 62 ? { tickCount: { interval: 'day', step: 1 } } : {}),
              },
            },
            y: playsAxis,
            color: {
              field: 'level',
              type: 'nominal',
              title: 'Level at play time',
              scale: levelColor(values.map((v) => v.level)),
            },
            tooltip: [
              { field: 'date', title: 'Day (UTC)' },
              { field: 'level', title: 'Level' },
              { field: 'plays', title: 'Plays' },
            ],
          },
        },
      };
    },
  },
  {
    id: 'users-by-level',
    title: 'Users by level now',
    caption: "Users at each level today (the level of each user's latest event).",
    queries: ['users-by-level'],
    build: orderedChart(
      'users-by-level',
      'level',
      'users',
      'Level now',
      'Users (count)',
      (r) => LEVEL_COLORS[str(r['level'])] ?? '#6b7280',
    ),
  },
  {
    id: 'plays-by-level',
    title: 'Plays by level at play time',
    caption: 'Songs played by free and by paid users, by the level the user had when playing.',
    queries: ['free-vs-paid'],
    build: orderedChart(
      'free-vs-paid',
      'level',
      'plays',
      'Level at play time',
      'Plays (count)',
      (r) => LEVEL_COLORS[str(r['level'])] ?? '#6b7280',
    ),
  },
  {
    id: 'most-played-songs',
    title: 'The 10 most played songs',
    caption: 'Plays of the songs matched to the song data (plays without a song_id are not counted here).',
    queries: ['most-played-songs'],
    build: rankedChart(
      'most-played-songs',
      (r) => `${str(r['title'])} (${str(r['artist'])})`,
      'plays',
      'Plays (count)',
      'Song (artist)',
    ),
  },
  {
    id: 'most-played-artists',
    title: 'The 10 most played artists',
    caption: 'Plays of the songs matched to the song data, by artist.',
    queries: ['most-played-artists'],
    build: rankedChart('most-played-artists', (r) => str(r['artist']), 'plays', 'Plays (count)', 'Artist'),
  },
  {
    id: 'plays-by-platform',
    title: 'Plays by platform and browser',
    caption: "Songs played on each platform, split by browser, both parsed from the play's user agent.",
    queries: ['plays-by-user-agent'],
    build(rows) {
      const values = playsByPlatform((rows['plays-by-user-agent'] ?? []) as { user_agent: unknown; plays: unknown }[]);
      if (values.length === 0) return { marks: 0 };
      return {
        marks: values.length,
        spec: {
          width: WIDTH - 100,
          height: { step: 28 },
          data: { values },
          mark: { type: 'bar' },
          encoding: {
            y: {
              field: 'platform',
              type: 'nominal',
              title: 'Platform',
              sort: { op: 'sum', field: 'plays', order: 'descending' },
            },
            x: { ...playsAxis, stack: 'zero' },
            color: { field: 'browser', type: 'nominal', title: 'Browser', scale: { scheme: 'tableau10' } },
            order: { field: 'plays', sort: 'descending' },
            tooltip: [
              { field: 'platform', title: 'Platform' },
              { field: 'browser', title: 'Browser' },
              { field: 'plays', title: 'Plays' },
            ],
          },
        },
      };
    },
  },
  {
    id: 'top-locations',
    title: 'Top 10 locations',
    caption: "Songs played from each location (the user's location as the app logged it), largest first.",
    queries: ['top-locations'],
    build: rankedChart('top-locations', (r) => str(r['location']), 'plays', 'Plays (count)', 'Location'),
  },
  {
    id: 'sessions-by-plays',
    title: 'Session length: plays per session',
    caption: 'Sessions (a user and a session id) by the number of songs played in them.',
    queries: ['sessions-by-plays'],
    build: orderedChart(
      'sessions-by-plays',
      'plays_per_session',
      'sessions',
      'Plays per session (count)',
      'Sessions (count)',
    ),
  },
  {
    id: 'sessions-by-minutes',
    title: 'Session length: minutes per session',
    caption:
      "Sessions by the minutes from their first play's start to their last play's start (a one-play session lasts 0 minutes).",
    queries: ['sessions-by-minutes'],
    build: orderedChart(
      'sessions-by-minutes',
      'minutes_per_session',
      'sessions',
      'Minutes per session',
      'Sessions (count)',
    ),
  },
  {
    id: 'conversions-per-day',
    title: 'Conversions per day',
    caption:
      "Level changes on each day (UTC), by event time: free to paid and paid to free, from each user's level history (user_levels). Days with none are empty.",
    queries: ['conversions-by-day'],
    build: conversionChart('conversions-by-day', 'day'),
  },
  {
    id: 'conversions-per-week',
    title: 'Conversions per week',
    caption: 'Level changes in each week (Monday to Sunday, UTC), by event time: free to paid and paid to free.',
    queries: ['conversions-by-week'],
    build: conversionChart('conversions-by-week', 'week_start'),
  },
  {
    id: 'active-users-per-day',
    title: 'Active users per day',
    caption:
      'Users who played at least one song on each day (UTC), each counted once, at the level of their last play that day.',
    queries: ['active-users-by-day'],
    build: activeUsersChart('active-users-by-day', 'day'),
  },
  {
    id: 'active-users-per-week',
    title: 'Active users per week',
    caption:
      'Users who played at least one song in each week (Monday to Sunday, UTC), each counted once, at the level of their last play that week.',
    queries: ['active-users-by-week'],
    build: activeUsersChart('active-users-by-week', 'week_start'),
  },
  {
    id: 'weekly-retention',
    title: 'Weekly retention by cohort',
    caption:
      'Users grouped by the week of their first play (the cohort); each cell: the share of the cohort who played in the week so many weeks later.',
    queries: ['weekly-retention'],
    build(rows) {
      const values = (rows['weekly-retention'] ?? []).map((r) => ({
        cohort: str(r['cohort_week']),
        cohortUsers: num(r['cohort_users']),
        offset: num(r['week_offset']),
        active: num(r['active_users']),
        retained: num(r['retained_pct']),
      }));
      if (values.length === 0) return { marks: 0 };
      const offsets = [...new Set(values.map((v) => v.offset))].sort((a, b) => a - b);
      return {
        marks: values.length,
        spec: {
          width: { step: 56 },
          height: { step: 28 },
          data: { values },
          mark: { type: 'rect', stroke: '#ffffff', strokeWidth: 1 },
          encoding: {
            x: {
              field: 'offset',
              type: 'ordinal',
              title: 'Weeks after the cohort week (count)',
              scale: { domain: offsets },
              axis: { labelAngle: 0 },
            },
            y: { field: 'cohort', type: 'ordinal', title: 'Cohort (UTC, week from Monday)' },
            color: {
              field: 'retained',
              type: 'quantitative',
              title: 'Retained (%)',
              scale: {
                type: 'quantize',
                domain: [0, 100],
                range: ['#dbeafe', '#93c5fd', '#60a5fa', '#2563eb', '#1e3a8a'],
              },
            },
            tooltip: [
              { field: 'cohort', title: 'Cohort week from (UTC)' },
              { field: 'cohortUsers', title: 'Users in cohort' },
              { field: 'offset', title: 'Weeks later' },
              { field: 'active', title: 'Active users' },
              { field: 'retained', title: 'Retained (%)' },
            ],
          },
        },
      };
    },
  },
  {
    id: 'plays-around-upgrade',
    title: 'Plays before and after upgrading',
    caption:
      'Each change from free to paid (a user and the day, UTC): songs played in the free interval it ended and in the paid interval it started.',
    queries: ['plays-around-upgrade'],
    build(rows) {
      const values = (rows['plays-around-upgrade'] ?? []).flatMap((r) =>
        (['before', 'after'] as const).map((period) => ({
          user: str(r['user_id']),
          upgrade: `${str(r['user_id'])} (${str(r['upgraded_at']).slice(0, 10)})`,
          upgradedAt: str(r['upgraded_at']),
          period,
          plays: num(r[`plays_${period}`]),
          days: num(r[`days_${period}`]),
        })),
      );
      if (values.length === 0) return { marks: 0 };
      return {
        marks: values.length,
        spec: {
          // A fixed width: a step width would count each user's two bars (xOffset) apart.
          width: WIDTH,
          height: HEIGHT,
          data: { values },
          mark: { type: 'bar' },
          encoding: {
            x: {
              field: 'upgrade',
              type: 'ordinal',
              title: 'User (day of the upgrade, UTC)',
              sort: [...new Set(values.map((v) => v.upgrade))],
              axis: { labelAngle: -45 },
            },
            xOffset: { field: 'period', type: 'nominal', sort: ['before', 'after'] },
            y: playsAxis,
            color: {
              field: 'period',
              type: 'nominal',
              title: 'Plays, relative to the upgrade',
              sort: ['before', 'after'],
              scale: { domain: ['before', 'after'], range: [LEVEL_COLORS['free'], LEVEL_COLORS['paid']] },
            },
            tooltip: [
              { field: 'user', title: 'User' },
              { field: 'upgradedAt', title: 'Upgraded at (UTC)' },
              { field: 'period', title: 'Period' },
              { field: 'plays', title: 'Plays' },
              { field: 'days', title: 'Days with plays' },
            ],
          },
        },
      };
    },
  },
];

/** The charts of the page's "Free and paid" section, in order. */
export const FREE_AND_PAID_CHARTS: readonly string[] = [
  'conversions-per-day',
  'conversions-per-week',
  'active-users-per-day',
  'active-users-per-week',
  'weekly-retention',
  'plays-around-upgrade',
];

/** A phone's chart width (a 390 px screen, less the page's and the figure's padding). */
const NARROW_WIDTH = 300;

/** The spec drawn for a phone: the plot NARROW_WIDTH wide whatever it was (a step width too), labels cut shorter. */
export function narrowSpec(spec: vl.TopLevelSpec): vl.TopLevelSpec {
  // Every axis's labelLimit (an encoding's own too) at most 110 px: long labels (cities) are cut with an ellipsis;
  // horizontal category labels (weekdays) slanted, so that they do not run into each other.
  const narrowed = JSON.parse(JSON.stringify({ ...spec, width: NARROW_WIDTH }), (key, value: unknown) => {
    if (key === 'labelLimit' && typeof value === 'number') return Math.min(value, 110);
    if (key === 'labelAngle' && value === 0) return -45;
    return value;
  }) as vl.TopLevelSpec;
  const config: vl.Config = { ...(spec.config ?? {}), axis: { ...CONFIG.axis, labelLimit: 110, labelFontSize: 11 } };
  return { ...narrowed, config } as vl.TopLevelSpec;
}

/** Compiles a Vega-Lite spec and renders it to an SVG string, headless (no canvas, no DOM). */
export async function renderSvg(spec: vl.TopLevelSpec): Promise<string> {
  useFontMetrics();
  const compiled = vl.compile({ ...spec, config: { ...CONFIG, ...(spec.config ?? {}) } } as vl.TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    return withTooltips(svg, describedItems((view.scenegraph() as unknown as { root: SceneMark }).root));
  } finally {
    view.finalize();
  }
}

interface SceneItem {
  readonly items?: readonly SceneMark[];
  readonly description?: unknown;
  readonly aria?: boolean;
  readonly tooltip?: unknown;
}
interface SceneMark {
  readonly marktype: string;
  readonly items?: readonly SceneItem[];
}

/** vega's scenegraph traversal and mark types, typed for what describedItems reads. */
const sceneVisit = vega.sceneVisit as unknown as <T>(scene: SceneMark | SceneItem, visitor: (x: T) => void) => void;
const MARK_TYPES = (vega as unknown as { Marks: Record<string, { nested?: boolean }> }).Marks;

/**
 * The scenegraph's mark items that vega's SVG renderer writes with an
 * aria-label and role graphics-symbol (a described item of any mark but a
 * group), in the order it writes them: its own traversal (sceneVisit; a
 * line's or an area's items are one element, written from the first).
 */
export function describedItems(root: SceneMark): SceneItem[] {
  const out: SceneItem[] = [];
  const mark = (scene: SceneMark) => {
    const process = (item: SceneItem) => {
      if (scene.marktype === 'group') sceneVisit(item, (child: SceneMark) => mark(child));
      else if (item.description !== null && item.description !== undefined && item.aria !== false) out.push(item);
    };
    const nested = MARK_TYPES[scene.marktype]?.nested;
    if (nested) {
      if (scene.items?.[0]) process(scene.items[0]);
    } else sceneVisit(scene, process);
  };
  mark(root);
  return out;
}

/** vega's default tooltip text for an item's tooltip value (vega-view's formatTooltip: "key: value" lines). */
export function tooltipText(value: unknown): string {
  const one = (v: unknown) =>
    Array.isArray(v) ? '[…]' : v !== null && typeof v === 'object' && !(v instanceof Date) ? '{…}' : String(v);
  const list = (v: unknown[]) => `[${v.map(one).join(', ')}]`;
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) return list(value);
  if (typeof value === 'object' && !(value instanceof Date))
    return Object.entries(value)
      .map(([k, v]) => `${k}: ${Array.isArray(v) ? list(v) : one(v)}`)
      .join('\n');
  return String(value);
}

const xmlText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * Hover tooltips without a script: every mark item that has a tooltip (the
 * chart's `tooltip` fields, formatted by Vega-Lite) gets vega's own tooltip
 * text as an SVG <title>, which the browser shows on hover, as vega's default
 * tooltip handler does with a title attribute in a live view. `items`: the
 * described items in the order the SVG has them (describedItems).
 */
export function withTooltips(svg: string, items: readonly SceneItem[]): string {
  let k = 0;
  const out = svg.replace(
    /<((?!g\b)\w+)\b([^>]*?\srole="graphics-symbol"[^>]*?)(\/?)>/g,
    (whole, tag: string, attrs: string, selfClosing: string) => {
      const item = items[k];
      k += 1;
      if (item?.tooltip === null || item?.tooltip === undefined) return whole;
      const title = `<title>${xmlText(tooltipText(item.tooltip))}</title>`;
      return selfClosing ? `<${tag}${attrs}>${title}</${tag}>` : `${whole}${title}`;
    },
  );
  if (k !== items.length)
    throw new Error(`the chart's SVG has ${k} described marks but its scenegraph ${items.length}: no tooltips matched`);
  return out;
}
