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
import { ALL_TABLES } from './helpers/warehouse.ts';

const names = (steps: readonly { table: string }[]) => steps.map((s) => s.table);

test('the registered steps: script order, and two lanes derived from the dependencies', (t) => {
  t.deepEqual(names(pipeline.staging), ['staging_events', 'staging_songs']);
  t.deepEqual(names(pipeline.transforms), ['users', 'songs', 'artists', 'songplays', 'time']);
  // songplays reads songs (one lane, in order); users, artists and time depend on nothing.
  t.deepEqual(pipeline.lanes.map(names), [['songs', 'songplays'], ['users', 'artists', 'time']]);
  t.deepEqual(pipeline.onlyChoices, ['stage', 'transform', 'staging_events', 'staging_songs', 'users', 'songs', 'artists', 'songplays', 'time']);
  t.deepEqual(ALL_TABLES, pipeline.tables);
});

test('a new star table is one loader registered in one line: lanes, --only, checks and counts follow', (t) => {
  const plays_per_day: TransformStep = upsertStep({
    table: 'plays_per_day',
    description: 'plays per day',
    key: ['day'],
    dependsOn: ['songplays'],
    references: [{ column: 'day', table: 'time', targetColumn: 'start_time', nullable: false }],
    columns: ['day', 'plays'],
    select: 'SELECT CAST(start_time AS DATE) AS day, COUNT(*) AS plays FROM songplays GROUP BY 1',
  });
  const grown = definePipeline({ staging: pipeline.staging, transforms: [...pipeline.transforms, plays_per_day] });
  t.deepEqual(grown.lanes.map(names), [['songs', 'songplays', 'plays_per_day'], ['users', 'artists', 'time']]);
  t.true(grown.onlyChoices.includes('plays_per_day'));
  t.deepEqual(names(selectSteps(grown, ['plays_per_day']).transforms), ['plays_per_day']);
  const checks = checksFor(grown).map((c) => c.name);
  for (const name of ['plays_per_day: day unique', 'plays_per_day: day not NULL', 'plays_per_day.day in time']) t.true(checks.includes(name), name);
  t.regex(rowCountsSql(grown), /UNION ALL SELECT 7, 'plays_per_day', COUNT\(\*\) FROM plays_per_day\n\) AS counts\nORDER BY position$/);
  t.deepEqual(plays_per_day.statements(dialectByName('postgres')).slice(0, 2), ['DROP TABLE IF EXISTS plays_per_day_batch', 'CREATE TEMP TABLE plays_per_day_batch AS\nSELECT CAST(start_time AS DATE) AS day, COUNT(*) AS plays FROM songplays GROUP BY 1']);
  t.is(plays_per_day.statements(dialectByName('postgres')).at(-1), 'DROP TABLE plays_per_day_batch');
});

test('a step listed before what it depends on, or depending on nothing registered, is refused', (t) => {
  const [users, songs, artists, songplays, time] = pipeline.transforms as [TransformStep, TransformStep, TransformStep, TransformStep, TransformStep];
  t.throws(() => definePipeline({ staging: pipeline.staging, transforms: [users, songplays, songs, artists, time] }), { message: /songplays depends on songs, which comes after it/ });
  t.throws(() => definePipeline({ staging: pipeline.staging, transforms: [users, artists, songplays, time] }), { message: /songplays depends on songs, which no transform step fills/ });
  t.throws(() => definePipeline({ staging: pipeline.staging, transforms: [users, users] }), { message: /two steps fill users/ });
});

test('the checks come from the declared grains and references', (t) => {
  const checks = checksFor(pipeline).map((c) => c.name);
  t.deepEqual(checks.slice(0, 6), ['users: user_id unique', 'songs: song_id unique', 'artists: artist_id unique', 'songplays: songplay_id unique', 'songplays: user_id, session_id, start_time unique', 'time: start_time unique']);
  t.true(checks.includes('songplays: songplay_id, user_id, session_id, start_time not NULL'));
  t.deepEqual(checks.filter((c) => c.includes(' in ')), ['songplays.user_id in users', 'songplays.start_time in time', 'songplays.song_id in songs', 'songplays.artist_id in artists']);
});

test('each staging step trims exactly the VARCHAR columns its migration defines (Redshift trims the declared list, PostgreSQL the catalog\'s)', (t) => {
  const tables = [stagingEventsTable, stagingSongsTable];
  t.is(tables.length, pipeline.staging.length);
  for (const def of tables) {
    const step = pipeline.staging.find((s) => s.table === def.name);
    const varchar = def.columns.filter((c) => c.type.kind === 'varchar').map((c) => c.name);
    t.deepEqual([...(step?.varcharColumns ?? [])].sort(), [...varchar].sort(), `${def.name}: varcharColumns must list every VARCHAR column, so both engines trim the same values`);
    t.deepEqual(step?.columns, def.columns.map((c) => c.name), `${def.name}: the step's columns are the table's`);
  }
});
