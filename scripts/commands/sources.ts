/**
 * npm run sources: checks SONG_DATA, LOG_DATA and LOG_JSONPATH before a load.
 */
import type { Argv, CommandModule } from 'yargs';
import { stageEvents } from '../../loaders/stage-events.ts';
import { assertSourcesOk, inspectSources } from '../../lib/sources/inspect.ts';
import { sourceReaderFor } from '../../lib/sources/source-objects.ts';
import {
  commonOptions,
  formatOption,
  print,
  printJson,
  runCommand,
  setup,
  sourceOptions,
  withSourceFlags,
  type CommonArgs,
  type FormatArgs,
  type SourceArgs,
} from './common.ts';
import { formatTable } from './format-table.ts';

type SourcesArgs = CommonArgs & SourceArgs & FormatArgs;

export const sourcesCommand: CommandModule<object, SourcesArgs> = {
  command: 'sources',
  describe: 'Check the configured sources: objects, bytes, first and last keys, the JSONPaths file, a sample of files',
  builder: (y) =>
    formatOption(
      sourceOptions(commonOptions(y as Argv<object>)),
      'each source (objects, bytes, first and last keys, the sample parsed), the JSONPaths file and every problem',
    ),
  handler: (args) =>
    runCommand(args, async () => {
      const { config: base, log } = setup(args);
      const config = withSourceFlags(base, args);
      log.info('Listing the sources…');
      const report = await inspectSources(config.sources, sourceReaderFor(config), stageEvents.columns);
      if (args.format === 'json') {
        printJson({
          ready: report.problems.length === 0,
          sources: report.summaries,
          jsonpaths: report.jsonpaths,
          problems: report.problems,
        });
        assertSourcesOk(report);
        return;
      }
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
