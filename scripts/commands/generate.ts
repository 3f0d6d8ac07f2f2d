/**
 * npm run generate -- --songs N --events M --seed S --out DIR [--layout seed|current]
 * npm run generate -- --full --out DIR   (today's udacity-dend layout and size)
 */
import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { formatTable } from './format-table.ts';
import { FULL_SIZE, LAYOUTS, generate, type Layout } from '../../lib/sample/generator.ts';
import { createLogger } from '../../lib/log.ts';
import { commonOptions, print, runCommand, type CommonArgs } from './common.ts';

interface GenerateArgs extends CommonArgs {
  songs: number;
  events: number;
  seed: number;
  out: string;
  days: number;
  layout: Layout;
  full: boolean;
}

export const generateCommand: CommandModule<object, GenerateArgs> = {
  command: 'generate',
  describe:
    "Write Sparkify-shaped sample data (song_data/, log_data/, log_json_path.json; or today's song-data/, log-data/) and print the counts the warehouse must hold",
  builder: (y) =>
    commonOptions(y as Argv<object>)
      .option('songs', { type: 'number', default: 2000, describe: 'song files to write' })
      .option('events', { type: 'number', default: 10000, describe: 'log events to write' })
      .option('seed', { type: 'number', default: 42, describe: 'same seed, same files' })
      .option('days', { type: 'number', default: 30, describe: 'log files (days of November 2018, 1–30)' })
      .option('out', { type: 'string', default: 'sample-data', describe: 'output folder' })
      .option('layout', {
        choices: Object.keys(LAYOUTS) as Layout[],
        default: 'seed' as Layout,
        describe:
          "seed: song_data/, log_data/ (the seed projects'); current: song-data/<A>/<B>/<C>/, log-data/ (today's udacity-dend)",
      })
      .option('full', {
        type: 'boolean',
        default: false,
        describe: `today's udacity-dend at full size: --layout current, ${FULL_SIZE.songs} song files, ${FULL_SIZE.events} events in ${FULL_SIZE.days} log files (about 100 MB; overrides --songs, --events, --days, --layout)`,
      })
      .check((a) => {
        for (const k of ['songs', 'events', 'seed', 'days'] as const) {
          if (!Number.isInteger(a[k]) || a[k] < 0) throw new Error(`--${k} takes a whole number of 0 or more`);
        }
        return true;
      }) as unknown as Argv<GenerateArgs>,
  handler: (args) =>
    runCommand(args, async () => {
      const log = createLogger({ verbose: args.verbose, quiet: args.quiet });
      const out = path.resolve(args.out);
      const size = args.full
        ? FULL_SIZE
        : { songs: args.songs, events: args.events, days: args.days, layout: args.layout };
      const started = Date.now();
      log.info(`Writing ${size.songs} songs and ${size.events} events to ${out} (seed ${args.seed})…`);
      const expected = await generate({ ...size, seed: args.seed, out });
      log.info(`Done in ${((Date.now() - started) / 1000).toFixed(1)}s.`);
      const names = LAYOUTS[size.layout];
      print(
        `LOG_DATA=${path.join(out, names.logs)}\nSONG_DATA=${path.join(out, names.songs)}\nLOG_JSONPATH=${path.join(out, 'log_json_path.json')}\n`,
      );
      print('Expected after `npm run load`:');
      print(formatTable(Object.entries(expected).map(([what, rows]) => ({ what, rows }))));
    }),
};
