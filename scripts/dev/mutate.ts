/**
 * `npm run mutate [-- --file PATH]`: mutation testing of the core rule files.
 * Plants each mutation of test/support/mutations.ts in turn (one source edit),
 * runs only that file's test files (AVA, --fail-fast) against one throw-away
 * PostgreSQL, restores the source, and prints for each mutation whether a
 * test caught it, then caught/survived per file and the total. A mutation
 * the list marks equivalent or left (with its reason) is not counted.
 *
 * The source is always restored: after each mutant (finally), on SIGINT /
 * SIGTERM / SIGHUP (at once, synchronously), and after a kill -9 by the next
 * run, from the journal written before each edit (.mutate-journal.json,
 * git-ignored). When a mutant was compiled into dist/ (its tests run the
 * command line), dist/ is rebuilt from the restored sources at the end.
 *
 * Exit code 0 when at least 95% of the counted mutants were caught and no
 * mutant marked equivalent or left was caught (the list would be wrong).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { createLogger } from '../../lib/log.ts';
import { MUTATIONS, applyMutation, type MutatedFile, type Mutation } from '../../test/support/mutations.ts';
import { startScratchServer, type ScratchServer } from '../../test/support/scratch-server.ts';
import { PROJECT_DIR, ensureBuilt } from '../../test/support/spawn-cli.ts';
import { createRunTempDir, leftovers, removeRunTempDir } from '../../test/support/temp-leftovers.ts';

const log = createLogger();
const JOURNAL = path.join(PROJECT_DIR, '.mutate-journal.json');
const AVA = path.join(PROJECT_DIR, 'node_modules', 'ava', 'entrypoints', 'cli.mjs');
/** A mutant whose tests run longer than this is taken as caught (it hangs), and its tests are stopped. */
const MUTANT_TIMEOUT_MS = 5 * 60_000;
const TARGET = 0.95;

const args = yargs(hideBin(process.argv))
  .scriptName('npm run mutate --')
  .usage('$0 [--file PATH ...]: plants each listed mutation in turn and runs the tests that must catch it')
  .option('file', {
    type: 'string',
    array: true,
    describe: 'only the mutations of this source file (repeatable); default: every file in test/support/mutations.ts',
  })
  .option('list', {
    type: 'boolean',
    default: false,
    describe: 'print the mutations and their test files, run nothing',
  })
  .option('format', {
    choices: ['table', 'json'] as const,
    default: 'table' as const,
    describe:
      'table: for people; json: the list (--list) or the results as exactly one JSON document on stdout (progress on stderr)',
  })
  .option('baseline', {
    type: 'boolean',
    default: true,
    describe: 'first run the selected test files unmutated (they must pass); --no-baseline skips it',
  })
  .strict()
  .help()
  .parseSync();

interface Journal {
  readonly file: string;
  readonly original: string;
}

/** Puts back a source left mutated by a run that was killed outright. */
function restoreFromJournal(): void {
  if (!existsSync(JOURNAL)) return;
  const j = JSON.parse(readFileSync(JOURNAL, 'utf8')) as Journal;
  writeFileSync(path.join(PROJECT_DIR, j.file), j.original);
  rmSync(JOURNAL);
  log.warn(`Restored ${j.file}, left mutated by an interrupted run.`);
}

/** Whether a test file runs the compiled command line (then each mutant is built into dist/ first). */
const runsCli = (testFile: string) =>
  /\b(runCli|spawnCli|cliCommand)\(|\bstartAt\(/.test(readFileSync(path.join(PROJECT_DIR, testFile), 'utf8'));

let restoring: Journal | undefined;
let child: ChildProcess | undefined;
let dirtyDist = false;

function restoreNow(): void {
  if (!restoring) return;
  writeFileSync(path.join(PROJECT_DIR, restoring.file), restoring.original);
  rmSync(JOURNAL, { force: true });
  restoring = undefined;
}

function rebuild(): void {
  log.info('Rebuilding dist/ from the restored sources…');
  execFileSync(process.execPath, [path.join(PROJECT_DIR, 'scripts', 'build.mjs')], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  dirtyDist = false;
}

let signalled = 0;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    signalled += 1;
    restoreNow();
    if (child?.pid) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (signalled > 1) {
      // A second signal: the source is restored; dist/ may hold a mutant until the next build.
      if (dirtyDist) rmSync(path.join(PROJECT_DIR, 'dist', '.build-stamp'), { force: true });
      process.exit(130);
    }
    log.warn(`${signal}: the source is restored; stopping after cleaning up (a second signal exits at once).`);
  });
}

/** Runs AVA on the files; resolves with its exit code (1 when it had to be stopped). */
function runTests(
  files: readonly string[],
  match: readonly string[] | undefined,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; output: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const matchArgs = (match ?? []).flatMap((m) => ['--match', m]);
    // Its own process group, so that a hung mutant's workers and the commands they started are stopped together.
    child = spawn(process.execPath, [AVA, '--fail-fast', ...matchArgs, ...files], {
      cwd: PROJECT_DIR,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child?.pid) process.kill(-child.pid, 'SIGKILL');
    }, MUTANT_TIMEOUT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      child = undefined;
      resolve({ code: code ?? 1, output, timedOut });
    });
  });
}

interface Outcome {
  readonly file: string;
  readonly mutation: Mutation;
  readonly caught: boolean;
  readonly how: string;
  /** The type checker refused it (tsc, in the build): not counted, as no test was needed (rewrite the mutation). */
  readonly compileError?: boolean;
}

const selected: MutatedFile[] = args.file
  ? MUTATIONS.filter((f) => args.file?.some((p) => path.normalize(p) === f.file))
  : [...MUTATIONS];
if (args.file && selected.length !== args.file.length) {
  const known = new Set(MUTATIONS.map((f) => f.file));
  log.error(
    `--file: no mutations listed for ${args.file.filter((p) => !known.has(path.normalize(p))).join(', ')} (files: ${[...known].join(', ')})`,
  );
  process.exit(2);
}

if (args.list && args.format === 'json') {
  process.stdout.write(`${JSON.stringify({ files: selected }, null, 2)}\n`);
  process.exit(0);
}
if (args.list) {
  for (const f of selected) {
    process.stdout.write(
      `${f.file}  (tests: ${f.tests.join(' ')}${f.match ? `; --match ${f.match.join(' ')}` : ''})\n`,
    );
    for (const m of f.mutations)
      process.stdout.write(`  - ${m.rule}${m.equivalent ? '  [equivalent]' : m.left ? '  [left]' : ''}\n`);
  }
  process.exit(0);
}

restoreFromJournal();
// Every mutation must apply before any runs.
for (const f of selected) {
  const source = readFileSync(path.join(PROJECT_DIR, f.file), 'utf8');
  for (const m of f.mutations) applyMutation(source, m, f.file);
}

const started = Date.now();
const outcomes: Outcome[] = [];
let server: ScratchServer | undefined;
const runTmp = await createRunTempDir();
const env: NodeJS.ProcessEnv = {
  ...process.env,
  TMPDIR: runTmp,
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};
let failed = false;
try {
  // The command line the tests run must be today's before any mutant is planted.
  ensureBuilt();
  if (!env['TEST_DATABASE_URL']) {
    server = await startScratchServer('sparkify-mutate', log);
    env['TEST_DATABASE_URL'] = server.url;
  }
  if (args.baseline) {
    const runs = new Map(selected.map((f) => [JSON.stringify([f.tests, f.match ?? []]), f]));
    log.info(`Baseline: the tests of ${selected.length} file(s) unmutated (${runs.size} AVA run(s))…`);
    for (const f of runs.values()) {
      const base = await runTests(f.tests, f.match, env);
      if (base.code !== 0)
        throw new Error(`the tests of ${f.file} fail without any mutation (fix them first):\n${base.output}`);
      if (signalled) break;
    }
  }
  for (const f of selected) {
    if (signalled) break;
    const file = path.join(PROJECT_DIR, f.file);
    const original = readFileSync(file, 'utf8');
    const needsBuild = f.tests.some(runsCli);
    for (const m of f.mutations) {
      if (signalled) break;
      const t0 = Date.now();
      let outcome: Outcome;
      restoring = { file: f.file, original };
      writeFileSync(JOURNAL, JSON.stringify(restoring));
      try {
        writeFileSync(file, applyMutation(original, m, f.file));
        let built = true;
        if (needsBuild) {
          dirtyDist = true;
          try {
            execFileSync(process.execPath, [path.join(PROJECT_DIR, 'scripts', 'build.mjs')], {
              stdio: ['ignore', 'ignore', 'ignore'],
            });
          } catch {
            built = false;
          }
        }
        if (!built) {
          outcome = { file: f.file, mutation: m, caught: true, how: 'does not compile', compileError: true };
        } else {
          const r = await runTests(f.tests, f.match, env);
          const failedTest = /✘ (?:\[fail\]: )?(.*)/.exec(r.output)?.[1]?.trim();
          outcome = {
            file: f.file,
            mutation: m,
            caught: r.code !== 0,
            how: r.timedOut
              ? 'timed out'
              : r.code !== 0
                ? `by: ${failedTest ?? `exit ${r.code}`}`
                : 'every test passed',
          };
        }
      } finally {
        restoreNow();
      }
      if (signalled) break;
      for (const left of await leftovers(runTmp)) rmSync(path.join(runTmp, left), { recursive: true, force: true });
      outcomes.push(outcome);
      const excused = m.equivalent ?? m.left;
      const mark = outcome.compileError
        ? 'COMPILE ERROR'
        : outcome.caught
          ? excused
            ? 'CAUGHT (listed as not catchable!)'
            : 'caught'
          : excused
            ? m.equivalent
              ? 'survived, equivalent'
              : 'survived, left'
            : 'SURVIVED';
      // Progress: on stderr when stdout is the JSON document.
      (args.format === 'json' ? process.stderr : process.stdout).write(
        `${mark.padEnd(20)} ${f.file}: ${m.rule} (${Math.round((Date.now() - t0) / 1000)}s; ${outcome.how})\n`,
      );
    }
  }
} catch (err) {
  failed = true;
  log.error((err as Error).message);
} finally {
  restoreNow();
  if (dirtyDist) rebuild();
  await server?.stop();
  await removeRunTempDir(runTmp);
}

// The summary: per file, then the total.
const counted = (o: Outcome) => !o.mutation.equivalent && !o.mutation.left && !o.compileError;
const perFile = selected
  .map((f) => {
    const mine = outcomes.filter((o) => o.file === f.file);
    const c = mine.filter(counted);
    return {
      file: f.file,
      run: mine.length,
      caught: c.filter((o) => o.caught).length,
      survived: c.filter((o) => !o.caught).length,
      notCounted: mine.length - c.length,
    };
  })
  .filter((r) => r.run > 0);
const all = outcomes.filter(counted);
const caught = all.filter((o) => o.caught).length;
const score = all.length === 0 ? 1 : caught / all.length;
const minutes = ((Date.now() - started) / 60_000).toFixed(1);
const whyNotCounted = (o: Outcome) =>
  o.compileError
    ? 'does not compile (rewrite it so that a test has to catch it)'
    : o.mutation.equivalent
      ? `equivalent: ${o.mutation.equivalent}`
      : `left: ${o.mutation.left ?? ''}`;
if (args.format === 'json') {
  const summary = {
    files: perFile.map(({ file, caught: c, survived, notCounted }) => ({ file, caught: c, survived, notCounted })),
    caught,
    counted: all.length,
    score,
    target: TARGET,
    minutes: Number(minutes),
    notCounted: outcomes
      .filter((x) => !counted(x))
      .map((o) => ({ file: o.file, rule: o.mutation.rule, why: whyNotCounted(o) })),
    survived: all.filter((x) => !x.caught).map((o) => ({ file: o.file, rule: o.mutation.rule })),
  };
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
} else {
  process.stdout.write('\nfile                                          caught  survived  not counted\n');
  for (const r of perFile) {
    process.stdout.write(
      `${r.file.padEnd(46)}${String(r.caught).padStart(6)}${String(r.survived).padStart(10)}${String(r.notCounted).padStart(13)}\n`,
    );
  }
  process.stdout.write(
    `\nTotal: ${caught} of ${all.length} mutants caught (${(100 * score).toFixed(1)}%), ${outcomes.length - all.length} not counted (equivalent or left, each with its reason in test/support/mutations.ts; or not compiling); ${minutes} min\n`,
  );
  for (const o of outcomes.filter((x) => !counted(x)))
    process.stdout.write(`  not counted: ${o.file}: ${o.mutation.rule}: ${whyNotCounted(o)}\n`);
  for (const o of all.filter((x) => !x.caught)) process.stdout.write(`  SURVIVED: ${o.file}: ${o.mutation.rule}\n`);
}
const wronglyListed = outcomes.some((o) => o.compileError || (o.caught && !counted(o)));
if (signalled) process.exit(130);
process.exit(failed || score < TARGET || wronglyListed ? 1 : 0);
