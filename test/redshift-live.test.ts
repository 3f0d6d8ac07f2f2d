// Opt-in: the same migrate and load against a real Redshift when
// TEST_REDSHIFT_URL is set (with IAM_ROLE_ARN or AWS credentials for COPY and
// the sources in LOG_DATA / SONG_DATA / LOG_JSONPATH, default Sparkify's bucket).
// The issue-12 cases (points 1 to 6, where the engines used to differ) also
// need TEST_REDSHIFT_S3_PREFIX: an s3://bucket/prefix/ in AWS_REGION that the
// tests may write small files to (with the AWS default credentials) and COPY
// may read (IAM_ROLE_ARN). They confirm on a cluster what
// test/redshift-fidelity.test.ts checks against the recording stand-in.
// It cannot run here; it must still type-check.
import { randomBytes } from 'node:crypto';
import { DeleteObjectsCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import test from 'ava';
import { pipeline } from '../loaders/index.ts';
import { loadConfig, type Config } from '../lib/config/config.ts';
import { parseS3Uri } from '../lib/config/s3-uri.ts';
import { openDatabase, type Database } from '../lib/db/database.ts';
import { InputError } from '../lib/errors.ts';
import { runLoad } from '../lib/load/runner.ts';
import { createLogger } from '../lib/log.ts';
import { migrate } from '../lib/migrate/migrate.ts';
import { createS3Client } from '../lib/sources/s3-client.ts';
import { event, JSONPATHS, song } from './helpers/fixtures.ts';

const url = process.env['TEST_REDSHIFT_URL'];
const prefix = process.env['TEST_REDSHIFT_S3_PREFIX'];
const run = url ? test.serial : test.serial.skip;
const title = (t: string) => (url ? t : `${t} (skipped: TEST_REDSHIFT_URL not set)`);
const runFixtures = url && prefix ? test.serial : test.serial.skip;
const fixtureTitle = (t: string) =>
  url && prefix ? t : `${t} (skipped: TEST_REDSHIFT_URL and TEST_REDSHIFT_S3_PREFIX not set)`;
const log = createLogger({ quiet: true });

run(title('Redshift: migrate up, load twice, identical counts'), async (t) => {
  const config = loadConfig({ ...process.env, DATABASE_URL: url ?? '' });
  const db = await openDatabase(config, log);
  try {
    t.is(db.dialect.name, 'redshift');
    await migrate(db, { direction: 'up', log });
    const first = await runLoad(db, { config, log, pipeline });
    const second = await runLoad(db, { config, log, pipeline });
    t.deepEqual(
      second.steps.map((s) => [s.table, s.rows]),
      first.steps.map((s) => [s.table, s.rows]),
    );
  } finally {
    await db.close();
  }
});

/** Writes files under a fresh folder of TEST_REDSHIFT_S3_PREFIX and returns settings that load them (removed at the end). */
async function s3Fixture(
  t: { teardown(fn: () => Promise<void>): void },
  files: { logs: string; songs: Record<string, string>; jsonpaths?: string },
): Promise<Record<string, string>> {
  const region = process.env['AWS_REGION'] ?? 'us-west-2';
  const { bucket, key } = parseS3Uri(prefix ?? '');
  const root = `${key}${key === '' || key.endsWith('/') ? '' : '/'}issue12-${randomBytes(4).toString('hex')}/`;
  const client = createS3Client(region);
  const put = (k: string, body: string) =>
    client.send(new PutObjectCommand({ Bucket: bucket, Key: `${root}${k}`, Body: body }));
  await put('log_data/events.json', files.logs);
  for (const [name, body] of Object.entries(files.songs)) await put(`song_data/${name}`, body);
  await put('log_json_path.json', files.jsonpaths ?? JSONPATHS);
  t.teardown(async () => {
    const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: root }));
    const objects = (listed.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
    if (objects.length > 0)
      await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects } }));
    client.destroy();
  });
  return {
    LOG_DATA: `s3://${bucket}/${root}log_data`,
    SONG_DATA: `s3://${bucket}/${root}song_data`,
    LOG_JSONPATH: `s3://${bucket}/${root}log_json_path.json`,
  };
}

async function withDatabase<T>(
  extra: Record<string, string>,
  fn: (db: Database, config: Config) => Promise<T>,
): Promise<T> {
  const config = loadConfig({ ...process.env, DATABASE_URL: url ?? '', ...extra });
  const db = await openDatabase(config, log);
  try {
    await migrate(db, { direction: 'up', log });
    return await fn(db, config);
  } finally {
    await db.close();
  }
}

const lines = (events: Record<string, unknown>[]) => events.map((e) => JSON.stringify(e)).join('\n');
const oneSong = { 'a.json': JSON.stringify(song()) };

runFixtures(
  fixtureTitle('issue 12 points 1 and 2: --max-errors N tolerates and lists N bad records, the (N+1)th fails the load'),
  async (t) => {
    const env = await s3Fixture(t, {
      logs: lines([event(), event({ ts: 'yesterday' }), event({ ts: 'tomorrow' })]),
      songs: oneSong,
    });
    await withDatabase(env, async (db, config) => {
      // Two bad records: --max-errors 1 fails (MAXERROR 2 is reached), naming a file and line.
      const e = await t.throwsAsync(runLoad(db, { config, log, pipeline, maxErrors: 1 }), { instanceOf: InputError });
      t.regex(e?.message ?? '', /COPY failed: s3:\/\/.*events\.json:\d+, field ts/);
      // --max-errors 2 loads, and lists both with file, line and field.
      const report = await runLoad(db, { config, log, pipeline, maxErrors: 2 });
      t.is(report.skipped.length, 2);
      for (const p of report.skipped) {
        t.regex(p.file, /events\.json$/);
        t.true(p.line > 0);
        t.is(p.field, 'ts');
      }
    });
  },
);

runFixtures(
  fixtureTitle('issue 12 point 3: a COPY that fails is reported by its own id, not by an earlier COPY of the session'),
  async (t) => {
    const env = await s3Fixture(t, { logs: lines([event(), event({ ts: 'yesterday' })]), songs: oneSong });
    // staging_events' COPY skips one record; staging_songs' COPY then fails on a prefix with no objects, before loading anything.
    await withDatabase({ ...env, SONG_DATA: `${env['SONG_DATA'] ?? ''}-none` }, async (db, config) => {
      const e = await t.throwsAsync(runLoad(db, { config, log, pipeline, maxErrors: 1 }));
      t.notRegex(e?.message ?? '', /events\.json/, 'the skipped record of the earlier COPY is not blamed');
    });
  },
);

runFixtures(
  fixtureTitle('issue 12 point 4: trailing blanks are dropped when staging, so the songplays match as on PostgreSQL'),
  async (t) => {
    const env = await s3Fixture(t, {
      logs: lines([event({ song: 'Trailing Title', artist: 'Blank Artist', length: 200.5, location: 'Town ' })]),
      songs: {
        'a.json': JSON.stringify(
          song({
            title: 'Trailing Title ',
            artist_name: 'Blank Artist  ',
            artist_location: 'Somewhere ',
            duration: 200.5,
          }),
        ),
      },
    });
    await withDatabase(env, async (db, config) => {
      await runLoad(db, { config, log, pipeline });
      const conn = await db.connect();
      try {
        const { rows } = await conn.query<{ song_id: string | null; title_bytes: number; location_bytes: number }>(
          `SELECT sp.song_id, OCTET_LENGTH(s.title) AS title_bytes, OCTET_LENGTH(sp.location) AS location_bytes
FROM songplays AS sp LEFT JOIN songs AS s ON s.song_id = sp.song_id`,
        );
        t.deepEqual(
          rows.map((r) => [r.song_id, Number(r.title_bytes), Number(r.location_bytes)]),
          [['SOFIXTURE0000001', 'Trailing Title'.length, 'Town'.length]],
        );
      } finally {
        await conn.end();
      }
    });
  },
);

run(
  title('issue 12 point 5: minutes between start times are the floored exact difference at millisecond boundaries'),
  async (t) => {
    const config = loadConfig({ ...process.env, DATABASE_URL: url ?? '' });
    const db = await openDatabase(config, log);
    const conn = await db.connect();
    try {
      const pairs: [string, string, number][] = [
        ['2018-11-01 00:00:59.999', '2018-11-01 00:01:00.001', 0],
        ['2018-11-01 00:00:00.001', '2018-11-01 00:01:00.000', 0],
        ['2018-11-01 00:00:00.000', '2018-11-01 00:01:00.000', 1],
        ['2018-11-01 23:59:59.999', '2018-11-02 00:10:00.000', 10],
      ];
      for (const [from, to, minutes] of pairs) {
        const { rows } = await conn.query<{ m: number }>(
          `SELECT ${db.dialect.minutesBetween(`CAST('${from}' AS TIMESTAMP)`, `CAST('${to}' AS TIMESTAMP)`)} AS m`,
        );
        t.is(Number(rows[0]?.m), minutes, `${from} → ${to}`);
      }
    } finally {
      await conn.end();
      await db.close();
    }
  },
);

runFixtures(
  fixtureTitle(
    'issue 12 point 6: a JSONPaths file whose top key is not "jsonpaths" fails the load before COPY (which would load NULLs)',
  ),
  async (t) => {
    const env = await s3Fixture(t, {
      logs: lines([event()]),
      songs: oneSong,
      jsonpaths: JSON.stringify({ jsonPaths: JSON.parse(JSONPATHS).jsonpaths }),
    });
    await withDatabase(env, async (db, config) => {
      const e = await t.throwsAsync(runLoad(db, { config, log, pipeline }), { instanceOf: InputError });
      t.regex(e?.message ?? '', /must be an object with a "jsonpaths" array/);
    });
  },
);

// Issue 28: what the docs leave open, probed on a real cluster and compared value by value with the PostgreSQL
// path (the embedded test server), so that a first run settles each point. docs/redshift-conformance.md lists them.

/** PG_LAST_COPY_ID after a COPY that failed on bad data and was rolled back: updated or not (PG_LAST_COPY_ID.html reads both ways). */
runFixtures(
  fixtureTitle('issue 28 point 1: which reading of PG_LAST_COPY_ID holds; the tool names file and line under either'),
  async (t) => {
    const env = await s3Fixture(t, {
      logs: lines([event()]),
      songs: { 'bad.json': JSON.stringify(song({ year: 'nineteen' })) },
    });
    await withDatabase(env, async (db, config) => {
      const conn = await db.connect();
      try {
        const before = Number((await conn.query<{ id: unknown }>('SELECT PG_LAST_COPY_ID() AS id')).rows[0]?.id);
        await conn.query('BEGIN');
        const copy = `COPY staging_songs (year) FROM '${env['SONG_DATA'] ?? ''}' IAM_ROLE '${config.iamRoleArn ?? ''}' REGION '${config.sourceRegion ?? config.region}' FORMAT AS JSON 'auto' MAXERROR 1`;
        await t.throwsAsync(conn.query(copy), { message: /Load into table/ });
        await conn.query('ROLLBACK');
        const after = Number((await conn.query<{ id: unknown }>('SELECT PG_LAST_COPY_ID() AS id')).rows[0]?.id);
        t.log(
          `PG_LAST_COPY_ID after a failed, rolled-back COPY: ${after === before ? 'not updated' : 'updated'} (${before} → ${after}); the stand-in's default reading is 'not-updated'`,
        );
      } finally {
        await conn.end();
      }
      const e = await t.throwsAsync(runLoad(db, { config, log, pipeline }), { instanceOf: InputError });
      t.regex(e?.message ?? '', /COPY failed: s3:\/\/\S+bad\.json:1, field year/);
    });
  },
);

/** The probes: one song record per line, each testing one JSON rule the guide leaves open. */
const PROBES: readonly string[] = [
  '{"song_id":"P01","title":"caf\\u00e9"}',
  '{"song_id":"P02","title":"a\\/b"}',
  '{"song_id":"P03","title":"say \\"hi\\""}',
  '{"song_id":"P04","title":1.50}',
  '{"song_id":"P05","title":12345678901234567890}',
  '{"song_id":"P06","title":1E+2}',
  '{"song_id":"P07","title":true}',
  '{"song_id":"P08","year":""}',
  '{"song_id":"P09","year":"1999"}',
  '{"song_id":"P10","title":{"nested":[1,2]}}',
];

/** Stages the probes on a database and returns the staged rows and the skipped records, by song_id / line. */
async function stagedProbes(db: Database, config: Config): Promise<{ rows: string[]; skipped: string[] }> {
  const report = await runLoad(db, { config, log, pipeline, only: ['staging_songs'], maxErrors: 20 });
  const conn = await db.connect();
  try {
    const { rows } = await conn.query<{ song_id: string; title: string | null; year: unknown }>(
      'SELECT song_id, title, year FROM staging_songs ORDER BY song_id',
    );
    return {
      rows: rows.map((r) => JSON.stringify([r.song_id, r.title, r.year === null ? null : Number(r.year)])),
      skipped: report.skipped.map((p) => `${p.line}:${p.field ?? ''}`),
    };
  } finally {
    await conn.end();
  }
}

runFixtures(
  fixtureTitle(
    'issue 28 point 9: JSON escapes, numbers and true into VARCHAR, "" and "1999" into INTEGER, an object into VARCHAR: the same values as the PostgreSQL path',
  ),
  async (t) => {
    const env = await s3Fixture(t, { logs: lines([event()]), songs: { 'probes.json': PROBES.join('\n') } });
    const redshift = await withDatabase(env, stagedProbes);
    const { createTestDatabase } = await import('./helpers/database.ts');
    const pg = await createTestDatabase();
    t.teardown(() => pg.drop());
    const pgConfig = loadConfig({ ...process.env, ...env, DATABASE_URL: pg.url });
    const pgDb = await openDatabase(pgConfig, log);
    let postgres: { rows: string[]; skipped: string[] };
    try {
      await migrate(pgDb, { direction: 'up', log });
      postgres = await stagedProbes(pgDb, pgConfig);
    } finally {
      await pgDb.close();
    }
    t.log(`Redshift: ${JSON.stringify(redshift)}`);
    t.log(`PostgreSQL path: ${JSON.stringify(postgres)}`);
    t.deepEqual(redshift, postgres);
  },
);

runFixtures(
  fixtureTitle('issue 28 point 9: a 5 MB JSON object is refused by Redshift (4 MB limit) and by the PostgreSQL path'),
  async (t) => {
    const big = JSON.stringify(song({ song_id: 'PBIG', title: 'x'.repeat(5 * 1024 * 1024) }));
    const env = await s3Fixture(t, { logs: lines([event()]), songs: { 'big.json': big } });
    await withDatabase(env, async (db, config) => {
      const e = await t.throwsAsync(runLoad(db, { config, log, pipeline, only: ['staging_songs'] }), {
        instanceOf: InputError,
      });
      t.regex(e?.message ?? '', /big\.json:1/);
    });
  },
);
