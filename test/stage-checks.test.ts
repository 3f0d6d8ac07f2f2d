// Sources and mappings that would load nothing, or NULLs, without a word:
// an empty or missing source is an error naming its setting (every problem at
// once, in order) unless --allow-empty; a mapped column NULL in every staged
// row is a warning naming the column and its mapping, or under --strict an
// error that leaves the warehouse as it was. Both engines (Redshift through
// the recording stand-in).
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { loadConfig } from '../lib/config/config.ts';
import { EXIT, InputError } from '../lib/errors.ts';
import { runLoad } from '../lib/load/runner.ts';
import { createLogger } from '../lib/log.ts';
import { pipeline } from '../loaders/index.ts';
import { runCli } from './helpers/cli.ts';
import type { TestDatabase } from './helpers/database.ts';
import { fakeRedshift } from './helpers/fake-redshift.ts';
import { EVENT_KEYS, event, song, writeFixture } from './helpers/fixtures.ts';
import { load, loadedBaseline, migratedDatabase } from './helpers/load.ts';
import { fileScope, tempDir } from './helpers/temp-dir.ts';
import { checksums } from './helpers/warehouse.ts';

let tdb: TestDatabase;
let baseline: Record<string, string>;
const scope = fileScope();
test.before(async () => {
  ({ tdb, baseline } = await loadedBaseline(scope));
});
test.after.always(async () => {
  await tdb?.drop();
});

test.serial('an empty LOG_DATA folder is an error naming the setting, and the warehouse is unchanged', async (t) => {
  const f = await writeFixture(t, { songs: { 'A/1.json': song() } });
  const r = await runCli(['load'], { DATABASE_URL: tdb.url, ...f.env });
  t.is(r.code, EXIT.input, r.stderr);
  t.regex(
    r.stderr,
    /LOG_DATA: no objects under .*log_data; a load would empty staging_events \(check the setting, or pass --allow-empty/,
  );
  t.deepEqual(await checksums(tdb), baseline);
});

test.serial('--allow-empty loads an empty source: staging_events empty, the star tables keep their rows', async (t) => {
  const tdb = await migratedDatabase();
  t.teardown(() => tdb.drop());
  const f = await writeFixture(t, { songs: { 'A/1.json': song() } });
  const r = await runCli(['load', '--allow-empty'], { DATABASE_URL: tdb.url, ...f.env });
  t.is(r.code, 0, r.stderr);
  const sums = await checksums(tdb);
  t.is(sums['staging_events'], 'empty');
  t.not(sums['songs'], 'empty');
});

test.serial(
  'missing sources are all named at once, in order, with their settings, before any S3 credentials are needed',
  async (t) => {
    const dir = await tempDir(t, 'sparkify-missing-');
    const r = await runCli(['load'], {
      DATABASE_URL: tdb.url,
      LOG_DATA: path.join(dir, 'nope-logs'),
      SONG_DATA: path.join(dir, 'nope-songs'),
      // LOG_JSONPATH left at its s3:// default: nothing may try to read it before the sources are found.
      AWS_ACCESS_KEY_ID: '',
      AWS_SECRET_ACCESS_KEY: '',
    });
    t.is(r.code, EXIT.input, r.stderr);
    const logs = r.stderr.indexOf(`LOG_DATA: ${path.join(dir, 'nope-logs')}: no such file or folder`);
    const songs = r.stderr.indexOf(`SONG_DATA: ${path.join(dir, 'nope-songs')}: no such file or folder`);
    t.true(logs >= 0 && songs > logs, r.stderr);
    t.notRegex(r.stderr, /Credential|udacity-dend/);
    t.deepEqual(await checksums(tdb), baseline);
  },
);

test.serial('a missing JSONPaths file is named with LOG_JSONPATH, beside a missing SONG_DATA', async (t) => {
  const f = await writeFixture(t, { logs: { 'a.json': [event()] } });
  const r = await runCli(['load'], {
    DATABASE_URL: tdb.url,
    ...f.env,
    LOG_JSONPATH: path.join(f.root, 'nope.json'),
    SONG_DATA: path.join(f.root, 'nope'),
  });
  t.is(r.code, EXIT.input, r.stderr);
  t.regex(r.stderr, /LOG_JSONPATH: JSONPaths file .*nope\.json: no such file or folder/);
  t.regex(r.stderr, /SONG_DATA: .*nope: no such file or folder/);
});

const NESTED_TS = JSON.stringify({
  jsonpaths: EVENT_KEYS.map((k) => (k === 'ts' ? "$['ts']['b']" : `$['${k}']`)),
});

test.serial(
  'a JSONPaths path that matches no field warns, naming the column and the path; --strict fails and changes nothing',
  async (t) => {
    const f = await writeFixture(t, {
      logs: { 'a.json': [event(), event()] },
      songs: { 'A/1.json': song() },
      jsonpaths: NESTED_TS,
    });
    const strict = await runCli(['load', '--strict'], { DATABASE_URL: tdb.url, ...f.env });
    t.is(strict.code, EXIT.input, strict.stderr);
    t.regex(
      strict.stderr,
      /staging_events\.ts is NULL in all 2 staged rows: jsonpaths\[15\] \(\$\['ts'\]\['b'\]\) of .*log_json_path\.json \(LOG_JSONPATH\) matched no field/,
    );
    t.regex(strict.stderr, /--strict: the staging was rolled back/);
    t.deepEqual(await checksums(tdb), baseline);

    const tdb2 = await migratedDatabase();
    t.teardown(() => tdb2.drop());
    const lenient = await runCli(['load', '--only', 'stage'], { DATABASE_URL: tdb2.url, ...f.env });
    t.is(lenient.code, 0, lenient.stderr);
    t.regex(
      lenient.stderr,
      /warning: staging_events\.ts is NULL in all 2 staged rows: .*\(--strict makes this an error\)/,
    );
    t.notRegex(lenient.stderr, /staging_events\.(artist|user_id) is NULL/, 'only the column that matched nothing');
  },
);

test.serial("LOG_JSONPATH=auto on camelCase logs names every column 'auto' leaves NULL", async (t) => {
  const tdb2 = await migratedDatabase();
  t.teardown(() => tdb2.drop());
  const f = await writeFixture(t, { logs: { 'a.json': [event()] }, songs: { 'A/1.json': song() } });
  const r = await runCli(['load', '--only', 'stage'], { DATABASE_URL: tdb2.url, ...f.env, LOG_JSONPATH: 'auto' });
  t.is(r.code, 0, r.stderr);
  for (const column of ['first_name', 'item_in_session', 'last_name', 'session_id', 'user_agent', 'user_id']) {
    t.regex(
      r.stderr,
      new RegExp(
        `staging_events\\.${column} is NULL in all 1 staged rows: 'auto' reads the top-level key "${column}" \\(LOG_JSONPATH\\) matched no field`,
      ),
    );
  }
  t.notRegex(r.stderr, /staging_events\.(artist|ts|song) is NULL/);
});

test('on Redshift the same check follows each COPY, inside the staging transaction: a warning, or under --strict a rollback', async (t) => {
  const lines: string[] = [];
  const log = createLogger({ write: (l) => lines.push(l) });
  const config = loadConfig({ IAM_ROLE_ARN: 'arn:aws:iam::123456789012:role/r' });
  const warned = fakeRedshift({ nullColumns: ['user_id'] });
  await runLoad(warned.db, { config, log, pipeline, only: ['stage'], reader: warned.reader });
  t.true(
    lines.some((l) =>
      /warning: staging_events\.user_id is NULL in all 7 staged rows: jsonpaths\[17\] \(\$\['userId'\]\) of s3:\/\/udacity-dend\/log_json_path\.json \(LOG_JSONPATH\) matched no field/.test(
        l,
      ),
    ),
    lines.join('\n'),
  );
  const copy = warned.statements.findIndex((s) => s.startsWith('COPY staging_events'));
  const check = warned.statements.findIndex(
    (s, i) => i > copy && / AS c0\b/.test(s) && s.includes('FROM staging_events'),
  );
  t.true(copy >= 0 && check > copy && check < warned.statements.indexOf('COMMIT'));

  const strict = fakeRedshift({ nullColumns: ['user_id'] });
  const err = await t.throwsAsync(
    runLoad(strict.db, { config, log, pipeline, only: ['stage'], strict: true, reader: strict.reader }),
  );
  t.true(err instanceof InputError);
  const staging = strict.statements.indexOf('BEGIN', strict.statements.indexOf('BEGIN') + 1); // after the lock's own
  const rollback = strict.statements.indexOf('ROLLBACK');
  t.true(staging > 0 && rollback > staging, strict.statements.join('\n'));
  t.false(strict.statements.slice(staging, rollback).includes('COMMIT'), 'the staging transaction never commits');
});

test('empty sources are named through the library too, every one at once', async (t) => {
  const dir = await tempDir(t, 'sparkify-empty-');
  await mkdir(path.join(dir, 'logs'));
  const err = await t.throwsAsync(
    load(
      tdb,
      { LOG_DATA: path.join(dir, 'logs'), SONG_DATA: path.join(dir, 'logs'), LOG_JSONPATH: 'auto' },
      { allowEmpty: false },
    ),
  );
  t.true(err instanceof InputError);
  t.regex(err?.message ?? '', /^LOG_DATA: no objects under .*\nSONG_DATA: no objects under /);
});
