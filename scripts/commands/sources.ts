/**
 * npm run sources: checks SONG_DATA, LOG_DATA and LOG_JSONPATH before a load.
 */
import type { Argv, CommandModule } from 'yargs';
import { formatTable } from './format-table.ts';
import { assertSourcesOk, inspectSources } from '../../lib/sources/inspect.ts';
import { createSourceReader } from '../../lib/sources/source-objects.ts';
import { commonOptions, print, runCommand, setup } from './common.ts';
import { configWithFlags, type LoadArgs } from './load.ts';

type SourcesArgs = Pick<LoadArgs, 'envFile' | 'verbose' | 'quiet' | 'logData' | 'logJsonpath' | 'songData'>;

export const sourcesCommand: CommandModule<object, SourcesArgs> = {
  command: 'sources',
  describe: 'Check the configured sources: objects, bytes, first and last keys, the JSONPaths file, a sample of files',
  builder: (y) =>
    commonOptions(y as Argv<object>)
      .option('log-data', { type: 'string', describe: 'overrides LOG_DATA' })
      .option('log-jsonpath', { type: 'string', describe: 'overrides LOG_JSONPATH' })
      .option('song-data', { type: 'string', describe: 'overrides SONG_DATA' }) as unknown as Argv<SourcesArgs>,
  handler: (args) =>
    runCommand(args, async () => {
      const { config: base, log } = setup(args);
      const config = configWithFlags(base, { ...args, dryRun: false, maxErrors: 0, incremental: false });
      log.info('Listing the sources…');
      const report = await inspectSources(config.sources, createSourceReader(config.region));
      print(
        formatTable(
          report.summaries.map((s) => ({
            source: s.setting,
            objects: s.objects,
            MB: (s.bytes / 1048576).toFixed(1),
            first: s.first ?? '',
            last: s.last ?? '',
            sample: `${s.sampled} files, ${s.sampleRecords} records`,
          })),
        ),
      );
      print(`JSONPaths: ${report.jsonpaths}`);
      assertSourcesOk(report);
      print('The sources are ready to load.');
    }),
};
