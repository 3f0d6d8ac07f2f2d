// The load ledger at scale (issue 27 item 5, issue 26 "memory bounded by the
// batch"): which of 20k listed objects are new or changed is found in SQL, on
// PostgreSQL (the list streamed into a temporary table with COPY FROM STDIN)
// and on Redshift through the Data API stand-in (the list written as gzip'd
// JSON Lines under the stage prefix on s3rver, COPY'd into a temporary table):
// new objects, a changed size, a changed version, a changed mapping, and
// unchanged ones, read back a page at a time. On Redshift the number of
// statements the ledger sends does not grow with the object count (no INSERT
// per 500 objects, no read of the whole ledger), and the object-list files are
// removed afterwards.
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import test from 'ava';
import { loadConfig } from '../lib/config/config.ts';
import type { Connection } from '../lib/db/connection.ts';
import { transaction } from '../lib/db/connection.ts';
import { openDatabase } from '../lib/db/database.ts';
import { connectWire } from '../lib/db/wire-connection.ts';
import type { DialectName } from '../lib/dialect/dialect.ts';
import { silentLogger } from '../lib/log.ts';
import type { SourceObject } from '../lib/sources/source-objects.ts';
import { newOrChanged, recordLoaded } from '../lib/stage/ledger.ts';
import type { LedgerFiles } from '../lib/stage/plan.ts';
import { ledgerFiles } from '../lib/stage/redshift/ledger-files.ts';
import { createStageStore } from '../lib/stage/redshift/stage-store.ts';
import { runCli } from './helpers/cli.ts';
import { startDataApiStandIn } from './helpers/data-api.ts';
import { createTestDatabase } from './helpers/database.ts';
import { migratedDatabase } from './helpers/load.ts';
import { startS3 } from './helpers/s3.ts';

const OBJECTS = 20_000;
const TABLE = 'staging_songs';
const STAGE = 'sparkify-ledger-stage';
/** The machine is shared: 20k objects through the stand-in's COPY take a while under load. */
const SLOW = 10 * 60_000;

const objectAt = (i: number, version = 'v1', size = 300): SourceObject => ({
  uri: `s3://sparkify/song_data/${String(i).padStart(7, '0')}.json`,
  size,
  version,
});

/**
 * The second listing: of the `n` objects recorded, every 5th has a new size,
 * every 7th (not 5th) a new version, and `n / 10` objects are new; the rest
 * are unchanged. Returns the listing and which of it is new or changed.
 */
function secondListing(n: number): { listed: SourceObject[]; fresh: Set<string> } {
  const listed: SourceObject[] = [];
  const fresh = new Set<string>();
  for (let i = 0; i < n + n / 10; i += 1) {
    const o =
      i >= n ? objectAt(i) : i % 5 === 0 ? objectAt(i, 'v1', 301) : i % 7 === 0 ? objectAt(i, 'v2') : objectAt(i);
    listed.push(o);
    if (i >= n || i % 5 === 0 || i % 7 === 0) fresh.add(o.uri);
  }
  return { listed, fresh };
}

/** A connection that counts the statements sent through it. */
function counting(conn: Connection): { conn: Connection; count: () => number } {
  let n = 0;
  const wrapped: Connection = {
    query: (sql, values) => ((n += 1), conn.query(sql, values)),
    script: (sql) => ((n += 1), conn.script(sql)),
    get copyFromStdin() {
      const copy = conn.copyFromStdin;
      return copy && ((sql: string) => ((n += 1), copy(sql)));
    },
    get backendPid() {
      return conn.backendPid;
    },
    onLost: (l) => conn.onLost(l),
    explain: (err) => conn.explain(err),
    end: () => conn.end(),
  };
  return { conn: wrapped, count: () => n };
}

/**
 * Records `n` objects as loaded by run-1 (mapping m1), then asks what is new or changed in the second
 * listing; returns the statements each part sent.
 */
async function scenario(
  t: import('ava').ExecutionContext,
  raw: Connection,
  engine: DialectName,
  n: number,
  files: LedgerFiles | undefined,
  pageRows?: number,
): Promise<{ record: number; compare: number; fresh: number }> {
  const { conn, count } = counting(raw);
  const first = Array.from({ length: n }, (_, i) => objectAt(i));
  await transaction(conn, () =>
    recordLoaded(conn, engine, 'run-1', [{ table: TABLE, objects: first, mapping: 'm1' }], files),
  );
  const record = count();
  const { rows } = await raw.query<{ n: number | string }>(
    "SELECT COUNT(*) AS n FROM load_ledger WHERE run_id = 'run-1' AND status = 'loaded' AND mapping_fingerprint = 'm1'",
  );
  t.is(Number(rows[0]?.n), n, 'every object recorded once');

  const { listed, fresh } = secondListing(n);
  const before = count();
  const found = [...(await newOrChanged(conn, engine, TABLE, listed, 'm1', { files, pageRows }))];
  const compare = count() - before;
  t.is(found.length, fresh.size, 'new + changed size + changed version');
  t.true(
    found.every((o) => fresh.has(o.uri)),
    'only new or changed objects',
  );
  t.deepEqual(
    found.map((o) => o.uri),
    listed.filter((o) => fresh.has(o.uri)).map((o) => o.uri),
    'in listing order, each once',
  );
  t.is(
    (await newOrChanged(conn, engine, TABLE, listed, 'm2', { files, pageRows })).length,
    listed.length,
    'a changed mapping: every object',
  );
  t.is((await newOrChanged(conn, engine, 'staging_events', listed, 'm1', { files, pageRows })).length, listed.length);

  // The second run recorded: its objects replace run-1's records, and nothing is new any more.
  await transaction(conn, () =>
    recordLoaded(conn, engine, 'run-2', [{ table: TABLE, objects: found, mapping: 'm1' }], files),
  );
  const { rows: after } = await raw.query<{ run_id: string; n: number | string }>(
    'SELECT run_id, COUNT(*) AS n FROM load_ledger GROUP BY run_id ORDER BY run_id',
  );
  t.deepEqual(
    after.map((r) => [r.run_id, Number(r.n)]),
    [
      ['run-1', listed.length - fresh.size],
      ['run-2', fresh.size],
    ],
  );
  t.deepEqual([...(await newOrChanged(conn, engine, TABLE, listed, 'm1', { files, pageRows }))], [], 'a no-op');
  return { record, compare, fresh: fresh.size };
}

test(`PostgreSQL: new and changed objects of ${OBJECTS} found in SQL, read a page at a time`, async (t) => {
  t.timeout(SLOW);
  const tdb = await migratedDatabase();
  t.teardown(() => tdb.drop());
  const conn = await connectWire({ connectionString: tdb.url });
  t.teardown(() => conn.end());
  // Pages of 1,000 rows: the paging is exercised (6,000 or so new or changed objects).
  await scenario(t, conn, 'postgres', OBJECTS, undefined, 1000);
});

test.serial(
  `Redshift (Data API stand-in): ${OBJECTS} objects compared and recorded in SQL, with as many statements as for 2,000`,
  async (t) => {
    t.timeout(SLOW);
    const s3 = await startS3([STAGE]);
    t.teardown(() => s3.close());
    const standIn = await startDataApiStandIn(s3);
    t.teardown(() => standIn.close());
    // The stage store writes with this process's settings (the tool's own S3 client, to s3rver).
    Object.assign(process.env, s3.env);
    const counts: { record: number; compare: number; fresh: number }[] = [];
    for (const n of [2_000, OBJECTS]) {
      const tdb = await createTestDatabase();
      t.teardown(() => tdb.drop());
      const env = standIn.env(tdb.name, { cluster: true });
      const up = await runCli(['migrate', 'up'], env);
      if (up.code !== 0) throw new Error(up.stderr);
      const config = loadConfig(env);
      const db = await openDatabase(config, silentLogger);
      t.teardown(() => db.close());
      const conn = await db.connect();
      const files = ledgerFiles({
        prefix: `s3://${STAGE}/runs/`,
        runId: `run-of-${n}`,
        region: 'us-west-2',
        auth: { kind: 'role', arn: 'arn:aws:iam::123456789012:role/sparkify-redshift-s3-read' },
        storeRegion: 'us-west-2',
        log: silentLogger,
        store: () => createStageStore('us-west-2'),
      });
      counts.push(await scenario(t, conn, 'redshift', n, files, 1000));
      await conn.end();
    }
    type Counts = (typeof counts)[number];
    const [small, large] = counts as [Counts, Counts];
    t.is(large.record, small.record, 'recording 20k objects sends as many statements as 2,000');
    // Comparing reads the answer a page at a time (1,000 ordinals here, 100,000 in a run): only
    // those pages grow with the count of new or changed objects; everything else is fixed.
    const pages = (fresh: number) => Math.floor(fresh / 1000) + 1;
    t.true(large.fresh > 5 * small.fresh);
    t.is(large.compare - small.compare, pages(large.fresh) - pages(small.fresh), 'comparing: only the pages grow');
    const left = await s3.client.send(new ListObjectsV2Command({ Bucket: STAGE }));
    t.deepEqual(left.Contents ?? [], [], "the object lists' files are removed after their COPY");
  },
);
