// Column lineage is derived from the step declarations (issue 31): each
// transform step's columnSources must list every staging column its SQL names,
// name nothing its SQL does not, and cover every column of its table; from
// them and the JSON mappings every star column reaches at least one JSON key.
// The events built from them validate against the OpenLineage JSON Schema.
import test from 'ava';
import { loadConfig } from '../lib/config/config.ts';
import { dialectByName } from '../lib/dialect/index.ts';
import { jsonKeysReaching, sourceDataset } from '../lib/lineage/column-lineage.ts';
import { sourceDatasetName, warehouseNamespace } from '../lib/lineage/datasets.ts';
import { objectsDigest, runEvent, tableLineages, type LineagePlan } from '../lib/lineage/events.ts';
import { lineageRunId } from '../lib/lineage/load-lineage.ts';
import type { StagingStep, TransformStep } from '../lib/load/steps.ts';
import { upsertStep } from '../lib/load/upsert.ts';
import { migratedTableDefs } from '../lib/report/page/schema-model.ts';
import { autoMapping, parseJsonPathsFile } from '../lib/sources/json-mapping.ts';
import { pipeline } from '../loaders/index.ts';
import { songs } from '../loaders/songs.ts';
import { stageEvents } from '../loaders/stage-events.ts';
import { stageSongs } from '../loaders/stage-songs.ts';
import { EVENT_KEYS, JSONPATHS } from './helpers/fixtures.ts';
import { reachedInputs, runEventProblems } from './helpers/openlineage.ts';

/** The SQL a step runs, on both engines, without its string literals ('NextSong', 'epoch'). */
function stepSql(step: TransformStep): string {
  return (['postgres', 'redshift'] as const)
    .flatMap((d) => step.statements(dialectByName(d)))
    .join('\n')
    .replace(/'(?:[^']|'')*'/g, "''");
}

const words = (sql: string) => new Set(sql.match(/[A-Za-z_][A-Za-z0-9_]*/g) ?? []);

/** The staging columns (`table.column`) the step's SQL names, of the staging tables it reads. */
function stagingColumnsNamed(step: TransformStep, staging: readonly StagingStep[]): string[] {
  const named = words(stepSql(step));
  return staging
    .filter((s) => named.has(s.table))
    .flatMap((s) => s.columns.filter((c) => named.has(c)).map((c) => `${s.table}.${c}`));
}

const declared = (step: TransformStep) =>
  new Set([...Object.values(step.columnSources.columns).flat(), ...step.columnSources.rows]);

/** What is wrong with a step's declaration against its SQL (nothing: it is right). */
function declarationProblems(step: TransformStep, staging: readonly StagingStep[]): string[] {
  const listed = declared(step);
  const named = words(stepSql(step));
  return [
    ...stagingColumnsNamed(step, staging)
      .filter((c) => !listed.has(c))
      .map((c) => `${step.table}: its SQL uses ${c}, which columnSources does not list`),
    ...[...listed]
      .filter((ref) => {
        const [table = '', column = ''] = ref.split('.');
        return !named.has(table) || !named.has(column);
      })
      .map((ref) => `${step.table}: columnSources lists ${ref}, which its SQL does not name`),
    ...[...listed]
      .filter((ref) => {
        const table = ref.split('.')[0] ?? '';
        return !staging.some((s) => s.table === table) && !step.dependsOn.includes(table);
      })
      .map((ref) => `${step.table}: ${ref} is neither staging nor a table the step depends on`),
  ];
}

test("every transform step's columnSources lists exactly the staging columns its SQL uses", (t) => {
  for (const step of pipeline.transforms) t.deepEqual(declarationProblems(step, pipeline.staging), [], step.table);
});

test('a staging column used in the SQL but not declared is caught; so is a declared one the SQL never names', (t) => {
  // songs, reading num_songs as well: the declaration no longer says where year comes from.
  const widened = upsertStep({
    ...songs,
    columns: ['song_id', 'title', 'artist_id', 'artist_name', 'year', 'duration'],
    select: `SELECT song_id, title, artist_id, artist_name, num_songs AS year, duration FROM staging_songs`,
  });
  t.deepEqual(declarationProblems(widened, pipeline.staging), [
    'songs: its SQL uses staging_songs.num_songs, which columnSources does not list',
  ]);
  const overclaimed: TransformStep = {
    ...songs,
    columnSources: { ...songs.columnSources, rows: [...songs.columnSources.rows, 'staging_songs.artist_location'] },
  };
  t.deepEqual(declarationProblems(overclaimed, pipeline.staging), [
    'songs: columnSources lists staging_songs.artist_location, which its SQL does not name',
  ]);
});

test("every column of every star table is declared (the migrations' definitions), its generated key aside", async (t) => {
  const defs = await migratedTableDefs();
  for (const step of pipeline.transforms) {
    const def = defs.find((d) => d.name === step.table);
    if (!def) return t.fail(`no table definition for ${step.table}`);
    const generated = def.columns.filter((c) => c.identity).map((c) => c.name);
    t.deepEqual(
      Object.keys(step.columnSources.columns).sort(),
      def.columns
        .map((c) => c.name)
        .filter((c) => !generated.includes(c))
        .sort(),
      step.table,
    );
    t.deepEqual(generated, step.surrogateKey ? [step.surrogateKey] : [], step.table);
  }
});

const eventsMapping = parseJsonPathsFile(JSONPATHS, '/data/log_json_path.json', stageEvents.columns);
const songsMapping = autoMapping('auto');

function plan(): LineagePlan {
  return {
    producer: 'https://github.com/sparkify/sparkify-warehouse/tree/v0.1.0',
    job: { namespace: 'sparkify-warehouse', name: 'sparkify-warehouse.load' },
    runId: lineageRunId('20261207125959-0a1b2c3d'),
    staging: [
      { step: stageEvents, uri: 's3://udacity-dend/log_data', mapping: eventsMapping },
      { step: stageSongs, uri: '/data/song_data/', mapping: songsMapping },
    ],
    transforms: pipeline.transforms,
    warehouse: warehouseNamespace(loadConfig({ DATABASE_URL: 'postgres://me@db.example:5433/dwh' }), 'postgres'),
    schema: 'public',
    tableDefs: [],
  };
}

test('every star column reaches at least one JSON key, through its staging column', async (t) => {
  const lineages = tableLineages(plan());
  const defs = await migratedTableDefs();
  for (const step of pipeline.transforms) {
    for (const column of defs.find((d) => d.name === step.table)?.columns ?? []) {
      const keys = jsonKeysReaching(lineages, step.table, column.name);
      t.true(keys.length > 0, `${step.table}.${column.name} reaches no JSON key`);
    }
  }
  const events = sourceDataset('staging_events');
  const songKeys = sourceDataset('staging_songs');
  t.deepEqual(jsonKeysReaching(lineages, 'songplays', 'start_time'), [{ dataset: events, field: 'ts' }]);
  t.deepEqual(jsonKeysReaching(lineages, 'users', 'user_id'), [{ dataset: events, field: 'userId' }]);
  t.deepEqual(jsonKeysReaching(lineages, 'artists', 'name'), [{ dataset: songKeys, field: 'artist_name' }]);
  t.deepEqual(jsonKeysReaching(lineages, 'time', 'weekday'), [{ dataset: events, field: 'ts' }]);
  // The generated key: from what the grain comes from.
  t.deepEqual(
    jsonKeysReaching(lineages, 'songplays', 'songplay_id').map((k) => k.field),
    ['userId', 'sessionId', 'ts'],
  );
  // Every JSONPaths key maps one staging column.
  t.deepEqual(
    stageEvents.columns.map((c) => jsonKeysReaching(lineages, 'staging_events', c)[0]?.field),
    [...EVENT_KEYS],
  );
});

test('the events validate against the OpenLineage schema; dataset names follow the naming spec', async (t) => {
  const p = { ...plan(), tableDefs: await migratedTableDefs() };
  const objects = [
    { uri: 's3://udacity-dend/log_data/2018/11/a.json', size: 10, version: 'etag-a' },
    { uri: 's3://udacity-dend/log_data/2018/11/b.json', size: 32, version: 'etag-b' },
  ];
  const start = runEvent(p, 'START');
  const complete = runEvent(p, 'COMPLETE', { read: [{ table: 'staging_events', objects, rows: 7 }] });
  const failed = runEvent(p, 'FAIL', { error: 'transform songs failed' });
  for (const e of [start, complete, failed]) t.deepEqual(runEventProblems(e), [], e.eventType);
  t.deepEqual(sourceDatasetName('s3://udacity-dend/log_data/'), { namespace: 's3://udacity-dend', name: 'log_data' });
  t.deepEqual(sourceDatasetName('/data/song_data/'), { namespace: 'file', name: '/data/song_data' });
  t.deepEqual(
    start.outputs.map((o) => `${o.namespace} ${o.name}`),
    ['staging_events', 'staging_songs', ...pipeline.transforms.map((s) => s.table)].map(
      (table) => `postgres://db.example:5433 dwh.public.${table}`,
    ),
  );
  const input = complete.inputs[0];
  t.deepEqual(input?.inputFacets?.['inputStatistics'], {
    _producer: p.producer,
    _schemaURL:
      'https://openlineage.io/spec/facets/1-0-0/InputStatisticsInputDatasetFacet.json#/$defs/InputStatisticsInputDatasetFacet',
    fileCount: 2,
    size: 42,
    rowCount: 7,
  });
  t.is(input?.facets['version']?.['datasetVersion'], objectsDigest([...objects].reverse()));
  t.regex(String(input?.facets['version']?.['datasetVersion']), /^sha256:[0-9a-f]{64}$/);
  // Through the event itself: songplays.start_time ← staging_events.ts ← the key ts of s3://udacity-dend/log_data.
  t.deepEqual(reachedInputs(complete, 'postgres://db.example:5433', 'dwh.public.songplays', 'start_time'), [
    { namespace: 's3://udacity-dend', name: 'log_data', field: 'ts' },
  ]);
  // A broken event is refused: the schema check can fail.
  t.notDeepEqual(runEventProblems({ ...start, run: { runId: 'not-a-uuid' } }), []);
  t.notDeepEqual(
    runEventProblems({
      ...failed,
      run: { ...failed.run, facets: { errorMessage: { ...failed.run.facets?.['errorMessage'], message: 3 } } },
    }),
    [],
  );
});

test('tables a run reads but does not write are its inputs (--only songplays: staging and songs)', async (t) => {
  const songplays = pipeline.transforms.find((s) => s.table === 'songplays');
  if (!songplays) return t.fail();
  const e = runEvent(
    { ...plan(), staging: [], transforms: [songplays], tableDefs: await migratedTableDefs() },
    'START',
  );
  t.deepEqual(runEventProblems(e), []);
  t.deepEqual(
    e.inputs.map((i) => [i.namespace, i.name, Boolean(i.facets['schema'])]),
    ['staging_events', 'staging_songs', 'songs'].map((table) => [
      'postgres://db.example:5433',
      `dwh.public.${table}`,
      true,
    ]),
  );
  t.deepEqual(
    e.outputs.map((o) => o.name),
    ['dwh.public.songplays'],
  );
});

test('the OpenLineage run id is a UUID of the load run id: the same run, the same id', (t) => {
  const id = lineageRunId('20261207125959-0a1b2c3d');
  t.regex(id, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  t.is(lineageRunId('20261207125959-0a1b2c3d'), id);
  t.not(lineageRunId('20261207125959-0a1b2c3e'), id);
});

test('OPENLINEAGE_* settings: checked, every problem named; the API key and a URL password are secrets', (t) => {
  const config = loadConfig({
    OPENLINEAGE_URL: 'https://ol:pa55word-x@lineage.example/',
    OPENLINEAGE_API_KEY: 'key-9f8e7d6c',
    OPENLINEAGE_NAMESPACE: 'analytics',
  });
  t.deepEqual(config.lineage, {
    url: 'https://ol:pa55word-x@lineage.example',
    endpoint: 'api/v1/lineage',
    apiKey: 'key-9f8e7d6c',
    timeoutMs: 5000,
  });
  t.is(config.lineageNamespace, 'analytics');
  t.true(config.secrets.includes('key-9f8e7d6c'));
  t.true(config.secrets.includes('pa55word-x'));
  t.is(loadConfig({ OPENLINEAGE_URL: 'http://127.0.0.1:5000', OPENLINEAGE_DISABLED: 'true' }).lineage, undefined);
  t.is(loadConfig({}).lineage, undefined);
  const err = t.throws(() =>
    loadConfig({ OPENLINEAGE_URL: 'ftp://lineage.example', OPENLINEAGE_TIMEOUT_SECONDS: '0' }),
  ) as Error & { problems?: string[] };
  t.regex(err.message, /OPENLINEAGE_URL: expected an http:\/\/ or https:\/\/ URL, got ftp:\/\//);
  t.regex(err.message, /OPENLINEAGE_TIMEOUT_SECONDS: expected seconds from 0 to 300, got '0'/);
  t.throws(() => loadConfig({ OPENLINEAGE_URL: 'not a url' }), { message: /OPENLINEAGE_URL: not a valid URL/ });
});
