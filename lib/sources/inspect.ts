/**
 * Checks the configured sources before a load (npm run sources): object count,
 * total bytes, first and last keys of SONG_DATA and LOG_DATA; the JSONPaths
 * file parses and matches staging_events in count and order; a sample of the
 * files parses as JSON records.
 */
import type { Sources } from '../config/config.ts';
import { InputError, describeProblem, type RecordProblem } from '../errors.ts';
import { readText, type SourceObject, type SourceObjects, type SourceReader } from './source-objects.ts';
import { autoMapping, parseJsonPathsFile } from './json-mapping.ts';
import { JsonRecordSplitter } from './json-records.ts';
import { gzipRefusal } from './compressed.ts';

export interface SourceSummary {
  readonly setting: string;
  readonly uri: string;
  readonly objects: number;
  readonly bytes: number;
  readonly first: string | undefined;
  readonly last: string | undefined;
  readonly sampled: number;
  readonly sampleRecords: number;
}

export interface SourcesReport {
  readonly summaries: readonly SourceSummary[];
  readonly jsonpaths: string;
  readonly problems: readonly string[];
}

const SAMPLE_SIZE = 5;

function totalBytes(objects: SourceObjects): number {
  let n = 0;
  for (const o of objects) n += o.size;
  return n;
}

/** Up to n objects spread over the listing: the first, the last and some between. */
function sample(objects: SourceObjects, n: number): SourceObject[] {
  if (objects.length <= n) return [...objects];
  return Array.from(
    { length: n },
    (_, i) => objects.at(Math.round((i * (objects.length - 1)) / (n - 1))) as SourceObject,
  );
}

async function parseSample(reader: SourceReader, object: SourceObject, problems: RecordProblem[]): Promise<number> {
  let records = 0;
  const splitter = new JsonRecordSplitter({
    record: () => (records += 1),
    problem: (p) => problems.push({ ...p, file: object.uri }),
  });
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  let first = true;
  for await (const chunk of await reader.open(object)) {
    if (first && chunk.byteLength > 0) {
      const gzip = gzipRefusal(object.uri, chunk);
      if (gzip) throw gzip;
      first = false;
    }
    splitter.push(decoder.decode(chunk, { stream: true }));
  }
  splitter.push(decoder.decode());
  splitter.end();
  return records;
}

/** `eventColumns`: staging_events' COPY columns, which the JSONPaths file must match in count and order. */
export async function inspectSources(
  sources: Sources,
  reader: SourceReader,
  eventColumns: readonly string[],
): Promise<SourcesReport> {
  const problems: string[] = [];
  const summaries: SourceSummary[] = [];
  for (const [setting, uri] of [
    ['SONG_DATA', sources.songData],
    ['LOG_DATA', sources.logData],
  ] as const) {
    let objects: SourceObjects;
    try {
      objects = await reader.list(uri);
    } catch (err) {
      problems.push(`${setting}: ${(err as Error).message}`);
      continue;
    }
    if (objects.length === 0)
      problems.push(`${setting}: no objects under ${uri} (an empty prefix: check the bucket, prefix and region)`);
    const recordProblems: RecordProblem[] = [];
    let sampleRecords = 0;
    const picked = sample(objects, SAMPLE_SIZE);
    for (const object of picked) {
      try {
        sampleRecords += await parseSample(reader, object, recordProblems);
      } catch (err) {
        problems.push(`${setting}: ${(err as Error).message}`);
      }
    }
    for (const p of recordProblems.slice(0, 5)) problems.push(`${setting}: ${describeProblem(p)}`);
    summaries.push({
      setting,
      uri,
      objects: objects.length,
      bytes: totalBytes(objects),
      first: objects.at(0)?.uri,
      last: objects.at(-1)?.uri,
      sampled: picked.length,
      sampleRecords,
    });
  }
  let jsonpaths: string;
  if (autoMapping(sources.logJsonPath)) {
    jsonpaths = `'${sources.logJsonPath}': top-level keys matched to column names`;
  } else {
    try {
      const mapping = parseJsonPathsFile(
        await readText(reader, sources.logJsonPath),
        sources.logJsonPath,
        eventColumns,
      );
      jsonpaths = `${sources.logJsonPath}: ${mapping.kind === 'paths' ? mapping.paths.length : 0} paths, in the order of staging_events' ${eventColumns.length} columns`;
    } catch (err) {
      jsonpaths = `${sources.logJsonPath}: INVALID`;
      problems.push(`LOG_JSONPATH: ${(err as Error).message}`);
    }
  }
  return { summaries, jsonpaths, problems };
}

export function assertSourcesOk(report: SourcesReport): void {
  if (report.problems.length > 0) {
    throw new InputError(`the sources are not ready to load:\n${report.problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}
