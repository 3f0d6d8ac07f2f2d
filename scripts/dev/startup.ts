/**
 * npm run bench:startup [-- --rounds N]: how long the command line takes to
 * start, as a ratio to `node -e 0` measured in the same run on the same
 * machine: `--help`, and a Redshift dry run of the load (renders the SQL, no
 * connection). The compiled build (what the npm scripts and the bin run) and,
 * for comparison, the TypeScript sources under tsx (how it ran before). Each
 * figure is the median of N rounds, the commands taking turns. A
 * measurement, not a test: it asserts nothing. measureStartup is exported for
 * the benchmark (scripts/dev/bench.ts) to include.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { CLI_ENTRY, PROJECT_DIR, ensureBuilt } from '../../test/support/spawn-cli.ts';

export interface StartupFigure {
  readonly what: string;
  readonly seconds: number;
  readonly ratio: number;
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

export function measureStartup(rounds = 5): StartupFigure[] {
  ensureBuilt();
  const env = {
    PATH: process.env['PATH'],
    HOME: process.env['HOME'],
    IAM_ROLE_ARN: 'arn:aws:iam::123456789012:role/sparkify-read',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  const tsxEntry = ['--import=tsx', path.join(PROJECT_DIR, 'scripts', 'cli.ts')];
  const dryRun = ['load', '--dry-run', '--dialect', 'redshift', '--env-file=/dev/null'];
  const commands: [string, string[]][] = [
    ['node -e 0 (baseline)', ['-e', '0']],
    ['--help (compiled)', [CLI_ENTRY, '--help']],
    ['load --dry-run --dialect redshift (compiled)', [CLI_ENTRY, ...dryRun]],
    ['--help (TypeScript under tsx, before)', [...tsxEntry, '--help']],
    ['load --dry-run --dialect redshift (tsx, before)', [...tsxEntry, ...dryRun]],
  ];
  const times = commands.map((): number[] => []);
  // One warm-up round (file cache), then the rounds, the commands taking turns.
  for (let round = -1; round < rounds; round++) {
    commands.forEach(([what, args], i) => {
      const start = process.hrtime.bigint();
      const r = spawnSync(process.execPath, args, { cwd: PROJECT_DIR, env, stdio: ['ignore', 'ignore', 'pipe'] });
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      if (r.status !== 0) throw new Error(`${what} exited with ${r.status}: ${r.stderr.toString()}`);
      if (round >= 0) times[i]?.push(seconds);
    });
  }
  const baseline = median(times[0] ?? []);
  return commands.map(([what], i) => {
    const seconds = median(times[i] ?? []);
    return { what, seconds, ratio: seconds / baseline };
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const i = process.argv.indexOf('--rounds');
  const rounds = i === -1 ? 5 : Number(process.argv[i + 1]);
  if (!Number.isInteger(rounds) || rounds < 1) {
    process.stderr.write('--rounds takes a whole number of 1 or more\n');
    process.exit(2);
  }
  const figures = measureStartup(rounds);
  process.stdout.write(
    `Start-up, Node ${process.version}, median of ${rounds} rounds\n\n| command | seconds | ÷ node -e 0 |\n| --- | ---: | ---: |\n`,
  );
  for (const f of figures) process.stdout.write(`| ${f.what} | ${f.seconds.toFixed(3)} | ${f.ratio.toFixed(1)} |\n`);
}
