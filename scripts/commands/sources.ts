/**
 * npm run sources: checks SONG_DATA, LOG_DATA and LOG_JSONPATH before a load,
 * and shows each source's per-key profile (schema drift, from a sample).
 */
import type { Argv, CommandModule } from 'yargs';
import { pipeline } from '../../loaders/index.ts';
import { stageEvents } from '../../loaders/stage-events.ts';
import { DEFAULT_DRIFT_THRESHOLD, describeDrift, type DriftReport } from '../../lib/sources/drift.ts';
import { profileSources } from '../../lib/stage/drift.ts';
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

type SourcesArgs = CommonArgs & SourceArgs & FormatArgs & { driftThreshold: number };

/** One row per key: what the sample holds. */
function profileRows(r: DriftReport): Record<string, string | number>[] {
  return r.profile.map((k) => ({
    key: k.key,
    column: k.columns.join(', ') || '(none: new key)',
    records: k.records,
    share: `${r.records === 0 ? 0 : Number(((100 * k.records) / r.records).toPrecision(4))}%`,
    types: Object.entries(k.types)
      .map(([t, n]) => `${t} ${n}`)
      .join(', '),
    first: k.first ? `${k.first.file}:${k.first.line}` : '',
  }));
}

export const sourcesCommand: CommandModule<object, SourcesArgs> = {
  command: 'sources',
  describe: 'Check the configured sources: objects, bytes, first and last keys, the JSONPaths file, a sample of files',
  builder: (y) =>
    formatOption(
      sourceOptions(commonOptions(y as Argv<object>)),
      "each source (objects, bytes, first and last keys, the sample parsed), the JSONPaths file, every problem, and each staging table's key profile and drift",
    ).option('drift-threshold', {
      type: 'number',
      default: DEFAULT_DRIFT_THRESHOLD,
      describe: 'report a mapped JSON key absent from more than this share of the sampled records (0 to 1)',
    }) as unknown as Argv<SourcesArgs>,
  handler: (args) =>
    runCommand(args, async () => {
      const { config: base, log } = setup(args);
      const config = withSourceFlags(base, args);
      log.info('Listing the sources…');
      const reader = sourceReaderFor(config);
      const report = await inspectSources(config.sources, reader, stageEvents.columns);
      // The per-key profile of sources that can be read (what the problems do not already rule out).
      let drift: DriftReport[] = [];
      if (report.problems.length === 0) {
        log.info('Profiling the keys of a sample of each source…');
        drift = await profileSources(reader, pipeline.staging, config.sources, args.driftThreshold);
      }
      if (args.format === 'json') {
        printJson({
          ready: report.problems.length === 0,
          sources: report.summaries,
          jsonpaths: report.jsonpaths,
          problems: report.problems,
          drift,
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
      for (const r of drift) {
        print('');
        print(
          `Keys of ${r.table} (${r.records} records in a sample of ${r.objectsRead} of ${r.objectsListed} objects):`,
        );
        print(formatTable(profileRows(r)));
        const lines = describeDrift(r);
        print(lines.length === 0 ? 'No drift: every key is mapped, of one type, and present.' : 'Drift:');
        for (const line of lines) print(`  - ${line}`);
      }
      assertSourcesOk(report);
      print('The sources are ready to load.');
    }),
};
