/**
 * The report page: one self-contained HTML document (styles inline, charts
 * and diagram as inline SVG, no script), readable on a laptop and printable.
 */
import type { CheckResult } from '../checks.ts';
import { FREE_AND_PAID_CHARTS, WIDE_CHARTS, type Rows } from './charts.ts';
import { escapeHtml } from './html-escape.ts';
import { USER_TIMELINES_QUERY, type ReportData } from './report-data.ts';
import { driftSection, freshnessSection } from './sources-section.ts';

export interface RenderedChart {
  readonly id: string;
  readonly title: string;
  readonly caption: string;
  /** The SVG, or undefined when the queries returned no rows. */
  readonly svg?: string;
  /** The same chart drawn for a phone's width (shown below 600 px). */
  readonly narrowSvg?: string;
  readonly marks: number;
  readonly sql: readonly { readonly file: string; readonly sql: string }[];
}

export interface PageInput {
  readonly data: ReportData;
  readonly charts: readonly RenderedChart[];
  readonly erdSvg: string;
  readonly tablesNotDrawn: readonly string[];
}

const fmt = (n: number) => n.toLocaleString('en-US');

function cell(v: unknown): string {
  if (v === null || v === undefined) return '<span class="null">NULL</span>';
  if (v instanceof Date) return escapeHtml(v.toISOString());
  if (typeof v === 'object') return escapeHtml(JSON.stringify(v));
  return escapeHtml(v);
}

/** A table of query rows; numbers right-aligned. */
export function rowsTable(
  rows: Rows,
  columns: readonly string[] = Object.keys(rows[0] ?? {}),
  className = 'rows',
): string {
  if (rows.length === 0) return '<p class="empty">No rows.</p>';
  const numeric = (c: string) =>
    rows.every((r) => r[c] === null || r[c] === undefined || /^-?\d+(\.\d+)?$/.test(String(r[c])));
  const align = new Map(columns.map((c) => [c, numeric(c) ? ' class="num"' : '']));
  // Wrapped: a table wider than its column scrolls inside itself, never the page.
  return `<div class="scroll"><table class="${className}"><thead><tr>${columns.map((c) => `<th${align.get(c)}>${escapeHtml(c)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${columns.map((c) => `<td${align.get(c)}>${cell(r[c])}</td>`).join('')}</tr>`)
    .join('')}</tbody></table></div>`;
}

function sqlDetails(label: string, sql: string): string {
  return `<details class="sql"><summary>${escapeHtml(label)}</summary><pre><code>${escapeHtml(sql)}</code></pre></details>`;
}

function chartFigure(c: RenderedChart): string {
  // Two renderings of one chart: the page's width picks one (CSS), so that a phone's shows readable labels, not a shrunk wide chart.
  const body = c.svg
    ? `<div class="plot-wide">${c.svg}</div>${c.narrowSvg ? `<div class="plot-narrow">${c.narrowSvg}</div>` : ''}`
    : '<p class="empty">No rows: nothing to draw.</p>';
  const sql = c.sql.map((q) => sqlDetails(`The SQL behind it (${q.file})`, q.sql)).join('');
  return `<figure class="chart${WIDE_CHARTS.has(c.id) ? ' wide' : ''}" id="chart-${escapeHtml(c.id)}" data-chart="${escapeHtml(c.id)}" data-marks="${c.marks}">
<h3>${escapeHtml(c.title)}</h3>
<p class="caption">${escapeHtml(c.caption)}</p>
<div class="plot">${body}</div>
${sql}
</figure>`;
}

/**
 * Every user's free and paid intervals (user_levels), one tbody per user with
 * the id `user-<user_id>`: the index of users above it links to each (the
 * page runs no script, so a user is found by that link, by the address
 * …#user-42, or by the browser's find for an id or a name).
 */
function userTimelines(data: ReportData): string {
  const query = data.queries.get(USER_TIMELINES_QUERY);
  const rows = query?.rows ?? [];
  const sql = query ? sqlDetails(`The SQL behind it (${query.query.file})`, query.query.sql) : '';
  if (rows.length === 0) return `<p class="empty">No level history loaded (user_levels is empty).</p>${sql}`;
  const byUser = new Map<string, Rows[number][]>();
  for (const r of rows) {
    const id = String(r['user_id']);
    byUser.set(id, [...(byUser.get(id) ?? []), r]);
  }
  const name = (r: Rows[number]) =>
    [r['first_name'], r['last_name']].filter((x) => x !== null && x !== undefined).join(' ');
  const until = (v: unknown) => (v === null || v === undefined ? '<span class="null">now (current)</span>' : cell(v));
  const bodies = [...byUser]
    .map(
      ([id, intervals]) =>
        `<tbody id="user-${escapeHtml(id)}" data-user="${escapeHtml(id)}">${intervals
          .map(
            (r) =>
              `<tr data-level="${escapeHtml(r['level'])}"><td class="num">${escapeHtml(id)}</td><td>${escapeHtml(name(r))}</td><td>${cell(r['level'])}</td><td>${cell(r['valid_from'])}</td><td>${until(r['valid_to'])}</td></tr>`,
          )
          .join('')}</tbody>`,
    )
    .join('\n');
  const changed = [...byUser.values()].filter((intervals) => intervals.length > 1).length;
  return `<p class="user-index" id="user-index">${fmt(byUser.size)} users, ${fmt(changed)} of them changed level (${fmt(rows.length)} intervals). Go to a user: ${[
    ...byUser.keys(),
  ]
    .map((id) => `<a href="#user-${escapeHtml(id)}">${escapeHtml(id)}</a>`)
    .join(' ')}</p>
<div class="scroll timelines"><table class="rows timelines"><thead><tr><th class="num">user_id</th><th>name</th><th>level</th><th>valid_from (UTC)</th><th>valid_to (UTC)</th></tr></thead>
${bodies}
</table></div>${sql}`;
}

function checkRow(r: CheckResult): string {
  const ok = r.failures === 0;
  const sample = ok
    ? ''
    : `<div class="offending"><p>First ${r.sample.length} of ${fmt(r.failures)} offending row(s):</p>${rowsTable(r.sample)}</div>`;
  return `<tr class="${ok ? 'pass' : 'fail'}"><td class="status">${ok ? 'PASS' : 'FAIL'}</td><td>${escapeHtml(r.check.name)}<div class="desc">${escapeHtml(r.check.description)}</div>${sample}${sqlDetails('SQL (offending rows)', r.check.sql)}</td><td class="num">${fmt(r.failures)}</td></tr>`;
}

function period(data: ReportData): string {
  const days = (data.queries.get('plays-by-day')?.rows ?? [])
    .map((r) => `${Number(r['year'])}-${String(r['month']).padStart(2, '0')}-${String(r['day']).padStart(2, '0')}`)
    .sort();
  return days.length === 0 ? 'no plays' : `${days[0]} to ${days[days.length - 1]} (UTC)`;
}

const CSS = `
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; font-family: 'Liberation Sans', 'DejaVu Sans', Arial, Helvetica, sans-serif; color: #111827; background: #f9fafb; line-height: 1.4; }
header, main, footer { max-width: 1240px; margin: 0 auto; padding: 0 20px; }
header { padding-top: 20px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 28px 0 10px; border-bottom: 2px solid #e5e7eb; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 0 0 2px; }
.meta { color: #4b5563; margin: 0 0 12px; font-size: 13px; }
nav { font-size: 13px; margin: 0 0 8px; }
nav a { margin-right: 14px; color: #1d4ed8; }
.figures { display: flex; flex-wrap: wrap; gap: 10px; margin: 10px 0; padding: 0; list-style: none; }
.figures li { background: #fff; border: 1px solid #e5e7eb; border-radius: 6px; padding: 8px 14px; min-width: 130px; }
.figures b { display: block; font-size: 20px; }
.figures span { color: #4b5563; font-size: 12px; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(520px, 100%), 1fr)); gap: 14px; }
.grid > *, .two > * { min-width: 0; }
.scroll { max-width: 100%; overflow-x: auto; }
.plot-narrow { display: none; }
@media (max-width: 600px) {
  header, main, footer { padding: 0 10px; }
  .plot-wide { display: none; }
  .plot-narrow { display: block; }
  figure.chart { padding: 10px; }
  .erd-wrap svg { max-width: none; }
}
figure.chart.wide { grid-column: 1 / -1; }
figure.chart { margin: 0; background: #fff; border: 1px solid #e5e7eb; border-radius: 6px; padding: 12px 14px; break-inside: avoid; page-break-inside: avoid; }
.caption { color: #4b5563; font-size: 12.5px; margin: 0 0 8px; }
.plot svg { max-width: 100%; height: auto; display: block; }
details.sql { margin-top: 6px; font-size: 12px; }
details.sql summary { cursor: pointer; color: #1d4ed8; }
pre { background: #f3f4f6; padding: 8px; border-radius: 4px; overflow-x: auto; font-size: 11.5px; white-space: pre-wrap; overflow-wrap: anywhere; }
.note { background: #fffbeb; border: 1px solid #fcd34d; border-radius: 6px; padding: 10px 14px; font-size: 14px; }
.erd-wrap { background: #fff; border: 1px solid #e5e7eb; border-radius: 6px; padding: 8px; overflow-x: auto; }
.erd-wrap svg { max-width: 100%; height: auto; display: block; }
.legend { font-size: 12.5px; color: #374151; }
table { border-collapse: collapse; font-size: 12.5px; background: #fff; }
th, td { border: 1px solid #e5e7eb; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f3f4f6; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.null { color: #9ca3af; }
.empty { color: #6b7280; font-style: italic; }
table.checks { width: 100%; }
tr.pass td.status { color: #047857; font-weight: bold; }
tr.fail td.status { color: #b91c1c; font-weight: bold; }
tr.fail { background: #fef2f2; }
.desc { color: #4b5563; font-size: 12px; }
.offending { margin: 4px 0; }
.two { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(420px, 100%), 1fr)); gap: 14px; align-items: start; }
footer { color: #6b7280; font-size: 12px; padding: 20px; }
.user-index { font-size: 12.5px; line-height: 1.8; }
.user-index a { color: #1d4ed8; margin-right: 2px; }
div.timelines { max-height: 420px; overflow-y: auto; border: 1px solid #e5e7eb; background: #fff; }
table.timelines thead th { position: sticky; top: 0; }
table.timelines tbody { border-top: 2px solid #d1d5db; scroll-margin-top: 30px; }
table.timelines tbody:target td { background: #fef3c7; }
@media print {
  body { background: #fff; }
  header, main, footer { max-width: none; padding: 0; }
  nav { display: none; }
  .grid { grid-template-columns: 1fr 1fr; gap: 8px; }
  figure.chart, .figures li, .erd-wrap { border-color: #d1d5db; }
  h2 { break-after: avoid; page-break-after: avoid; }
  .erd-wrap { overflow: visible; break-inside: avoid; }
  div.timelines { max-height: none; overflow: visible; }
  @page { size: A4; margin: 12mm; }
}
`;

export function renderPage(input: PageInput): string {
  const { data, charts } = input;
  const count = (table: string) => data.checks.counts.find((c) => c.table_name === table)?.row_count ?? 0;
  const plays = data.checks.songplays;
  const matched = data.checks.matched;
  const rate = plays === 0 ? 0 : (100 * matched) / plays;
  const passed = data.checks.results.filter((r) => r.failures === 0).length;
  const chart = (id: string) => charts.find((c) => c.id === id);
  const figures = (ids: string[]) =>
    `<div class="grid">${ids
      .map((id) => chart(id))
      .filter((c): c is RenderedChart => c !== undefined)
      .map(chartFigure)
      .join('\n')}</div>`;
  const listening = ['plays-by-hour', 'plays-by-weekday', 'plays-by-day', 'sessions-by-plays', 'sessions-by-minutes'];
  const users = ['users-by-level', 'plays-by-level', 'plays-by-platform', 'top-locations'];
  const songs = ['most-played-songs', 'most-played-artists'];
  const freeAndPaid = [...FREE_AND_PAID_CHARTS];
  const drawnIds = new Set([...listening, ...users, ...songs, ...freeAndPaid]);
  const rest = charts.filter((c) => !drawnIds.has(c.id)).map((c) => c.id);
  const runs = data.runs
    ? `<h3>Last runs</h3>${rowsTable(data.runs.rows, data.runs.columns)}${sqlDetails('SQL', data.runs.sql)}`
    : '';
  const ledger = data.ledger;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sparkify listening report</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>Sparkify listening report</h1>
<p class="meta">Generated ${escapeHtml(
    data.generatedAt
      .toISOString()
      .replace('T', ' ')
      .replace(/\.\d+Z$/, ' UTC'),
  )} from ${escapeHtml(data.engine)} at ${escapeHtml(data.where)}. Plays from ${escapeHtml(period(data))}. All times are UTC.</p>
<nav><a href="#listening">Listening</a><a href="#users">Users</a><a href="#free-and-paid">Free and paid</a><a href="#songs">Songs</a><a href="#schema">Schema</a><a href="#trust">Checks and loads</a></nav>
<ul class="figures">
<li><b>${fmt(plays)}</b><span>plays (songplays)</span></li>
<li><b>${fmt(count('users'))}</b><span>users</span></li>
<li><b>${fmt(count('songs'))}</b><span>songs</span></li>
<li><b>${fmt(count('artists'))}</b><span>artists</span></li>
<li><b>${rate.toFixed(1)}%</b><span>plays matched to a song</span></li>
<li><b>${passed} of ${data.checks.results.length}</b><span>checks passed</span></li>
</ul>
</header>
<main>
<section id="listening"><h2>When they listen</h2>${figures(listening)}</section>
<section id="users"><h2>Who listens, and where</h2>${figures(users)}</section>
<section id="free-and-paid"><h2>Free and paid</h2>
<p class="legend">From each user's level history by event time (user_levels: one interval per level, from the event where it started). A conversion is an interval whose previous interval of the same user had the other level, counted on the day or week it started. A user is active on a day or in a week when they played at least one song then, counted once, at the level of their last play. A cohort is the users whose first play was in that week (Monday to Sunday, UTC). Hover a bar or cell for its exact values.</p>
${figures(freeAndPaid)}
<h3 id="user-timelines">Each user's timeline</h3>
${userTimelines(data)}
</section>
<section id="songs"><h2>What they play</h2>
<p class="note" id="match-rate"><b>Song match rate: ${fmt(matched)} of ${fmt(plays)} plays (${rate.toFixed(1)}%) have a song_id.</b>
A play gets a song_id only when its title, artist name and duration (within 0.01 s) match a song in the song data, which is a small sample of the Million Song Dataset; most songs played are not in it.
So a low rate is what this data gives, not a loading error: every play is still counted in every other chart, and only the two top-10 lists below are limited to matched plays.</p>
${sqlDetails('SQL (the match rate)', data.sql.matchRate)}
${figures(songs)}
${rest.length > 0 ? figures(rest) : ''}
</section>
<section id="schema"><h2>The schema</h2>
<p class="legend">Drawn from the migrations' table definitions (migrations/*.ts). PK: key, UK: part of the natural key (both unique and not NULL, checked below); FK: references a dimension (checked below); DK: Redshift DISTKEY; S1, S2…: position in the Redshift compound SORTKEY. Each table's header gives its Redshift distribution and sort key; PostgreSQL has B-tree indexes instead.${input.tablesNotDrawn.length > 0 ? ` Not drawn: ${input.tablesNotDrawn.map(escapeHtml).join(', ')} (bookkeeping, and what a step keeps to recompute its table from).` : ''}</p>
<div class="erd-wrap">${input.erdSvg}</div>
</section>
<section id="trust"><h2>Checks and loads</h2>
<div class="two">
<div><h3>Data-quality checks: ${passed} of ${data.checks.results.length} passed</h3>
<div class="scroll"><table class="checks"><thead><tr><th>result</th><th>check</th><th class="num">offending rows</th></tr></thead><tbody>
${data.checks.results.map(checkRow).join('\n')}
</tbody></table></div></div>
<div><h3>Rows per table</h3>${rowsTable(data.checks.counts.map((c) => ({ table: c.table_name, rows: c.row_count })))}${sqlDetails('SQL', data.sql.rowCounts)}
<h3>Source objects loaded (the load ledger)</h3>
${rowsTable(ledger.summary)}${sqlDetails('SQL', data.sql.ledgerSummary)}
<details class="objects"><summary>When each object was loaded (${ledger.objects.length < ledger.total ? `the latest ${fmt(ledger.objects.length)} of ${fmt(ledger.total)}` : `all ${fmt(ledger.total)}`})</summary>${rowsTable(ledger.objects)}${sqlDetails('SQL', data.sql.ledgerObjects)}</details>
${runs}
${driftSection(data.drift, (rows) => rowsTable(rows))}
${freshnessSection(data.freshness, (rows) => rowsTable(rows))}
</div>
</div>
</section>
</main>
<footer>Written by <code>npm run report</code> (sparkify-warehouse). The charts are Vega-Lite, rendered to SVG when the report was written: the page runs no script and needs no network.</footer>
</body>
</html>
`;
}
