/**
 * How the commands print what a load and the checks did (shared by load,
 * verify and start): results on stdout, live progress on stderr.
 */
import type { StageProgress } from '../../lib/stage/strategy.ts';
import { describeProblem } from '../../lib/errors.ts';
import type { LoadReport } from '../../lib/load/runner.ts';
import type { Logger } from '../../lib/log.ts';
import type { VerifyReport } from '../../lib/report/checks.ts';
import type { LoadRun } from '../../lib/load/run-record.ts';
import { print, printJson, type ResultFormat } from './common.ts';
import { formatTable } from './format-table.ts';

/**
 * Live progress on a terminal; a plain line per finished table otherwise.
 * A table's last line is its final report (StageProgress.done): every row
 * counted, the rate over that table's own time.
 */
export function progressReporter(log: Logger): { onProgress: (p: StageProgress) => void; done: () => void } {
  const tty = Boolean(process.stderr.isTTY);
  let last = 0;
  const started = Date.now();
  const tableStarted = new Map<string, number>();
  let shown = false;
  return {
    onProgress: (p) => {
      const now = Date.now();
      if (!tableStarted.has(p.table)) tableStarted.set(p.table, now);
      const finished = p.done === true;
      if (!finished && now - last < (tty ? 200 : 5000)) return;
      last = now;
      const secs = Math.max((now - (tableStarted.get(p.table) ?? started)) / 1000, 0.001);
      const line = `${p.table}: ${p.objectsDone}/${p.objectsTotal} files, ${p.rows} rows, ${(p.bytes / 1048576).toFixed(1)} MB, ${Math.round(p.rows / secs)} rows/s`;
      if (tty) {
        process.stderr.write(`\r\x1b[K${line}${finished ? '\n' : ''}`);
        shown = !finished;
      } else if (finished || now - started > 5000) log.info(line);
    },
    done: () => {
      if (tty && shown) process.stderr.write('\n');
    },
  };
}

/** The command line's words after the program name, without the settings file (a run record's `command`; secrets are masked when it is kept). */
export function commandLine(): string {
  const words = process.argv.slice(2);
  return words.filter((w, i) => !w.startsWith('--env-file') && words[i - 1] !== '--env-file').join(' ');
}

/** text: a table of the steps and the skipped records; json: the run (lib/load/run-record.ts RunSummary). */
export function printLoadReport(report: LoadReport, format: ResultFormat = 'text', run?: LoadRun): void {
  if (format === 'json' && run) {
    printJson(run.summary());
    return;
  }
  print(formatTable(report.steps.map((s) => ({ step: s.step, rows: s.rows, seconds: s.seconds.toFixed(2), detail: s.detail ?? '' }))));
  if (report.skipped.length > 0) {
    print(`Skipped ${report.skipped.length} bad record(s) (--max-errors):`);
    for (const p of report.skipped) print(`  ${describeProblem(p)}`);
  }
}

/** The JSON shape of `verify --format json` (docs/operations.md, Machine-readable output). */
export function verifyJson(report: VerifyReport): object {
  return {
    passed: report.results.every((r) => r.failures === 0),
    counts: report.counts.map((c) => ({ table: c.table_name, rows: Number(c.row_count) })),
    songplays: report.songplays,
    matched: report.matched,
    checks: report.results.map((r) => ({ name: r.check.name, description: r.check.description, passed: r.failures === 0, offendingRows: r.failures, sample: r.sample })),
  };
}

export function printVerifyReport(report: VerifyReport, format: ResultFormat = 'text'): void {
  if (format === 'json') {
    printJson(verifyJson(report));
    return;
  }
  print(formatTable(report.counts));
  const rate = report.songplays === 0 ? 0 : (100 * report.matched) / report.songplays;
  print(`Song match rate: ${report.matched} of ${report.songplays} songplays (${rate.toFixed(1)}%) have a song_id.\n`);
  for (const r of report.results) {
    print(`${r.failures === 0 ? 'PASS' : 'FAIL'}  ${r.check.name}${r.failures === 0 ? '' : `: ${r.failures} offending row(s)`}`);
    if (r.failures > 0) print(formatTable(r.sample).replace(/^/gm, '      '));
  }
}
