// Issue 12: where the Redshift docs say the engines differ, both now give the
// same results, and the Redshift plan avoids redistribution. Tested as far as
// this machine allows: the recording Redshift stand-in (the statements the
// load sends and what it makes of the system tables' answers), the rendered
// SQL, and the PostgreSQL path (on which the Redshift SQL that PostgreSQL also
// runs is executed too). test/redshift-live.test.ts repeats points 1 to 6 on a
// real cluster.
import test from 'ava';
import { loadConfig } from '../lib/config/config.ts';
import { dialectByName } from '../lib/dialect/index.ts';
import { InputError, ConfigError } from '../lib/errors.ts';
import { loadScript } from '../lib/load/plan.ts';
import { runLoad } from '../lib/load/runner.ts';
import { upsertStatements } from '../lib/load/upsert.ts';
import { silentLogger, type Logger } from '../lib/log.ts';
import { migratedTableDefs } from '../lib/report/page/schema-model.ts';
import { pipeline } from '../loaders/index.ts';
import { fakeRedshift, DEFAULT_OBJECTS } from './helpers/fake-redshift.ts';
import { event, song, writeFixture, JSONPATHS } from './helpers/fixtures.ts';
import { load, migratedDatabase } from './helpers/load.ts';
import { lintRedshift, splitStatements } from './helpers/redshift-lint.ts';
import { sourcesAndManifestsS3 } from './helpers/s3.ts';

const ROLE = 'arn:aws:iam::123456789012:role/sparkify-s3-read';
const redshift = dialectByName('redshift');
const postgres = dialectByName('postgres');
const config = () => loadConfig({ IAM_ROLE_ARN: ROLE });

/** A logger that keeps its warnings. */
function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { ...silentLogger, warn: (m: string) => warnings.push(m), warnings };
}

// 2. Skipped records are listed on Redshift too.
test('2: the records a successful COPY skipped under --max-errors are read back by session, table and start time, and listed as on PostgreSQL', async (t) => {
  const rejected = {
    file: 's3://udacity-dend/log_data/2018/11/2018-11-05-events.json',
    line: 17,
    field: 'ts',
    value: 'yesterday',
    reason: "Invalid digit, Value 'y', Pos 0, Type: Long",
  };
  const fake = fakeRedshift({
    earlierErrors: [{ ...rejected, line: 1, reason: 'an earlier COPY of the session' }],
    skipped: { staging_events: [rejected] },
  });
  const report = await runLoad(fake.db, {
    config: config(),
    log: silentLogger,
    pipeline,
    maxErrors: 1,
    reader: fake.reader,
  });
  t.deepEqual(report.skipped, [rejected]);
  t.regex(report.steps[0]?.detail ?? '', /1 bad records skipped/);
  // Read by the COPY's window (never by PG_LAST_COPY_ID), inside the staging transaction.
  t.false(fake.statements.some((s) => /PG_LAST_COPY_ID/.test(s)));
  const reads = fake.statements.flatMap((s, i) =>
    /FROM stl_load_errors\nWHERE session = \$1 AND tbl = \$2 AND starttime >= CAST\(\$3 AS TIMESTAMP\)/.test(s)
      ? [i]
      : [],
  );
  t.deepEqual(
    reads.map((i) => fake.values[i]?.slice(0, 2)),
    [
      [4242, 108001],
      [4242, 108002],
    ],
  );
  t.true((reads[1] ?? Infinity) < fake.statements.indexOf('COMMIT'), 'read inside the staging transaction');
  // Without --max-errors a successful COPY skipped nothing: nothing is read.
  const strict = fakeRedshift();
  await runLoad(strict.db, { config: config(), log: silentLogger, pipeline, reader: strict.reader });
  t.false(strict.statements.some((s) => /FROM (stl_load_errors|sys_load_error_detail)\nWHERE session/.test(s)));
});

test('1, 2: the records COPY skipped and the staged ts out of range share one --max-errors budget per staging table, as on PostgreSQL', async (t) => {
  const rejected = {
    file: 's3://udacity-dend/log_data/a.json',
    line: 2,
    field: 'ts',
    value: 'x',
    reason: 'Invalid digit',
  };
  const outOfRange = { out_of_range: '1', lowest: '-1000000000000000', highest: '-1000000000000000' };
  const over = fakeRedshift({ skipped: { staging_events: [rejected] }, outOfRange });
  const e = await t.throwsAsync(
    runLoad(over.db, { config: config(), log: silentLogger, pipeline, maxErrors: 1, reader: over.reader }),
    { instanceOf: InputError },
  );
  t.regex(
    e?.message ?? '',
    /staging_events\.ts: 1 staged row\(s\) hold a ts .* \(besides 1 bad record\(s\) already skipped in staging_events\).* --max-errors 2$/,
  );
  t.false(over.statements.some((s) => s.startsWith('MERGE')));
  const within = fakeRedshift({ skipped: { staging_events: [rejected] }, outOfRange });
  const report = await runLoad(within.db, {
    config: config(),
    log: silentLogger,
    pipeline,
    maxErrors: 2,
    reader: within.reader,
  });
  t.deepEqual(report.skipped, [rejected]);
  t.is(report.steps[0]?.detail, '1 bad records skipped, 1 rows with a ts out of range skipped');
});

test('2: on Serverless (no STL tables) the skipped records are read from SYS_LOAD_ERROR_DETAIL, and STL is never queried inside the transaction', async (t) => {
  const rejected = {
    file: 's3://udacity-dend/song_data/b.json',
    line: 1,
    field: 'year',
    value: 'x',
    reason: 'Invalid digit',
  };
  const fake = fakeRedshift({ serverless: true, skipped: { staging_songs: [rejected] } });
  const report = await runLoad(fake.db, {
    config: config(),
    log: silentLogger,
    pipeline,
    maxErrors: 3,
    reader: fake.reader,
  });
  t.deepEqual(report.skipped, [{ ...rejected, value: undefined }]);
  const begin = fake.statements.indexOf(
    'BEGIN',
    fake.statements.findIndex((s) => s.startsWith('SELECT PG_BACKEND_PID')),
  );
  t.true(begin > 0);
  t.false(fake.statements.slice(begin).some((s) => /FROM stl_load_errors/.test(s)));
});

// 3. The error reader blames the right COPY and finds Serverless' rows.
test('3: a COPY that failed before loading is not blamed on an earlier COPY of the session', async (t) => {
  const fake = fakeRedshift({
    failCopyOf: 'staging_events',
    failBeforeLoad: true,
    earlierErrors: [
      { file: 's3://other/old.json', line: 3, field: 'x', value: 'v', reason: 'an earlier COPY of the session' },
    ],
  });
  const e = await t.throwsAsync(
    runLoad(fake.db, { config: config(), log: silentLogger, pipeline, reader: fake.reader }),
  );
  t.false(e instanceof InputError, e?.message);
  t.regex(e?.message ?? '', /S3ServiceException:Access Denied/);
  t.notRegex(e?.message ?? '', /old\.json/);
});

test('3: a failed COPY whose rows are in an earlier window only is not blamed on them: exit 3 says where to look', async (t) => {
  const fake = fakeRedshift({
    failCopyOf: 'staging_events',
    loadErrors: [],
    earlierErrors: [
      { file: 's3://other/old.json', line: 3, field: 'x', value: 'v', reason: 'an earlier COPY of the session' },
    ],
  });
  const e = await t.throwsAsync(
    runLoad(fake.db, { config: config(), log: silentLogger, pipeline, reader: fake.reader }),
    { instanceOf: InputError },
  );
  t.notRegex(e?.message ?? '', /old\.json/);
  t.regex(
    e?.message ?? '',
    /^COPY into staging_events failed \(Load into table 'staging_events' failed\. .*\); no rejected row of this COPY was found: look in SYS_LOAD_ERROR_DETAIL WHERE session_id = 4242 AND table_id = 108001 AND start_time >= '2026-12-07 10:00:\d\d'/,
  );
});

test('3: an empty STL_LOAD_ERRORS (Serverless, concurrency scaling) falls back to SYS_LOAD_ERROR_DETAIL, by the failed COPY window', async (t) => {
  const rejected = {
    file: 's3://udacity-dend/log_data/a.json',
    line: 4,
    field: 'ts',
    value: 'x',
    reason: 'Invalid digit',
  };
  const fake = fakeRedshift({ failCopyOf: 'staging_songs', stlEmpty: true, loadErrors: [rejected] });
  const e = await t.throwsAsync(
    runLoad(fake.db, { config: config(), log: silentLogger, pipeline, reader: fake.reader }),
    { instanceOf: InputError },
  );
  t.is(e?.message, 'COPY failed: s3://udacity-dend/log_data/a.json:4, field ts: Invalid digit');
  const sys = fake.statements.findIndex((s) => /FROM sys_load_error_detail/.test(s));
  t.true(sys > fake.statements.findIndex((s) => /FROM stl_load_errors\nWHERE session/.test(s)));
  t.deepEqual(
    fake.values[sys]?.slice(0, 2),
    [4242, 108002],
    'the window of the staging_songs COPY, not that of staging_events',
  );
});

// 6. A wrong JSONPaths file is refused before the COPY.
for (const [what, jsonpaths, message] of [
  [
    'whose top key is not "jsonpaths"',
    JSON.stringify({ jsonPaths: JSON.parse(JSONPATHS).jsonpaths }),
    /must be an object with a "jsonpaths" array/,
  ],
  [
    'in another order',
    JSON.stringify({ jsonpaths: [...(JSON.parse(JSONPATHS).jsonpaths as string[])].reverse() }),
    /not in the table's column order/,
  ],
  [
    'with a path too few',
    JSON.stringify({ jsonpaths: (JSON.parse(JSONPATHS).jsonpaths as string[]).slice(0, -1) }),
    /has 17 paths but the table has 18 columns/,
  ],
] as const) {
  test(`6: a JSONPaths file ${what} fails the Redshift load before any COPY, as on PostgreSQL`, async (t) => {
    const fake = fakeRedshift({ objects: { ...DEFAULT_OBJECTS, 's3://udacity-dend/log_json_path.json': jsonpaths } });
    const e = await t.throwsAsync(
      runLoad(fake.db, { config: config(), log: silentLogger, pipeline, reader: fake.reader }),
      { instanceOf: InputError },
    );
    t.regex(e?.message ?? '', message);
    t.regex(e?.message ?? '', /s3:\/\/udacity-dend\/log_json_path\.json/);
    t.false(
      fake.statements.some((s) => s.startsWith('COPY') || s.startsWith('DELETE')),
      'nothing staged',
    );
  });
}

test('6: the dry run says in a comment that it did not check the JSONPaths file', async (t) => {
  const script = await loadScript(redshift, { config: config(), log: silentLogger, pipeline });
  t.regex(
    script,
    /-- JSONPaths file s3:\/\/udacity-dend\/log_json_path\.json: not checked by this dry run; the load reads it and checks it/,
  );
  const auto = await loadScript(redshift, {
    config: loadConfig({ IAM_ROLE_ARN: ROLE, LOG_JSONPATH: 'auto ignorecase' }),
    log: silentLogger,
    pipeline,
  });
  t.notRegex(auto, /JSONPaths file/);
});

// 7. The manifest's bucket must be in AWS_REGION.
test.serial(
  '7: an incremental load refuses a LOAD_MANIFEST_PREFIX bucket outside the COPY region before listing or writing anything',
  async (t) => {
    const { env: sources } = await sourcesAndManifestsS3(t);
    const fake = fakeRedshift();
    const env = { ...sources, IAM_ROLE_ARN: ROLE };
    // s3rver's buckets are in us-east-1 (its GetBucketLocation answer); SOURCE_REGION says us-west-2.
    const e = await t.throwsAsync(
      runLoad(fake.db, {
        config: loadConfig({ ...env, SOURCE_REGION: 'us-west-2' }),
        log: silentLogger,
        pipeline,
        incremental: true,
      }),
      { instanceOf: ConfigError },
    );
    t.regex(
      e?.message ?? '',
      /LOAD_MANIFEST_PREFIX: the bucket sparkify-manifests is in us-east-1, but the COPY's REGION is us-west-2/,
    );
    t.false(fake.statements.some((s) => s.startsWith('COPY')));
    // In the right region it goes on.
    const ok = fakeRedshift();
    await runLoad(ok.db, {
      config: loadConfig({ ...env, SOURCE_REGION: 'us-east-1' }),
      log: silentLogger,
      pipeline,
      incremental: true,
    });
    t.true(ok.statements.some((s) => s.startsWith('COPY staging_events')));
  },
);

// Issue 28, point 6: COPY's REGION is the sources' region, not the cluster's (AWS_REGION).
test.serial(
  "6 (issue 28): without SOURCE_REGION, COPY's REGION is the source bucket's own region, whatever AWS_REGION says; the JSONPaths bucket is checked like the manifest's",
  async (t) => {
    const { s3, env: sources } = await sourcesAndManifestsS3(t);
    const fake = fakeRedshift();
    // The cluster (and the Data API) in eu-central-1; the buckets (s3rver) in us-east-1.
    await runLoad(fake.db, {
      config: loadConfig({ ...sources, IAM_ROLE_ARN: ROLE, AWS_REGION: 'eu-central-1' }),
      log: silentLogger,
      pipeline,
      incremental: true,
    });
    // The staging COPYs, and the ledger's (its object lists, under LOAD_MANIFEST_PREFIX: lib/stage/ledger.ts).
    const copies = fake.statements.filter((s) => s.startsWith('COPY '));
    t.is(copies.filter((s) => s.startsWith('COPY staging_')).length, 2);
    t.true(
      copies.every((c) => /^REGION 'us-east-1'$/m.test(c)),
      copies.join('\n'),
    );
    // A JSONPaths file in a bucket of another region than SOURCE_REGION is refused before any COPY.
    await s3.put('sparkify-manifests', 'meta/paths.json', JSONPATHS);
    const other = fakeRedshift();
    const e = await t.throwsAsync(
      runLoad(other.db, {
        config: loadConfig({
          ...sources,
          IAM_ROLE_ARN: ROLE,
          SOURCE_REGION: 'us-west-2',
          LOG_JSONPATH: 's3://sparkify-manifests/meta/paths.json',
        }),
        log: silentLogger,
        pipeline,
      }),
      { instanceOf: ConfigError },
    );
    t.regex(
      e?.message ?? '',
      /LOG_JSONPATH: the bucket sparkify-manifests is in us-east-1, but the COPY's REGION is us-west-2/,
    );
    t.false(other.statements.some((s) => s.startsWith('COPY')));
  },
);

// 8. No MERGE without WHEN MATCHED.
test('8: a batch of key columns only is inserted with an anti-join, never a MERGE with only WHEN NOT MATCHED; the lint refuses that MERGE', (t) => {
  const statements = upsertStatements(
    {
      target: 'days',
      key: ['day'],
      columns: ['day'],
      select: 'SELECT DISTINCT CAST(start_time AS DATE) AS day FROM songplays',
    },
    redshift,
  );
  t.false(
    statements.some((s) => /^MERGE/.test(s)),
    statements.join(';\n'),
  );
  t.true(
    statements.includes(
      'INSERT INTO days (day)\nSELECT days_batch.day\nFROM days_batch\nLEFT JOIN days\n    ON days.day = days_batch.day\nWHERE days.day IS NULL',
    ),
    statements.join(';\n'),
  );
  for (const s of statements) t.deepEqual(lintRedshift(s), [], s);
  const findings = lintRedshift(
    'MERGE INTO days USING days_batch ON days.day = days_batch.day WHEN NOT MATCHED THEN INSERT (day) VALUES (days_batch.day)',
  );
  t.deepEqual(
    findings.map((f) => f.rule),
    ['merge-without-matched'],
  );
  // Every MERGE the load plan renders has its WHEN MATCHED.
  return loadScript(redshift, { config: config(), log: silentLogger, pipeline }).then((script) =>
    t.deepEqual(lintRedshift(script), []),
  );
});

test('8: on PostgreSQL the key-only upsert inserts the new keys once, whatever is run twice', async (t) => {
  const tdb = await migratedDatabase();
  t.teardown(() => tdb.drop());
  await tdb.query('CREATE TABLE days (day DATE)');
  const statements = upsertStatements(
    {
      target: 'days',
      key: ['day'],
      columns: ['day'],
      select:
        "SELECT DISTINCT CAST(d AS DATE) AS day FROM (VALUES ('2018-11-01'), ('2018-11-02'), ('2018-11-02')) AS v(d)",
    },
    postgres,
  );
  const db = await tdb.open();
  t.teardown(() => db.close());
  const conn = await db.connect();
  t.teardown(() => conn.end());
  for (let run = 0; run < 2; run += 1) for (const sql of statements) await conn.query(sql);
  t.deepEqual(
    (await tdb.query<{ day: string }>('SELECT CAST(day AS VARCHAR) AS day FROM days ORDER BY day')).map((r) => r.day),
    ['2018-11-01', '2018-11-02'],
  );
});

// 9. A full Redshift load records its objects.
test('9: a full Redshift load lists the prefixes and records the objects in load_ledger, so a later --incremental load starts from them', async (t) => {
  const fake = fakeRedshift();
  await runLoad(fake.db, { config: config(), log: silentLogger, pipeline, reader: fake.reader });
  const insert = fake.statements.findIndex((s) => s.startsWith('INSERT INTO load_ledger'));
  t.true(
    insert > fake.statements.findIndex((s) => s.startsWith('INSERT INTO time')),
    'recorded after the last star table',
  );
  const uris = (fake.values[insert] ?? []).filter((v) => typeof v === 'string' && v.startsWith('s3://'));
  t.deepEqual(uris, [
    's3://udacity-dend/log_data/2018/11/2018-11-01-events.json',
    's3://udacity-dend/song_data/A/A/A/TRAAAAK128F9318786.json',
  ]);
});

test('6, 9: without AWS credentials here (COPY has the IAM role), a full Redshift load goes on, says it checked no JSONPaths file and recorded nothing', async (t) => {
  const fake = fakeRedshift({ listFails: true });
  const log = recordingLogger();
  await runLoad(fake.db, { config: config(), log, pipeline, reader: fake.reader });
  t.true(
    log.warnings.some((w) =>
      /^LOG_JSONPATH: JSONPaths file s3:\/\/udacity-dend\/log_json_path\.json: not checked before the COPY, it cannot be read here \(.*CredentialsProviderError/.test(
        w,
      ),
    ),
    log.warnings.join('\n'),
  );
  t.false(fake.statements.some((s) => s.startsWith('INSERT INTO load_ledger')));
  t.true(
    fake.statements.some((s) => s.startsWith('MERGE INTO songplays')),
    'the load itself went on',
  );
  t.true(
    log.warnings.some((w) =>
      /staging_events: the objects of s3:\/\/udacity-dend\/log_data could not be listed .*records none in load_ledger: the next --incremental load stages them all again/.test(
        w,
      ),
    ),
    log.warnings.join('\n'),
  );
});

// 10, 11. The batch tables and the song candidates are distributed for their joins.
test("10, 11: Redshift batch tables get their target's distribution, the song candidates are a replicated TEMP table; PostgreSQL keeps its plain CREATE TABLE AS", async (t) => {
  const script = await loadScript(redshift, { config: config(), log: silentLogger, pipeline });
  t.regex(script, /CREATE TEMP TABLE songplays_batch\nDISTSTYLE KEY DISTKEY \(start_time\)\nAS\nSELECT /);
  for (const table of ['users', 'songs', 'artists'])
    t.regex(script, new RegExp(`CREATE TEMP TABLE ${table}_batch\\nDISTSTYLE ALL\\nAS\\nSELECT `));
  t.regex(script, /CREATE TEMP TABLE songplays_candidates\nDISTSTYLE ALL\nAS\nSELECT /);
  const pg = await loadScript(postgres, { config: config(), log: silentLogger, pipeline });
  t.regex(pg, /CREATE TABLE songplays_candidates AS\nSELECT /, 'PostgreSQL: read by parallel workers, so not TEMP');
  t.regex(pg, /CREATE TEMP TABLE songplays_batch AS\nSELECT /);
  t.notRegex(pg, /DISTSTYLE|DISTKEY/);
  // Each batch's distribution is its target's, as the migrations define it.
  const defs = await migratedTableDefs();
  for (const table of ['songplays', 'users', 'songs', 'artists']) {
    const d = defs.find((def) => def.name === table)?.distribution;
    const expected =
      d?.style === 'key' ? `DISTSTYLE KEY DISTKEY \\(${d.key}\\)` : `DISTSTYLE ${d?.style.toUpperCase() ?? '?'}`;
    t.regex(script, new RegExp(`CREATE TEMP TABLE ${table}_batch\\n${expected}\\nAS\\n`), table);
  }
});

// 12. Fresh statistics for the transforms.
test('12: each staging table is ANALYZEd on its predicate columns after its COPY and checks, inside the staging transaction', async (t) => {
  const fake = fakeRedshift();
  await runLoad(fake.db, { config: config(), log: silentLogger, pipeline, reader: fake.reader });
  const at = (prefix: string) => fake.statements.findIndex((s) => s.startsWith(prefix));
  t.true(at('ANALYZE staging_events (') > at('SELECT COUNT(ts)'));
  t.true(at('ANALYZE staging_songs (') > at('COPY staging_songs'));
  t.true(at('ANALYZE staging_songs (') < fake.statements.indexOf('COMMIT'));
  t.is(
    fake.statements[at('ANALYZE staging_events')],
    'ANALYZE staging_events (page, user_id, session_id, ts, song, artist, length)',
  );
  // Every predicate column exists in the step.
  for (const step of pipeline.staging)
    for (const c of step.predicateColumns ?? []) t.true(step.columns.includes(c), `${step.table}.${c}`);
});

// 4. Trailing blanks.
test('4: every VARCHAR column of staging is declared for the trailing-blank rule, as the migrations define them', async (t) => {
  const defs = await migratedTableDefs();
  for (const step of pipeline.staging) {
    const varchars =
      defs
        .find((def) => def.name === step.table)
        ?.columns.filter((c) => c.type.kind === 'varchar')
        .map((c) => c.name) ?? [];
    t.true(varchars.length > 0, step.table);
    t.deepEqual([...(step.varcharColumns ?? [])].sort(), [...varchars].sort(), step.table);
  }
});

test('4: titles, artist names and locations with trailing blanks give the same star rows on the PostgreSQL plan and on the Redshift plan', async (t) => {
  const songs = {
    'A/a.json': song({
      song_id: 'SOBLANK000000001',
      title: 'Trailing Title ',
      artist_name: 'Blank Artist  ',
      artist_id: 'ARBLANK000000001',
      artist_location: 'Somewhere ',
      duration: 200.5,
    }),
    'A/b.json': song({
      song_id: 'SOCLEAN000000001',
      title: 'Clean Title',
      artist_name: 'Clean Artist',
      artist_id: 'ARCLEAN000000001',
      artist_location: 'Elsewhere',
      duration: 100,
    }),
  };
  const logs = {
    'day1.json': [
      event({
        song: 'Trailing Title',
        artist: 'Blank Artist',
        length: 200.5,
        location: 'Town ',
        userId: '10',
        sessionId: 1,
      }),
      event({
        song: 'Trailing Title   ',
        artist: 'Blank Artist ',
        length: 200.5,
        location: 'Town',
        userId: '11',
        sessionId: 2,
      }),
      event({
        song: 'Clean Title ',
        artist: 'Clean Artist',
        length: 100,
        userId: '12',
        sessionId: 3,
        firstName: 'Ann ',
      }),
    ],
  };
  const f = await writeFixture(t, { logs, songs });
  const star = async (tdb: Awaited<ReturnType<typeof migratedDatabase>>) => ({
    songplays: await tdb.query(
      'SELECT user_id, song_id, artist_id, location, user_agent FROM songplays ORDER BY user_id',
    ),
    songs: await tdb.query('SELECT song_id, title, artist_name FROM songs ORDER BY song_id'),
    artists: await tdb.query('SELECT artist_id, name, location FROM artists ORDER BY artist_id'),
    users: await tdb.query('SELECT user_id, first_name FROM users ORDER BY user_id'),
  });

  // The PostgreSQL plan: its staging drops the blanks as it converts the values.
  const pgDb = await migratedDatabase();
  t.teardown(() => pgDb.drop());
  await load(pgDb, f.env);
  const onPostgres = await star(pgDb);
  t.deepEqual(
    onPostgres.songplays.map((r) => r['song_id']),
    ['SOBLANK000000001', 'SOBLANK000000001', 'SOCLEAN000000001'],
    'every play matched, blanks or not',
  );
  t.deepEqual(
    onPostgres.artists.map((r) => r['location']),
    ['Somewhere', 'Elsewhere'],
  );
  t.is(onPostgres.songs.find((r) => r['song_id'] === 'SOBLANK000000001')?.['title'], 'Trailing Title');

  // The Redshift plan: the values staged as COPY stages them (blanks kept), then the plan's own UPDATEs, then the same transforms.
  const rsDb = await migratedDatabase();
  t.teardown(() => rsDb.drop());
  await load(rsDb, f.env, { only: ['stage'] });
  // Put the blanks back, as Redshift's COPY leaves them.
  await rsDb.query(
    "UPDATE staging_songs SET title = title || ' ', artist_name = artist_name || '  ', artist_location = artist_location || ' ' WHERE song_id = 'SOBLANK000000001'",
  );
  await rsDb.query("UPDATE staging_events SET song = song || '   ', artist = artist || ' ' WHERE user_id = 11");
  await rsDb.query("UPDATE staging_events SET location = location || ' ' WHERE user_id = 10");
  await rsDb.query("UPDATE staging_events SET song = song || ' ', first_name = first_name || ' ' WHERE user_id = 12");
  const plan = await loadScript(redshift, { config: config(), log: silentLogger, pipeline });
  const updates = splitStatements(plan).filter((s) => /^UPDATE staging_/.test(s));
  t.is(updates.length, 2);
  for (const sql of updates) await rsDb.query(sql);
  await load(rsDb, f.env, { only: ['transform'] });
  t.deepEqual(await star(rsDb), onPostgres);
});

// 5. Minutes between two start times.
test('5: minutesBetween gives the same whole minutes on both engines at millisecond boundaries (Redshift DATEDIFF emulated by its documented rule)', async (t) => {
  const tdb = await migratedDatabase();
  t.teardown(() => tdb.drop());
  // DATEDIFF counts the boundaries of its date part crossed between the two values (r_DATEDIFF_function).
  await tdb.query(`CREATE FUNCTION datediff_redshift(part TEXT, a TIMESTAMP, b TIMESTAMP) RETURNS BIGINT LANGUAGE SQL IMMUTABLE AS $$
    SELECT CAST(CASE part
        WHEN 'second' THEN FLOOR(EXTRACT(EPOCH FROM b)) - FLOOR(EXTRACT(EPOCH FROM a))
        WHEN 'millisecond' THEN FLOOR(EXTRACT(EPOCH FROM b) * 1000) - FLOOR(EXTRACT(EPOCH FROM a) * 1000)
    END AS BIGINT) $$`);
  const onPostgres = (sql: string) => sql.replace(/DATEDIFF\((\w+), /g, "datediff_redshift('$1', ");
  const pairs: [string, string, number][] = [
    ['2018-11-01 00:00:59.999', '2018-11-01 00:01:00.001', 0],
    ['2018-11-01 00:00:00.001', '2018-11-01 00:01:00.000', 0],
    ['2018-11-01 00:00:00.000', '2018-11-01 00:01:00.000', 1],
    ['2018-11-01 00:00:00.500', '2018-11-01 00:02:00.499', 1],
    ['2018-11-01 23:59:59.999', '2018-11-02 00:10:00.000', 10],
  ];
  for (const [from, to, minutes] of pairs) {
    const values = `(VALUES (CAST('${from}' AS TIMESTAMP), CAST('${to}' AS TIMESTAMP))) AS v(a, b)`;
    const [rs] = await tdb.query<{ m: number }>(
      `SELECT ${onPostgres(redshift.minutesBetween('v.a', 'v.b'))} AS m FROM ${values}`,
    );
    const [pg] = await tdb.query<{ m: number }>(`SELECT ${postgres.minutesBetween('v.a', 'v.b')} AS m FROM ${values}`);
    t.is(Number(pg?.m), minutes, `PostgreSQL ${from} → ${to}`);
    t.is(Number(rs?.m), minutes, `Redshift ${from} → ${to}`);
  }
});

// Issue 28, point 8: the physical design, each with its Developer Guide page in lib/dialect/redshift/dialect.ts.
test('8 (issue 28): no ANALYZE right after a CTAS on Redshift (CTAS tables are analyzed automatically); PostgreSQL analyzes its work tables', (t) => {
  const songplays = pipeline.transforms.find((s) => s.table === 'songplays');
  if (!songplays) throw new Error('no songplays step');
  const analyzedAfterCtas = (statements: readonly string[]) =>
    statements.some(
      (s, i) =>
        /^CREATE (TEMP )?TABLE \w+( |\n)[\s\S]*\bAS\n/.test(s) &&
        /^ANALYZE /.test(statements[i + 1] ?? '') &&
        !/_batch/.test(s),
    );
  t.false(analyzedAfterCtas(songplays.statements(redshift)), songplays.statements(redshift).join(';\n'));
  t.true(analyzedAfterCtas(songplays.statements(postgres)));
});

test('8 (issue 28): the informational primary keys of migration 20261207000300000 are the upsert keys of the loaders', async (t) => {
  const { MERGE_KEYS } = await import('../migrations/20261207000300000_redshift-physical-design.ts');
  // The star tables of that migration's time; user_levels (a later migration) is not upserted but rebuilt per user.
  const upserted = pipeline.transforms.filter((s) => s.table !== 'user_levels');
  t.deepEqual(MERGE_KEYS, Object.fromEntries(upserted.map((s) => [s.table, s.key])));
});

test('serializable isolation: error 1023 is transient on Redshift (the whole transaction runs again), not on PostgreSQL', (t) => {
  const violation = {
    message:
      'ERROR: 1023 DETAIL: Serializable isolation violation on table - 100345, transactions forming the cycle are: 1234, 1235',
  };
  t.true(redshift.isTransient(violation));
  t.false(postgres.isTransient(violation));
  t.false(redshift.isTransient({ message: "ERROR: Load into table 'staging_songs' failed." }));
});
