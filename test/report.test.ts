// npm run report: the analytics team's page. A fixture with known answers is
// loaded, the report written and opened in Debian's Chromium: every chart has
// as many bars or points as its query has rows, the hour chart's bars are as
// tall as their counts, the page makes no request and logs no error, the
// schema diagram names the seven tables, and the page prints to PDF. The
// schema diagram is checked against the migrated database (and the docs'
// copies of it in test/docs.test.ts).
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import test from 'ava';
import { pipeline } from '../loaders/index.ts';
import { analyticsQueries } from '../lib/report/analytics.ts';
import { checksFor } from '../lib/report/checks.ts';
import { dialectByName } from '../lib/dialect/index.ts';
import { launchChromium } from '../lib/report/page/chromium.ts';
import { erdMermaid } from '../lib/report/page/erd-mermaid.ts';
import { renderReport, writeReport } from '../lib/report/page/build.ts';
import { CHARTS } from '../lib/report/page/charts.ts';
import { collectReportData } from '../lib/report/page/report-data.ts';
import { loadSchemaModel } from '../lib/report/page/schema-model.ts';
import { parseUserAgent, playsByPlatform } from '../lib/report/page/user-agent.ts';
import { chromiumAvailable, chromiumTitle } from './helpers/chromium.ts';
import { fileScope, tempDir } from './helpers/temp-dir.ts';
import { PROJECT_DIR, runCli } from './helpers/cli.ts';
import type { TestDatabase } from './helpers/database.ts';
import { event, song, writeFixture, type Event } from './helpers/fixtures.ts';
import { load, migratedDatabase } from './helpers/load.ts';
import { ALL_TABLES } from './helpers/warehouse.ts';

const UA = {
  mac: '"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_4) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/36.0.1985.143 Safari/537.36"',
  windows: 'Mozilla/5.0 (Windows NT 6.1; WOW64; rv:31.0) Gecko/20100101 Firefox/31.0',
  iphone:
    '"Mozilla/5.0 (iPhone; CPU iPhone OS 7_1_2 like Mac OS X) AppleWebKit/537.51.2 (KHTML, like Gecko) Version/7.0 Mobile/11D257 Safari/9537.53"',
};
// Thursday 2018-11-01 and Saturday 2018-11-03, UTC.
const at = (day: 1 | 3, hour: number, minute: number) => Date.UTC(2018, 10, day, hour, minute);
const play = (
  userId: string,
  level: string,
  sessionId: number,
  ts: number,
  userAgent: string,
  location: string,
  extra: Event = {},
) =>
  event({
    userId,
    level,
    sessionId,
    ts,
    userAgent,
    location,
    song: 'Unknown Tune',
    artist: 'Nobody',
    length: 99.0,
    ...extra,
  });

/**
 * The known answers: 11 plays by 3 users. Hours (UTC): 0 free ×2; 5 free ×1,
 * paid ×3; 13 paid ×5. User 12 played as paid, then went free (a Home event).
 * Three plays match a song (two of song 1, one of song 2).
 */
const EVENTS: Event[] = [
  play('10', 'free', 1, at(1, 0, 10), UA.mac, 'Town A'),
  play('10', 'free', 1, at(1, 0, 20), UA.mac, 'Town A', { song: 'Some Song', artist: 'Some Artist', length: 200.5 }),
  play('10', 'free', 2, at(1, 5, 0), UA.mac, 'Town A'),
  play('11', 'paid', 3, at(1, 5, 10), UA.windows, 'Town B'),
  play('11', 'paid', 3, at(1, 5, 20), UA.windows, 'Town B'),
  play('11', 'paid', 3, at(1, 5, 30), UA.windows, 'Town B'),
  play('11', 'paid', 4, at(3, 13, 0), UA.windows, 'Town B', {
    song: 'Some Song',
    artist: 'Some Artist',
    length: 200.5,
  }),
  play('11', 'paid', 4, at(3, 13, 5), UA.windows, 'Town B'),
  play('11', 'paid', 4, at(3, 13, 10), UA.windows, 'Town B', { song: 'Two', artist: 'Other Artist', length: 180.0 }),
  play('11', 'paid', 4, at(3, 13, 15), UA.windows, 'Town B'),
  play('12', 'paid', 5, at(3, 13, 30), UA.iphone, 'Town A'),
  event({
    userId: '12',
    level: 'free',
    sessionId: 6,
    ts: at(3, 20, 0),
    page: 'Home',
    song: null,
    artist: null,
    length: null,
    userAgent: UA.iphone,
    location: 'Town A',
  }),
];
const SONGS = {
  'A/1.json': song(),
  'A/2.json': song({ song_id: 'SO2', artist_id: 'AR2', artist_name: 'Other Artist', title: 'Two', duration: 180.0 }),
};
/** Bars or points per chart that the fixture gives, worked out by hand from EVENTS. */
const EXPECTED_MARKS: Record<string, number> = {
  'plays-by-hour': 4, // (0, free), (5, free), (5, paid), (13, paid)
  'plays-by-weekday': 2, // Thursday 6, Saturday 5
  'plays-by-day': 3, // Nov 1 free 3, Nov 1 paid 3, Nov 3 paid 5
  'users-by-level': 2, // free 2 (10, and 12 now), paid 1
  'plays-by-level': 2, // free 3, paid 8
  'most-played-songs': 2,
  'most-played-artists': 2,
  'plays-by-platform': 3, // Mac/Chrome 3, Windows/Firefox 7, iPhone/Safari 1
  'top-locations': 2, // Town B 7, Town A 4
  'sessions-by-plays': 2, // '1': sessions 2 and 5; '2-5': sessions 1, 3, 4
  'sessions-by-minutes': 3, // under 1: 2 and 5; 1-14: 1; 15-29: 3 and 4
  'conversions-per-day': 1, // user 12 paid to free on Nov 3
  'conversions-per-week': 1,
  'active-users-per-day': 3, // Nov 1 free 1 (10), paid 1 (11); Nov 3 paid 2 (11, 12)
  'active-users-per-week': 2, // week of Oct 29: free 1 (10), paid 2 (11, 12)
  'weekly-retention': 1, // one cohort, one week
  'plays-around-upgrade': 0, // no one upgraded
};
/** Charts that do not draw one mark per row of their query: the platform chart sums by platform and browser; a conversion chart draws a bar per direction with any. */
const NOT_ONE_MARK_PER_ROW = new Set(['plays-by-platform', 'conversions-per-day', 'conversions-per-week']);
const HOUR_PLAYS = [
  { hour: 0, level: 'free', plays: 2 },
  { hour: 5, level: 'free', plays: 1 },
  { hour: 5, level: 'paid', plays: 3 },
  { hour: 13, level: 'paid', plays: 5 },
];

let tdb: TestDatabase;
let outDir: string;
let reportFile: string;
const scope = fileScope();

test.before(async () => {
  tdb = await migratedDatabase();
  const f = await writeFixture(scope, { logs: { '2018/11/events.json': EVENTS }, songs: SONGS });
  await load(tdb, f.env);
  outDir = await tempDir(scope, 'sparkify-report-');
  const db = await tdb.open();
  try {
    reportFile = await writeReport(db, outDir, pipeline);
  } finally {
    await db.close();
  }
});
test.after.always(async () => {
  await tdb?.drop();
});

test('the schema model comes from the migrations: every registered table, its role, its keys, and the migrated columns', async (t) => {
  const model = await loadSchemaModel(pipeline);
  t.deepEqual(model.tables.map((x) => x.name).sort(), [...ALL_TABLES].sort());
  t.deepEqual(model.others, ['load_ledger', 'load_runs', 'load_run_skipped', 'user_level_events']);
  const songplays = model.tables.find((x) => x.name === 'songplays');
  t.is(songplays?.role, 'fact');
  for (const step of pipeline.transforms)
    t.is(model.tables.find((x) => x.name === step.table)?.role, step.role, `${step.table} is drawn as its step says`);
  t.is(songplays?.distribution, 'DISTKEY (start_time)');
  t.deepEqual(
    songplays?.columns.filter((c) => c.references).map((c) => `${c.name}->${c.references?.table}`),
    ['start_time->time', 'user_id->users', 'song_id->songs', 'artist_id->artists'],
  );
  t.is(model.tables.find((x) => x.name === 'users')?.distribution, 'DISTSTYLE ALL');
  t.true(model.tables.find((x) => x.name === 'staging_events')?.backupNo);
  // Every column the migrations give the database, in order (migration 9 adds users.last_event_ts).
  for (const table of model.tables) {
    const rows = await tdb.query<{ column_name: string }>(
      'SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position',
      [table.name],
    );
    t.deepEqual(
      table.columns.map((c) => c.name),
      rows.map((r) => r.column_name),
      table.name,
    );
  }
});

test('user agents: platform and browser, with the quotes Sparkify puts around many of them', (t) => {
  t.deepEqual(parseUserAgent(UA.mac), { platform: 'Mac', browser: 'Chrome' });
  t.deepEqual(parseUserAgent(UA.windows), { platform: 'Windows', browser: 'Firefox' });
  t.deepEqual(parseUserAgent(UA.iphone), { platform: 'iPhone', browser: 'Safari' });
  t.deepEqual(
    parseUserAgent(
      '"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Ubuntu Chromium/36.0.1985.125 Chrome/36.0.1985.125 Safari/537.36"',
    ),
    { platform: 'Linux', browser: 'Chromium' },
  );
  t.deepEqual(parseUserAgent('Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko'), {
    platform: 'Windows',
    browser: 'Internet Explorer',
  });
  t.deepEqual(parseUserAgent(null), { platform: 'Unknown', browser: 'Unknown' });
  t.deepEqual(
    playsByPlatform([
      { user_agent: UA.windows, plays: '2' },
      { user_agent: UA.mac, plays: '3' },
      { user_agent: 'Mozilla/5.0 (Windows NT 5.1; rv:31.0) Gecko/20100101 Firefox/31.0', plays: '4' },
    ]),
    [
      { platform: 'Windows', browser: 'Firefox', plays: 6 },
      { platform: 'Mac', browser: 'Chrome', plays: 3 },
    ],
  );
});

test('the queries behind the charts give the known answers; the last runs come from load_runs, shown only where that table exists', async (t) => {
  const db = await tdb.open();
  try {
    const data = await collectReportData(db, pipeline);
    t.deepEqual(
      data.queries
        .get('plays-by-hour-and-level')
        ?.rows.map((r) => ({ hour: Number(r['hour']), level: r['level'], plays: Number(r['plays']) })),
      HOUR_PLAYS,
    );
    t.deepEqual(data.queries.get('users-by-level')?.rows, [
      { level: 'free', users: '2' },
      { level: 'paid', users: '1' },
    ]);
    t.deepEqual(
      data.queries.get('sessions-by-minutes')?.rows.map((r) => [r['minutes_per_session'], Number(r['sessions'])]),
      [
        ['under 1', 2],
        ['1-14', 1],
        ['15-29', 2],
      ],
    );
    t.deepEqual([data.checks.matched, data.checks.songplays], [3, 11]);
    t.is(data.ledger.total, 3);
    // The load in test.before recorded its run (load_runs, lib/load/run-record.ts).
    t.deepEqual(
      data.runs?.rows.map((r) => [r['command'], r['outcome'], r['rows']]),
      [
        [
          'load',
          'succeeded',
          'staging_events 12, staging_songs 2, users 3, songs 2, artists 2, songplays 11, time 11, user_levels 4',
        ],
      ],
    );
    t.regex(
      await renderReport(data, await loadSchemaModel(pipeline)),
      /<h3>Last runs<\/h3><div class="scroll"><table[^>]*>.*<th>outcome<\/th>.*succeeded/s,
    );
    // A warehouse migrated before the run record existed: no section.
    await tdb.query('ALTER TABLE load_runs RENAME TO load_runs_hidden');
    const withoutRuns = await collectReportData(db, pipeline);
    t.is(withoutRuns.runs, undefined);
    t.notRegex(await renderReport(withoutRuns, await loadSchemaModel(pipeline)), /Last runs/);
  } finally {
    await db.close();
    await tdb.query('ALTER TABLE IF EXISTS load_runs_hidden RENAME TO load_runs');
  }
});

test('the page states the loaded period (first to last day of play) and the match rate as a percentage of the loaded plays', async (t) => {
  const html = await readFile(reportFile, 'utf8');
  t.regex(html, /Plays from 2018-11-01 to 2018-11-03 \(UTC\)\./);
  // 3 of the 11 plays have a song_id (EVENTS): 27.3 %, not 0.3.
  t.regex(html, /<b>27\.3%<\/b><span>plays matched to a song<\/span>/);
  t.regex(html, /Song match rate: 3 of 11 plays \(27\.3%\) have a song_id\./);
});

test('every analytics query the report runs renders for Redshift with its markers resolved', (t) => {
  const names = new Set(CHARTS.flatMap((c) => c.queries));
  const redshift = analyticsQueries(dialectByName('redshift')).filter((q) => names.has(q.name));
  t.is(redshift.length, names.size);
  for (const q of redshift) t.notRegex(q.sql, /\{\{/, q.name);
  t.regex(
    redshift.find((q) => q.name === 'sessions-by-minutes')?.sql ?? '',
    /FLOOR\(DATEDIFF\(millisecond, MIN\(sp\.start_time\), MAX\(sp\.start_time\)\) \/ 60000\.0\)/,
  );
});

test('the page is self-contained: no script, no external resource', async (t) => {
  const html = await readFile(reportFile, 'utf8');
  t.notRegex(html, /<script/i);
  t.notRegex(html, /\b(?:src|href)="(?!#)/i, 'no src or href other than in-page anchors');
  t.notRegex(html, /url\(/i);
  t.notRegex(html, /@import/i);
});

(chromiumAvailable ? test.serial : test.skip)(
  chromiumTitle(
    'in Chromium: marks per chart equal the query rows, hour bars match the counts, no requests or errors, the ERD, print to PDF',
  ),
  async (t) => {
    const browser = await launchChromium();
    t.teardown(() => browser.close());
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const url = pathToFileURL(reportFile).href;
    const requests: string[] = [];
    const errors: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url, { waitUntil: 'load' });

    t.deepEqual(requests, [url], 'the page itself and nothing else');
    t.deepEqual(errors, []);

    // Bars (rect) and points (symbol) each chart draws, and its axis titles.
    const charts = await page.$$eval('figure.chart', (figures) =>
      figures.map((f) => ({
        id: f.getAttribute('data-chart') ?? '',
        title: f.querySelector('h3')?.textContent ?? '',
        marks: f.querySelectorAll(
          '.plot-wide svg g.role-mark.mark-rect > path, .plot-wide svg g.role-mark.mark-symbol > path',
        ).length,
        axisTitles: [...f.querySelectorAll('.plot-wide svg g.role-axis-title text')].map((x) => x.textContent ?? ''),
        sql: f.querySelector('details.sql pre')?.textContent ?? '',
        visible: (f.querySelector('svg')?.getBoundingClientRect().height ?? 0) > 50,
      })),
    );
    t.deepEqual(charts.map((c) => c.id).sort(), CHARTS.map((c) => c.id).sort());
    t.deepEqual(Object.fromEntries(charts.map((c) => [c.id, c.marks])), EXPECTED_MARKS);
    // The same counts from the queries themselves, run here (the platform chart sums its query's rows by platform and browser).
    const queries = new Map(analyticsQueries(dialectByName('postgres')).map((q) => [q.name, q.sql]));
    for (const def of CHARTS.filter((c) => !NOT_ONE_MARK_PER_ROW.has(c.id))) {
      const rows = await tdb.query(queries.get(def.queries[0] ?? '') ?? '');
      t.is(charts.find((c) => c.id === def.id)?.marks, rows.length, `${def.id}: one mark per row of ${def.queries[0]}`);
    }
    for (const c of charts) {
      if (EXPECTED_MARKS[c.id] === 0) {
        t.false(c.visible, `${c.id}: nothing to draw, no chart`);
        continue;
      }
      t.true(c.title.length > 0 && c.visible, `${c.id} has a title and a drawn chart`);
      t.is(c.axisTitles.length, 2, `${c.id}: two axis titles`);
      t.true(
        c.axisTitles.some((a) => /\(count\)|\(UTC|Minutes|Level/.test(a)),
        `${c.id}: an axis says its unit (${c.axisTitles.join(' | ')})`,
      );
      t.regex(c.sql, /SELECT[\s\S]+FROM/, `${c.id}: its SQL is one click away`);
    }

    // The hour chart: one bar per (hour, level), as tall as its count (all at one scale).
    const bars = await page.$$eval(
      'figure[data-chart="plays-by-hour"] .plot-wide svg g.role-mark.mark-rect > path',
      (paths) =>
        paths.map((p) => ({
          label: p.getAttribute('aria-label') ?? '',
          height: (p as unknown as { getBBox(): { height: number } }).getBBox().height,
        })),
    );
    const measured = bars
      .map((b) => ({
        hour: Number(/Hour \(UTC\): (\d+)/.exec(b.label)?.[1]),
        level: /Level: (\w+)/.exec(b.label)?.[1],
        plays: Number(/Plays: (\d+)/.exec(b.label)?.[1]),
        height: b.height,
      }))
      .sort((a, b) => a.hour - b.hour || String(a.level).localeCompare(String(b.level)));
    t.deepEqual(
      measured.map(({ hour, level, plays }) => ({ hour, level, plays })),
      HOUR_PLAYS,
    );
    const pxPerPlay = (measured[0]?.height ?? 0) / (measured[0]?.plays ?? 1);
    t.true(pxPerPlay > 5, `bars are drawn (${pxPerPlay} px per play)`);
    for (const m of measured)
      t.true(
        Math.abs(m.height - m.plays * pxPerPlay) < 0.5,
        `hour ${m.hour} ${m.level}: ${m.height}px for ${m.plays} plays`,
      );

    // The schema diagram names every registered table, each with its columns, and draws every declared reference.
    const erd = await page.$$eval('svg.erd g.erd-table', (gs) =>
      gs.map((g) => ({ name: g.getAttribute('data-table'), text: g.textContent ?? '' })),
    );
    t.deepEqual(erd.map((e) => e.name).sort(), [...ALL_TABLES].sort());
    for (const e of erd) t.true(e.text.startsWith(e.name ?? '?'), `${e.name} is written in its box`);
    t.is(
      await page.locator('svg.erd g.erd-relation').count(),
      pipeline.transforms.flatMap((s) => s.references ?? []).length,
    );

    // Trust: the checks and the match rate, stated.
    const checks = checksFor(pipeline).length;
    t.regex(await page.locator('#trust').innerText(), new RegExp(`${checks} of ${checks} passed`));
    t.regex(await page.locator('#match-rate').innerText(), /3 of 11 plays \(27\.3%\) have a song_id/);

    const pdf = await page.pdf({ format: 'A4', printBackground: true });
    t.is(pdf.subarray(0, 5).toString(), '%PDF-');
    t.true(pdf.length > 20_000, `a PDF of ${pdf.length} bytes`);

    // The artifact a person can look at: test-artifacts/ is git-ignored.
    const artifacts = path.join(PROJECT_DIR, 'test-artifacts');
    await mkdir(artifacts, { recursive: true });
    await page.screenshot({ path: path.join(artifacts, 'report-fixture.png'), fullPage: true });
    t.true(existsSync(path.join(artifacts, 'report-fixture.png')));
  },
);

(chromiumAvailable ? test.serial : test.skip)(
  chromiumTitle(
    'in Chromium at 390 and 1280 px: no sideways scrolling, each chart drawn for the width with labels of 9 px or more, wide tables scroll inside themselves; screenshots',
  ),
  async (t) => {
    const browser = await launchChromium();
    t.teardown(() => browser.close());
    const artifacts = path.join(PROJECT_DIR, 'test-artifacts');
    await mkdir(artifacts, { recursive: true });
    for (const width of [390, 1280]) {
      const page = await browser.newPage({ viewport: { width, height: 900 } });
      await page.goto(pathToFileURL(reportFile).href, { waitUntil: 'load' });
      // Run in the page (a string: the project's TypeScript has no DOM types).
      const m = (await page.evaluate(`(() => {
      const vw = document.documentElement.clientWidth;
      const shown = (e) => e.getBoundingClientRect().height > 0;
      // What sticks out of the page: scrolling containers (.scroll, .erd-wrap) may hold wider content.
      const overflowing = [...document.querySelectorAll('body *')]
        .filter((e) => shown(e) && e.getBoundingClientRect().right > vw + 0.5 && !e.parentElement?.closest('.scroll, .erd-wrap'))
        .map((e) => \`\${e.tagName.toLowerCase()}.\${String(e.getAttribute('class') ?? '')}\`);
      const figures = [...document.querySelectorAll('figure.chart')].filter((f) => f.querySelector('svg'));
      const labels = figures.flatMap((f) => [...f.querySelectorAll('svg text')].filter(shown).map((x) => x.getBoundingClientRect().height));
      return {
        scrollWidth: document.documentElement.scrollWidth,
        overflowing: overflowing.slice(0, 10),
        svgsShownPerChart: figures.map((f) => [...f.querySelectorAll('svg')].filter(shown).length),
        smallestLabel: Math.min(...labels),
        tablesNotWrapped: [...document.querySelectorAll('table')].filter((x) => !x.parentElement?.classList.contains('scroll')).length,
        scrolledTables: [...document.querySelectorAll('.scroll')].filter((x) => shown(x) && x.scrollWidth > x.clientWidth + 1).length,
      };
    })()`)) as {
        scrollWidth: number;
        overflowing: string[];
        svgsShownPerChart: number[];
        smallestLabel: number;
        tablesNotWrapped: number;
        scrolledTables: number;
      };
      t.is(m.scrollWidth, width, `${width} px: the page is no wider than the window`);
      t.deepEqual(m.overflowing, [], `${width} px: nothing sticks out`);
      t.true(
        m.svgsShownPerChart.length > 5 && m.svgsShownPerChart.every((n) => n === 1),
        `${width} px: one drawing shown per chart (${m.svgsShownPerChart.join(',')})`,
      );
      t.true(m.smallestLabel >= 9, `${width} px: the smallest chart text is ${m.smallestLabel.toFixed(1)} px tall`);
      t.is(m.tablesNotWrapped, 0, 'every table sits in its own scrolling box');
      if (width === 390) t.true(m.scrolledTables > 0, 'at 390 px a wide table (the last runs) scrolls inside itself');
      await page.screenshot({ path: path.join(artifacts, `report-${width}.png`), fullPage: true });
      t.true(existsSync(path.join(artifacts, `report-${width}.png`)));
      await page.close();
    }
  },
);

test.serial(
  'npm run report writes the page and prints its file:// address; a failed check is shown with its offending rows',
  async (t) => {
    const out = await tempDir(t, 'sparkify-report-cli-');
    await tdb.query('INSERT INTO users SELECT * FROM users WHERE user_id = 11');
    t.teardown(() =>
      tdb.query('DELETE FROM users WHERE user_id = 11 AND ctid <> (SELECT MIN(ctid) FROM users WHERE user_id = 11)'),
    );
    const r = await runCli(['report', '--out', out], { DATABASE_URL: tdb.url });
    t.is(r.code, 0, r.stderr);
    t.regex(r.stdout, /^file:\/\/\S+\/index\.html\n$/);
    const file = fileURLToPath(r.stdout.trim());
    t.is(file, path.join(out, 'index.html'));
    const html = await readFile(file, 'utf8');
    t.regex(html, /<tr class="fail"><td class="status">FAIL<\/td><td>users: user_id unique/);
    t.regex(
      html,
      /First 1 of 1 offending row\(s\):<\/p><div class="scroll"><table class="rows"><thead><tr><th class="num">user_id<\/th><th class="num">copies<\/th><\/tr><\/thead><tbody><tr><td class="num">11<\/td><td class="num">2<\/td>/,
    );
    const checks = checksFor(pipeline).length;
    t.regex(html, new RegExp(`${checks - 1} of ${checks} passed`));

    const json = await runCli(['report', '--out', out, '--format', 'json'], { DATABASE_URL: tdb.url });
    t.is(json.code, 0, json.stderr);
    t.deepEqual(
      JSON.parse(json.stdout),
      { report: pathToFileURL(path.join(out, 'index.html')).href, file: path.join(out, 'index.html') },
      'stdout is one JSON document',
    );
    const mermaid = await runCli(['report', '--mermaid', '--format', 'json']);
    t.is((JSON.parse(mermaid.stdout) as { mermaid: string }).mermaid, erdMermaid(await loadSchemaModel(pipeline)));
  },
);
