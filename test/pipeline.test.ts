// The load's steps are registered once (loaders/index.ts); the lanes, the
// --only choices, the checks and the table lists come from their declarations.
// Adding a star table is one migration, one loader file and one line there.
import test from 'ava';
import { dialectByName } from '../lib/dialect/index.ts';
import { pipeline } from '../loaders/index.ts';
import { table as stagingEventsTable } from '../migrations/20261122000100000_create-staging-events.ts';
import { table as stagingSongsTable } from '../migrations/20261122000200000_create-staging-songs.ts';
import { definePipeline, selectSteps, type TransformStep } from '../lib/load/steps.ts';
import { upsertStep } from '../lib/load/upsert.ts';
import { checksFor, rowCountsSql } from '../lib/report/checks.ts';
import { migratedTableDefs, schemaModel } from '../lib/report/page/schema-model.ts';
import { varchar } from '../lib/dialect/table-def.ts';
import { ALL_TABLES } from './helpers/warehouse.ts';
import { artists } from '../loaders/artists.ts';
import { songplays } from '../loaders/songplays.ts';
import { songs } from '../loaders/songs.ts';
import { time } from '../loaders/time.ts';
import { users } from '../loaders/users.ts';

/** The analytics team's five star tables, whatever else is registered: the lanes' rule tested on a fixed set. */
const CORE = definePipeline({ staging: pipeline.staging, transforms: [users, songs, artists, songplays, time] });

test('lanes of the five core steps: songplays reads songs (one lane, in order); users, artists and time depend on nothing', (t) => {
  t.deepEqual(CORE.lanes.map(names), [
    ['songs', 'songplays'],
    ['users', 'artists', 'time'],
  ]);
});

const names = (steps: readonly { table: string }[]) => steps.map((s) => s.table);

test('the registered steps: script order, and two lanes derived from the dependencies', (t) => {
  t.deepEqual(names(pipeline.staging), ['staging_events', 'staging_songs']);
  // The analytics team's star tables, in script order (a step registered later may come between or after).
  const core = ['users', 'songs', 'artists', 'songplays', 'time'];
  t.deepEqual(
    names(pipeline.transforms).filter((table) => core.includes(table)),
    core,
  );
  pipeline.transforms.forEach((step, i) => {
    for (const dep of step.dependsOn) t.true(names(pipeline.transforms).indexOf(dep) < i, `${step.table} after ${dep}`);
  });
  // The lanes hold every transform once, each in script order; songplays reads songs, so they share one.
  t.deepEqual(pipeline.lanes.flatMap(names).sort(), names(pipeline.transforms).sort());
  for (const lane of pipeline.lanes)
    t.deepEqual(
      names(lane),
      names(pipeline.transforms).filter((table) => names(lane).includes(table)),
    );
  t.true(pipeline.lanes.some((lane) => names(lane).includes('songs') && names(lane).includes('songplays')));
  t.is(pipeline.lanes.length, 2);
  t.deepEqual(pipeline.onlyChoices, ['stage', 'transform', ...names(pipeline.staging), ...names(pipeline.transforms)]);
  t.deepEqual(ALL_TABLES, pipeline.tables);
});

test('a new star table is one loader registered in one line: lanes, --only, checks and counts follow', (t) => {
  const plays_per_day: TransformStep = upsertStep({
    table: 'plays_per_day',
    file: 'loaders/plays-per-day.ts',
    role: 'fact',
    description: 'plays per day',
    key: ['day'],
    dependsOn: ['songplays'],
    references: [{ column: 'day', table: 'time', targetColumn: 'start_time', nullable: false }],
    columns: ['day', 'plays'],
    columnSources: { columns: { day: ['songplays.start_time'], plays: ['songplays.songplay_id'] }, rows: [] },
    select: 'SELECT CAST(start_time AS DATE) AS day, COUNT(*) AS plays FROM songplays GROUP BY 1',
  });
  const grown = definePipeline({ staging: CORE.staging, transforms: [...CORE.transforms, plays_per_day] });
  t.deepEqual(grown.lanes.map(names), [
    ['songs', 'songplays', 'plays_per_day'],
    ['users', 'artists', 'time'],
  ]);
  t.true(grown.onlyChoices.includes('plays_per_day'));
  t.deepEqual(names(selectSteps(grown, ['plays_per_day']).transforms), ['plays_per_day']);
  const checks = checksFor(grown).map((c) => c.name);
  for (const name of ['plays_per_day: day unique', 'plays_per_day: day not NULL', 'plays_per_day.day in time'])
    t.true(checks.includes(name), name);
  t.regex(
    rowCountsSql(grown),
    /UNION ALL SELECT 7, 'plays_per_day', COUNT\(\*\) FROM plays_per_day\n\) AS counts\nORDER BY position$/,
  );
  t.deepEqual(plays_per_day.statements(dialectByName('postgres')).slice(0, 2), [
    'DROP TABLE IF EXISTS plays_per_day_batch',
    'CREATE TEMP TABLE plays_per_day_batch AS\nSELECT CAST(start_time AS DATE) AS day, COUNT(*) AS plays FROM songplays GROUP BY 1',
  ]);
  t.is(plays_per_day.statements(dialectByName('postgres')).at(-1), 'DROP TABLE plays_per_day_batch');
});

test('a step listed before what it depends on, or depending on nothing registered, is refused', (t) => {
  t.throws(() => definePipeline({ staging: pipeline.staging, transforms: [users, songplays, songs, artists, time] }), {
    message: /songplays depends on songs, which comes after it/,
  });
  t.throws(() => definePipeline({ staging: pipeline.staging, transforms: [users, artists, songplays, time] }), {
    message: /songplays depends on songs, which no transform step fills/,
  });
  t.throws(() => definePipeline({ staging: pipeline.staging, transforms: [users, users] }), {
    message: /two steps fill users/,
  });
});

test('the checks come from the declared grains and references', (t) => {
  const checks = checksFor(pipeline).map((c) => c.name);
  t.deepEqual(checks.slice(0, 6), [
    'users: user_id unique',
    'songs: song_id unique',
    'artists: artist_id unique',
    'songplays: songplay_id unique',
    'songplays: user_id, session_id, start_time unique',
    'time: start_time unique',
  ]);
  t.true(checks.includes('songplays: songplay_id, user_id, session_id, start_time not NULL'));
  t.deepEqual(
    checks.filter((c) => c.startsWith('songplays.') && c.includes(' in ')),
    [
      'songplays.user_id in users',
      'songplays.start_time in time',
      'songplays.song_id in songs',
      'songplays.artist_id in artists',
    ],
  );
  // Every reference any step declares is checked, in registration order.
  t.deepEqual(
    checks.filter((c) => c.includes(' in ')),
    pipeline.transforms.flatMap((s) => (s.references ?? []).map((r) => `${s.table}.${r.column} in ${r.table}`)),
  );
});

test("each staging step trims exactly the VARCHAR columns its migration defines (Redshift trims the declared list, PostgreSQL the catalog's)", (t) => {
  const tables = [stagingEventsTable, stagingSongsTable];
  t.is(tables.length, pipeline.staging.length);
  for (const def of tables) {
    const step = pipeline.staging.find((s) => s.table === def.name);
    const varchar = def.columns.filter((c) => c.type.kind === 'varchar').map((c) => c.name);
    t.deepEqual(
      [...(step?.varcharColumns ?? [])].sort(),
      [...varchar].sort(),
      `${def.name}: varcharColumns must list every VARCHAR column, so both engines trim the same values`,
    );
    t.deepEqual(
      step?.columns,
      def.columns.map((c) => c.name),
      `${def.name}: the step's columns are the table's`,
    );
  }
});

test("the schema diagram draws every registered table with its step's role, a dimension nobody references included", async (t) => {
  const regions: TransformStep = upsertStep({
    table: 'regions',
    file: 'loaders/regions.ts',
    role: 'dimension',
    description: 'regions',
    key: ['region'],
    dependsOn: [],
    columns: ['region'],
    columnSources: { columns: { region: ['staging_events.location'] }, rows: [] },
    select: 'SELECT DISTINCT location AS region FROM staging_events',
  });
  const grown = definePipeline({ staging: pipeline.staging, transforms: [...pipeline.transforms, regions] });
  const defs = [
    ...(await migratedTableDefs()),
    {
      name: 'regions',
      columns: [{ name: 'region', type: varchar(256), notNull: true }],
      distribution: { style: 'all' as const },
    },
  ];
  const model = schemaModel(defs, grown);
  t.is(model.tables.find((x) => x.name === 'regions')?.role, 'dimension');
  for (const step of grown.transforms)
    t.is(model.tables.find((x) => x.name === step.table)?.role, step.role, step.table);
  t.false(model.others.includes('regions'));
});
