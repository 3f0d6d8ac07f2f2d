/**
 * How the commands print what a load and the checks did (shared by load,
 * verify and start): results on stdout, live progress on stderr.
 */
import type { StageProgress } from '../../lib/dialect/staging.ts';
import { describeProblem } from '../../lib/errors.ts';
import type { LoadReport } from '../../lib/load/runner.ts';
import type { Logger } from '../../lib/log.ts';
import type { VerifyReport } from '../../lib/report/checks.ts';
import { print } from './common.ts';
import { formatTable } from './format-table.ts';

/** Live progress on a terminal; a plain line per finished table otherwise. */
export function progressReporter(log: Logger): { onProgress: (p: StageProgress) => void; done: () => void } {
  const tty = Boolean(process.stderr.isTTY);
  let last = 0;
  const started = Date.now();
  let shown = false;
  return {
    onProgress: (p) => {
      const now = Date.now();
      const finished = p.objectsDone === p.objectsTotal;
      if (!finished && now - last < (tty ? 200 : 5000)) return;
      last = now;
      const secs = Math.max((now - started) / 1000, 0.001);
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

export function printLoadReport(report: LoadReport): void {
  print(formatTable(report.steps.map((s) => ({ step: s.step, rows: s.rows, seconds: s.seconds.toFixed(2), detail: s.detail ?? '' }))));
  if (report.skipped.length > 0) {
    print(`Skipped ${report.skipped.length} bad record(s) (--max-errors):`);
    for (const p of report.skipped) print(`  ${describeProblem(p)}`);
  }
}

export function printVerifyReport(report: VerifyReport): void {
  print(formatTable(report.counts));
  const rate = report.songplays === 0 ? 0 : (100 * report.matched) / report.songplays;
  print(`Song match rate: ${report.matched} of ${report.songplays} songplays (${rate.toFixed(1)}%) have a song_id.\n`);
  for (const r of report.results) {
    print(`${r.failures === 0 ? 'PASS' : 'FAIL'}  ${r.check.name}${r.failures === 0 ? '' : `: ${r.failures} offending row(s)`}`);
    if (r.failures > 0) print(formatTable(r.sample).replace(/^/gm, '      '));
  }
}
