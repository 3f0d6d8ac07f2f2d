// sources --freshness (issue 31): the newest object per source (a file's
// mtime here; S3 LastModified in test/drift.test.ts's Redshift run) and the
// newest play loaded, judged against --warn-after/--error-after: text, one
// JSON document, exit 4 past --error-after; and the report page's part.
import { utimes } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import test from 'ava';
import { launchChromium } from '../lib/report/page/chromium.ts';
import type { FreshnessReport } from '../lib/report/freshness.ts';
import { runCli } from './helpers/cli.ts';
import { chromiumAvailable, chromiumTitle } from './helpers/chromium.ts';
import { event, song, writeFixture } from './helpers/fixtures.ts';
import { load, migratedDatabase } from './helpers/load.ts';
import { tempDir } from './helpers/temp-dir.ts';

const HOUR = 3600 * 1000;
const DAY = 24 * HOUR;

test(
  chromiumTitle(
    'sources --freshness: newest file per source and newest play, warn, error with exit 4, the report page',
  ),
  async (t) => {
    const now = Date.now();
    // The newest play was 5 hours ago; its log file was written 2 days ago, the song file 10 days ago.
    const newestPlay = Math.floor((now - 5 * HOUR) / 1000) * 1000;
    const fx = await writeFixture(t, {
      logs: {
        'day-1.json': [event({ ts: newestPlay - DAY })],
        'day-2.json': [event({ ts: newestPlay })],
      },
      songs: { 'A/1.json': song() },
    });
    const logDir = fx.env['LOG_DATA'] as string;
    const newestLog = new Date(Math.floor((now - 2 * DAY) / 1000) * 1000);
    await utimes(path.join(logDir, 'day-1.json'), new Date(now - 3 * DAY), new Date(now - 3 * DAY));
    await utimes(path.join(logDir, 'day-2.json'), newestLog, newestLog);
    const songFile = path.join(fx.env['SONG_DATA'] as string, 'A/1.json');
    const songTime = new Date(Math.floor((now - 10 * DAY) / 1000) * 1000);
    await utimes(songFile, songTime, songTime);
    const tdb = await migratedDatabase();
    t.teardown(() => tdb.drop());
    await load(tdb, fx.env);
    const env = { ...fx.env, DATABASE_URL: tdb.url };

    const warned = await runCli(
      ['sources', '--freshness', '--warn-after', '1d', '--error-after', '3d', '--format', 'json'],
      env,
    );
    t.is(warned.code, 0, warned.stderr);
    const report = JSON.parse(warned.stdout) as FreshnessReport;
    t.deepEqual(
      report.sources.map((s) => [s.source, s.newest, s.newestObject, s.status]),
      [
        ['LOG_DATA', newestLog.toISOString(), path.join(logDir, 'day-2.json'), 'warn'],
        ['SONG_DATA', songTime.toISOString(), songFile, 'not judged'],
        ['loaded events', new Date(newestPlay).toISOString(), null, 'pass'],
      ],
    );
    t.is(report.status, 'warn');
    t.deepEqual([report.warnAfter, report.errorAfter], ['1d', '3d']);
    // Ages in seconds, measured from the check.
    t.true(Math.abs((report.sources[2]?.ageSeconds ?? 0) - 5 * 3600) < 120);

    const failed = await runCli(['sources', '--freshness', '--error-after', '36h'], env);
    t.is(failed.code, 4, failed.stderr);
    t.regex(failed.stdout, /LOG_DATA\s+\|.*\|\s+2d\s+\|\s+error/);
    t.regex(failed.stdout, /loaded events\s+\|\s+songplays\.start_time\s+\|.*\|\s+5h\s+\|\s+pass/);
    t.regex(failed.stderr, /freshness: LOG_DATA's newest data is 2d old, over --error-after 36h/);

    const bad = await runCli(['sources', '--freshness', '--warn-after', 'soon'], env);
    t.is(bad.code, 2);
    t.regex(bad.stderr, /--warn-after: a duration such as 30m, 12h, 3d or 1w, got 'soon'/);

    if (!chromiumAvailable) return;
    const out = await tempDir(t, 'freshness-report-');
    const page = await runCli(['report', '--out', out, '--warn-after', '1d'], env);
    t.is(page.code, 0, page.stderr);
    const browser = await launchChromium();
    t.teardown(() => browser.close());
    const tab = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await tab.goto(pathToFileURL(path.join(out, 'index.html')).href, { waitUntil: 'load' });
    t.is(await tab.evaluate(`document.querySelector('#freshness').innerText`), 'Freshness: warn');
    const rows = (await tab.evaluate(
      `[...document.querySelectorAll('#freshness + p + .scroll tbody tr')].map((tr) => [tr.cells[0].innerText, tr.cells[4].innerText])`,
    )) as string[][];
    t.deepEqual(rows, [
      ['LOG_DATA', 'warn'],
      ['SONG_DATA', 'not judged'],
      ['loaded events', 'pass'],
    ]);
  },
);
