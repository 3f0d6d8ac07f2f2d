/**
 * How the commands print what a load and the checks did (shared by load,
 * verify and start): results on stdout, live progress on stderr.
 */
import type { StageProgress } from '../../lib/stage/strategy.ts';
import { describeProblem } from '../../lib/errors.ts';
import type { LoadReport } from '../../lib/load/runner.ts';
import type { Logger } from '../../lib/log.ts';
import { verifyJson, type VerifyReport } from '../../lib/report/checks.ts';
import type { LoadRun } from '../../lib/load/run-record.ts';
import type { StepEvent } from '../../lib/load/options.ts';
import cliProgress from 'cli-progress';
import { print, printJson, type ResultFormat } from './common.ts';
import { formatRows, formatTable } from './format-table.ts';

/**
 * Progress on stderr. At a terminal: a bar per staging table (cli-progress)
 * with files done, megabytes, the rate and the time left, and a line as each
 * transform starts. Always (a terminal, a file, CI): one line per staging
 * table and per transform when it ends, with its rows and seconds. The live
 * bar counts files and bytes, which advance with every object; rows are
 * counted in batches behind the conversion's buffer, so they are given only
 * in a table's end line. A rate is given once a table has run for half a
 * second (before that, one fast object would claim millions of rows a second).
 */
export function progressReporter(
  log: Logger,
  stream: NodeJS.WriteStream = process.stderr,
): { onProgress: (p: StageProgress) => void; onStep: (e: StepEvent) => void; done: () => void } {
  const tty = Boolean(stream.isTTY);
  let tableStarted = Date.now();
  let bar: cliProgress.SingleBar | undefined;
  const rate = (amount: number, secs: number, unit: string) =>
    secs >= 0.5 ? `, ${(amount / secs).toFixed(amount / secs >= 100 ? 0 : 1)} ${unit}/s` : '';
  const stopBar = () => {
    bar?.stop();
    bar = undefined;
  };
  return {
    onProgress: (p) => {
      if (tty && !bar) {
        bar = new cliProgress.SingleBar(
          {
            stream,
            format: '{table} [{bar}] {value}/{total} files | {mb} MB{rate} | ETA {eta_formatted}',
            hideCursor: true,
            etaBuffer: 50,
            fps: 5,
            clearOnComplete: true,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(p.objectsTotal, 0, { table: p.table, mb: '0.0', rate: '' });
      }
      const secs = (Date.now() - tableStarted) / 1000;
      const mb = p.bytes / 1048576;
      bar?.update(p.objectsDone, { table: p.table, mb: mb.toFixed(1), rate: rate(mb, secs, 'MB') });
      if (p.done !== true) return;
      stopBar();
      log.info(
        `${p.table}: ${p.objectsDone}/${p.objectsTotal} files, ${p.rows} rows, ${mb.toFixed(1)} MB in ${secs.toFixed(1)}s${rate(p.rows, secs, 'rows')}`,
      );
      tableStarted = Date.now();
    },
    onStep: (e) => {
      const place = `[${e.position} of ${e.total}]`;
      if (e.phase === 'start') {
        if (tty) log.info(`${place} START transform ${e.step}: ${e.description}`);
        return;
      }
      log.info(`${place} OK transform ${e.step}: ${e.rows ?? 0} rows in ${(e.seconds ?? 0).toFixed(2)}s`);
    },
    done: stopBar,
  };
}

/** The command line's words after the program name, without the settings file (a run record's `command`; secrets are masked when it is kept). */
export function commandLine(): string {
  const words = process.argv.slice(2);
  return words.filter((w, i) => !w.startsWith('--env-file') && words[i - 1] !== '--env-file').join(' ');
}

/** text: a table of the steps and the skipped records; json: the run (lib/load/run-record.ts RunSummary). */
export function printLoadReport(report: LoadReport, format: ResultFormat = 'table', run?: LoadRun): void {
  if (format === 'json' && run) {
    printJson(run.summary());
    return;
  }
  const rows = report.steps.map((s) => ({
    step: s.step,
    rows: s.rows,
    seconds: s.seconds.toFixed(2),
    detail: s.detail ?? '',
  }));
  if (format === 'csv') {
    print(formatRows(rows, 'csv'));
    return;
  }
  print(formatTable(rows));
  if (report.skipped.length > 0) {
    print(`Skipped ${report.skipped.length} bad record(s) (--max-errors):`);
    for (const p of report.skipped) print(`  ${describeProblem(p)}`);
  }
}

export function printVerifyReport(report: VerifyReport, format: ResultFormat = 'table'): void {
  if (format === 'json') {
    printJson(verifyJson(report));
    return;
  }
  if (format === 'csv') {
    print(
      formatRows(
        report.results.map((r) => ({ check: r.check.name, passed: r.failures === 0, offending_rows: r.failures })),
        'csv',
      ),
    );
    return;
  }
  print(formatTable(report.counts));
  const rate = report.songplays === 0 ? 0 : (100 * report.matched) / report.songplays;
  print(`Song match rate: ${report.matched} of ${report.songplays} songplays (${rate.toFixed(1)}%) have a song_id.\n`);
  for (const r of report.results) {
    print(
      `${r.failures === 0 ? 'PASS' : 'FAIL'}  ${r.check.name}${r.failures === 0 ? '' : `: ${r.failures} offending row(s)`}`,
    );
    if (r.failures > 0) print(formatTable(r.sample).replace(/^/gm, '      '));
  }
}
