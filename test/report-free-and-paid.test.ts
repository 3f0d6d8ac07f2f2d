// The report's "Free and paid" section (issue 30, item 4) on the events built
// for the free and paid views (test/helpers/free-and-paid.ts), in Debian's
// Chromium: each chart draws one mark per value its query gives, every mark's
// hover tooltip (its SVG <title>) carries that value exactly, bars are as tall
// as their counts, and each user's timeline is found by its link.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import test from 'ava';
import { pipeline } from '../loaders/index.ts';
import { analyticsQueries } from '../lib/report/analytics.ts';
import { dialectByName } from '../lib/dialect/index.ts';
import { launchChromium } from '../lib/report/page/chromium.ts';
import { writeReport } from '../lib/report/page/build.ts';
import { FREE_AND_PAID_CHARTS, withTooltips } from '../lib/report/page/charts.ts';
import { chromiumAvailable, chromiumTitle } from './helpers/chromium.ts';
import { PROJECT_DIR } from './helpers/cli.ts';
import type { TestDatabase } from './helpers/database.ts';
import { writeFixture } from './helpers/fixtures.ts';
import { FREE_AND_PAID_EVENTS } from './helpers/free-and-paid.ts';
import { load, migratedDatabase } from './helpers/load.ts';
import { fileScope, tempDir } from './helpers/temp-dir.ts';

const scope = fileScope();
let tdb: TestDatabase;
let reportFile: string;
/** Each view's rows, run here with the SQL the page ran. */
const sqlRows: Record<string, Record<string, unknown>[]> = {};

test.before(async () => {
  tdb = await migratedDatabase();
  const f = await writeFixture(scope, { logs: { '2018/11/events.json': [...FREE_AND_PAID_EVENTS] } });
  await load(tdb, f.env);
  const db = await tdb.open();
  try {
    reportFile = await writeReport(db, await tempDir(scope, 'sparkify-report-fp-'), pipeline);
  } finally {
    await db.close();
  }
  for (const q of analyticsQueries(dialectByName('postgres'))) {
    if (/^(conversions|active-users|weekly-retention|plays-around-upgrade|user-timelines)/.test(q.name))
      sqlRows[q.name] = await tdb.query(q.sql);
  }
});
test.after.always(async () => {
  await tdb?.drop();
});

/** A tooltip's text ("Field: value" lines) as its fields. */
function fields(tooltip: string): Record<string, string> {
  return Object.fromEntries(
    tooltip.split('\n').map((part) => {
      const at = part.indexOf(': ');
      return [part.slice(0, at), part.slice(at + 2)];
    }),
  );
}
const sorted = (xs: string[][]) => xs.map((x) => x.join(' | ')).sort();

test("a described mark gets vega's tooltip text as an SVG <title> (the hover tooltip); axes and legends do not; a mismatch fails", (t) => {
  const svg =
    '<g role="graphics-object" aria-roledescription="rect mark container" aria-label="x"><path aria-label="Day: 2018-11-07; Users: 1" role="graphics-symbol" aria-roledescription="bar" d="M0,0h1v1h-1Z"/></g><g class="mark-text role-axis-label"><text transform="x">Nov 07</text></g>';
  t.is(
    withTooltips(svg, [{ description: 'x', tooltip: { Day: '2018-11-07', 'Users & co': 1 } }]),
    '<g role="graphics-object" aria-roledescription="rect mark container" aria-label="x"><path aria-label="Day: 2018-11-07; Users: 1" role="graphics-symbol" aria-roledescription="bar" d="M0,0h1v1h-1Z"><title>Day: 2018-11-07\nUsers &amp; co: 1</title></path></g><g class="mark-text role-axis-label"><text transform="x">Nov 07</text></g>',
  );
  t.throws(() => withTooltips(svg, []), { message: /1 described marks but its scenegraph 0/ });
});

(chromiumAvailable ? test.serial : test.skip)(
  chromiumTitle(
    'in Chromium: the Free and paid charts, one mark per value with its exact values in its tooltip, bars as tall as their counts',
  ),
  async (t) => {
    const browser = await launchChromium();
    t.teardown(() => browser.close());
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(pathToFileURL(reportFile).href, { waitUntil: 'load' });
    t.deepEqual(errors, []);
    const charts = Object.fromEntries(
      await page.$$eval('#free-and-paid figure.chart', (figures) =>
        figures.map((f) => [
          f.getAttribute('data-chart') ?? '',
          [...f.querySelectorAll('.plot-wide svg g.role-mark.mark-rect > path')].map((p) => ({
            tooltip: p.querySelector(':scope > title')?.textContent ?? '',
            height: (p as unknown as { getBBox(): { height: number } }).getBBox().height,
          })),
        ]),
      ),
    ) as Record<string, { tooltip: string; height: number }[]>;
    t.deepEqual(Object.keys(charts), [...FREE_AND_PAID_CHARTS], 'the section draws its six charts, in order');
    for (const [id, marks] of Object.entries(charts))
      t.true(marks.length > 0 && marks.every((m) => m.tooltip.length > 0), `${id}: every mark has a tooltip`);
    const tips = (id: string, keys: string[]) =>
      sorted((charts[id] ?? []).map((m) => keys.map((k) => fields(m.tooltip)[k] ?? '?')));

    // Conversions: one bar per day (week) and direction with any; zeros are not drawn.
    for (const [id, query, period, label] of [
      ['conversions-per-day', 'conversions-by-day', 'day', 'Day (UTC)'],
      ['conversions-per-week', 'conversions-by-week', 'week_start', 'Week from (UTC)'],
    ] as const) {
      const expected = (sqlRows[query] ?? []).flatMap((r) =>
        [
          [String(r[period]), 'free → paid', String(r['free_to_paid'])],
          [String(r[period]), 'paid → free', String(r['paid_to_free'])],
        ].filter((x) => x[2] !== '0'),
      );
      t.true(expected.length >= 3, `${query} has rows`);
      t.deepEqual(tips(id, [label, 'Change', 'Conversions']), sorted(expected), id);
    }

    // Active users: one bar per row, stacked by level, as tall as its count.
    for (const [id, query, period, label] of [
      ['active-users-per-day', 'active-users-by-day', 'day', 'Day (UTC)'],
      ['active-users-per-week', 'active-users-by-week', 'week_start', 'Week from (UTC)'],
    ] as const) {
      const expected = (sqlRows[query] ?? []).map((r) => [String(r[period]), String(r['level']), String(r['users'])]);
      t.deepEqual(tips(id, [label, 'Level', 'Active users']), sorted(expected), id);
    }
    const weekBars = (charts['active-users-per-week'] ?? []).map((m) => ({
      users: Number(fields(m.tooltip)['Active users']),
      height: m.height,
    }));
    const pxPerUser = (weekBars[0]?.height ?? 0) / (weekBars[0]?.users ?? 1);
    t.true(pxPerUser > 5, `bars are drawn (${pxPerUser} px per user)`);
    t.true(new Set(weekBars.map((b) => b.users)).size > 1, 'bars of different counts');
    for (const b of weekBars)
      t.true(Math.abs(b.height - b.users * pxPerUser) < 0.5, `${b.height}px for ${b.users} users`);

    // Retention: one cell per cohort and week after it, with its counts and share.
    t.deepEqual(
      tips('weekly-retention', [
        'Cohort week from (UTC)',
        'Users in cohort',
        'Weeks later',
        'Active users',
        'Retained (%)',
      ]),
      sorted(
        (sqlRows['weekly-retention'] ?? []).map((r) => [
          String(r['cohort_week']),
          String(r['cohort_users']),
          String(r['week_offset']),
          String(r['active_users']),
          String(Number(r['retained_pct'])),
        ]),
      ),
    );

    // The artifact a person can look at: test-artifacts/ is git-ignored.
    await mkdir(path.join(PROJECT_DIR, 'test-artifacts'), { recursive: true });
    await page
      .locator('#free-and-paid')
      .screenshot({ path: path.join(PROJECT_DIR, 'test-artifacts', 'report-free-and-paid.png') });

    // Plays around each upgrade: a bar for the free interval before and one for the paid interval after.
    t.deepEqual(
      tips('plays-around-upgrade', ['User', 'Upgraded at (UTC)', 'Period', 'Plays', 'Days with plays']),
      sorted(
        (sqlRows['plays-around-upgrade'] ?? []).flatMap((r) =>
          (['before', 'after'] as const).map((p) => [
            String(r['user_id']),
            String(r['upgraded_at']),
            p,
            String(r[`plays_${p}`]),
            String(r[`days_${p}`]),
          ]),
        ),
      ),
    );
  },
);

(chromiumAvailable ? test.serial : test.skip)(
  chromiumTitle(
    "in Chromium: each user's timeline is found by its link in the index: its intervals, highlighted, in view",
  ),
  async (t) => {
    const browser = await launchChromium();
    t.teardown(() => browser.close());
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(pathToFileURL(reportFile).href, { waitUntil: 'load' });
    const timelines = sqlRows['user-timelines'] ?? [];
    const users = [...new Set(timelines.map((r) => String(r['user_id'])))];
    t.deepEqual(
      await page.$$eval('#user-index a', (links) => links.map((a) => a.textContent ?? '')),
      users,
      'one link per user of user_levels',
    );
    // A box shorter than the table, as on a warehouse of many users: a link scrolls the box itself too.
    await page.addStyleTag({ content: 'div.timelines { max-height: 120px; }' });
    for (const user of ['22', '24', '20']) {
      await page.click(`#user-index a[href="#user-${user}"]`);
      const shown = (await page.evaluate(`(() => {
        const body = document.querySelector('tbody:target');
        const box = document.querySelector('div.timelines').getBoundingClientRect();
        const first = body.rows[0].getBoundingClientRect();
        const head = document.querySelector('table.timelines thead th').getBoundingClientRect();
        return {
          id: body.id,
          rows: [...body.rows].map((r) => [...r.cells].map((c) => c.textContent)),
          highlighted: getComputedStyle(body.rows[0].cells[0]).backgroundColor,
          at: { row: [first.top, first.bottom], header: [head.top, head.bottom], box: [box.top, box.bottom] },
          // Below the header that sticks to the box's top, inside the box, inside the window (1 px for rounding).
          inView: first.top >= head.bottom - 1 && first.bottom <= box.bottom + 1 && first.top >= -1 && first.bottom <= window.innerHeight + 1,
        };
      })()`)) as { id: string; rows: string[][]; highlighted: string; inView: boolean };
      t.is(shown.id, `user-${user}`);
      t.deepEqual(
        shown.rows,
        timelines
          .filter((r) => String(r['user_id']) === user)
          .map((r) => [
            user,
            `${String(r['first_name'])} ${String(r['last_name'])}`,
            String(r['level']),
            String(r['valid_from']),
            r['valid_to'] === null ? 'now (current)' : String(r['valid_to']),
          ]),
        `user ${user}: the intervals of user_levels`,
      );
      t.is(shown.highlighted, 'rgb(254, 243, 199)', `user ${user}: highlighted`);
      t.true(shown.inView, `user ${user}: scrolled into view ${JSON.stringify(shown)}`);
    }
    t.is(
      (await page.$$eval('tbody[id^="user-"] tr', (rows) => rows.length)) as number,
      timelines.length,
      'every interval is in the table',
    );
  },
);
