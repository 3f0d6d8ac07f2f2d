// Issue 26, "Also": a statement the server refuses for a reason outside the statement (a statement_timeout,
// a read-only session, a missing privilege) was printed as the server's bare message. Each now names the step
// and says what to change: the timeout and where it is set, the read-only setting or standby, the privilege
// and the table. On PostgreSQL with the real refusals (SQLSTATE 57014, 25006, 42501), and through the Data API
// stand-in, which passes PostgreSQL's messages on as the Data API does (no SQLSTATE).
import { randomBytes } from 'node:crypto';
import test from 'ava';
import { runCli } from './helpers/cli.ts';
import { startDataApiStandIn, type DataApiStandIn } from './helpers/data-api.ts';
import { createTestDatabase, queryOnce, testServerUrl, type TestDatabase } from './helpers/database.ts';
import { event, song, writeFixture } from './helpers/fixtures.ts';
import { migratedDatabase } from './helpers/load.ts';
import { localSources, startS3, type TestS3 } from './helpers/s3.ts';
import { fileScope } from './helpers/temp-dir.ts';

const scope = fileScope();

async function fixtureEnv(): Promise<Record<string, string>> {
  const f = await writeFixture(scope, {
    logs: { 'a.json': [event({ ts: 1541000000000 })] },
    songs: { 'A/1.json': song() },
  });
  return f.env;
}

/**
 * The statement_timeout refusal, exactly as the server raises it (SQLSTATE 57014, "canceling statement due to
 * statement timeout"), from a trigger on `table`: a real statement_timeout would need a statement slower than
 * the timeout, which a test cannot promise on a loaded machine without being slow itself.
 */
async function timeoutOn(tdb: TestDatabase, table: string): Promise<void> {
  await tdb.query(`CREATE FUNCTION sparkify_test_timeout() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'canceling statement due to statement timeout' USING ERRCODE = '57014';
END $$`);
  await tdb.query(
    `CREATE TRIGGER sparkify_test_timeout BEFORE INSERT OR UPDATE ON ${table} FOR EACH ROW EXECUTE FUNCTION sparkify_test_timeout()`,
  );
}

test('PostgreSQL: a statement_timeout names the step, the SQLSTATE and the setting to change', async (t) => {
  const tdb = await migratedDatabase();
  t.teardown(() => tdb.drop());
  await timeoutOn(tdb, 'users');
  const r = await runCli(['load'], { DATABASE_URL: tdb.url, ...(await fixtureEnv()) });
  t.is(r.code, 1, r.stderr);
  t.regex(
    r.stderr,
    /error: transform users \(loaders\/users\.ts\) failed: canceling statement due to statement timeout \[SQLSTATE 57014\]/,
  );
  t.regex(r.stderr, /why: the server stopped the statement at its statement_timeout/);
  t.regex(r.stderr, /ALTER ROLE \S+ SET statement_timeout/);
  const json = await runCli(['load', '--format', 'json'], { DATABASE_URL: tdb.url, ...(await fixtureEnv()) });
  const doc = JSON.parse(json.stdout) as { error: { step: string; sqlstate: string; why: string } };
  t.like(doc.error, { step: 'transform users', sqlstate: '57014' });
  t.regex(doc.error.why, /^the server stopped the statement at its statement_timeout/);
});

test('PostgreSQL: a read-only session names the step, the SQLSTATE and default_transaction_read_only or a standby', async (t) => {
  const tdb = await migratedDatabase();
  t.teardown(() => tdb.drop());
  await tdb.query(`ALTER DATABASE ${tdb.name} SET default_transaction_read_only = on`);
  const r = await runCli(['load'], { DATABASE_URL: tdb.url, ...(await fixtureEnv()) });
  // From another database: every session of this one is read-only now.
  await queryOnce(testServerUrl(), `ALTER DATABASE ${tdb.name} RESET default_transaction_read_only`);
  t.is(r.code, 1, r.stderr);
  t.regex(
    r.stderr,
    /error: taking the warehouse lock \(lib\/db\/lock\.ts\) failed: cannot execute [A-Z ]+ in a read-only transaction \[SQLSTATE 25006\]/,
  );
  t.regex(r.stderr, /why: the session is read-only: default_transaction_read_only is on .* or the server is a standby/);
});

test('PostgreSQL: a missing privilege names the step, the privilege and the table', async (t) => {
  const tdb = await migratedDatabase();
  t.teardown(() => tdb.drop());
  const role = `sw_loader_${randomBytes(4).toString('hex')}`;
  const password = randomBytes(12).toString('hex');
  await tdb.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
  t.teardown(async () => {
    await queryOnce(testServerUrl(), `DROP OWNED BY ${role}`).catch(() => undefined);
    await queryOnce(testServerUrl(), `DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
  });
  await tdb.query(`GRANT USAGE, CREATE ON SCHEMA public TO ${role}`);
  await tdb.query(`GRANT ALL ON ALL TABLES IN SCHEMA public TO ${role}`);
  await tdb.query(`GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO ${role}`);
  await tdb.query(`REVOKE INSERT ON songplays FROM ${role}`);
  const url = new URL(tdb.url);
  url.username = role;
  url.password = password;
  const r = await runCli(['load'], { DATABASE_URL: url.toString(), ...(await fixtureEnv()) });
  t.is(r.code, 1, r.stderr);
  t.regex(
    r.stderr,
    /error: transform songplays \(loaders\/songplays\.ts\) failed: permission denied for table songplays \[SQLSTATE 42501\]/,
  );
  t.regex(
    r.stderr,
    new RegExp(
      `why: the user lacks a privilege on songplays: this \\w+ needs [A-Z, ]*INSERT[^\\n]*GRANT [A-Z, ]*INSERT[A-Z, ]* ON songplays TO <user>`,
    ),
  );
  t.notRegex(r.stderr, new RegExp(password), 'the password is not shown');
});

// Through the Data API: the stand-in runs the statements on PostgreSQL and, as the Data API does, gives only
// the message (FAILED, or ABORTED for a cancelled statement), no SQLSTATE.
const BUCKET = 'sparkify-server-refusals';
let s3: TestS3 | undefined;
let standIn: DataApiStandIn | undefined;
let sources: Record<string, string> | undefined;

async function dataApi(): Promise<{ s3: TestS3; standIn: DataApiStandIn; sources: Record<string, string> }> {
  if (!s3 || !standIn || !sources) {
    s3 = await startS3([BUCKET]);
    standIn = await startDataApiStandIn(s3);
    const f = await writeFixture(scope, {
      logs: { '2018-11-01-events.json': [event()] },
      songs: { 'A/a.json': song() },
    });
    sources = await s3.uploadSources(BUCKET, localSources(f.env));
  }
  return { s3, standIn, sources };
}

test.after.always(async () => {
  await standIn?.close();
  await s3?.close();
});

/** A database migrated through the stand-in, and the settings of a load through it. */
async function viaDataApi(t: { teardown(fn: () => unknown): void }) {
  const { standIn: api, sources: src } = await dataApi();
  const tdb = await createTestDatabase();
  t.teardown(() => tdb.drop());
  const env = { ...api.env(tdb.name), ...src };
  const up = await runCli(['migrate', 'up'], env);
  if (up.code !== 0) throw new Error(up.stderr);
  return { tdb, env };
}

test.serial('Data API: a statement_timeout (ABORTED) names the step and the setting to change', async (t) => {
  const { tdb, env } = await viaDataApi(t);
  await timeoutOn(tdb, 'users');
  const r = await runCli(['load'], env);
  t.is(r.code, 1, r.stderr);
  t.regex(
    r.stderr,
    /error: transform users \(loaders\/users\.ts\) failed: .*canceling statement due to statement timeout/,
  );
  t.regex(r.stderr, /why: the server stopped the statement at its statement_timeout/);
});

test.serial('Data API: a read-only session names the step and the setting', async (t) => {
  const { tdb, env } = await viaDataApi(t);
  await tdb.query(`ALTER DATABASE ${tdb.name} SET default_transaction_read_only = on`);
  t.teardown(() => queryOnce(testServerUrl(), `ALTER DATABASE ${tdb.name} RESET default_transaction_read_only`));
  const r = await runCli(['load'], env);
  t.is(r.code, 1, r.stderr);
  t.regex(
    r.stderr,
    /error: taking the warehouse lock \(lib\/db\/lock\.ts\) failed: ERROR: cannot execute [A-Z ]+ in a read-only transaction/,
  );
  t.regex(r.stderr, /why: the session is read-only/);
});

test.serial(
  'Data API: a missing privilege (Redshift\'s "permission denied for relation") names the privilege and the table',
  async (t) => {
    const { tdb, env } = await viaDataApi(t);
    // The stand-in connects as a superuser, whom no privilege stops: the refusal as Redshift words it, from a trigger.
    await tdb.query(`CREATE FUNCTION sparkify_test_denied() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'permission denied for relation songplays' USING ERRCODE = '42501';
END $$`);
    await tdb.query(
      'CREATE TRIGGER sparkify_test_denied BEFORE INSERT ON songplays FOR EACH ROW EXECUTE FUNCTION sparkify_test_denied()',
    );
    const r = await runCli(['load'], env);
    t.is(r.code, 1, r.stderr);
    t.regex(
      r.stderr,
      /error: transform songplays \(loaders\/songplays\.ts\) failed: ERROR: permission denied for relation songplays/,
    );
    t.regex(
      r.stderr,
      /why: the user lacks a privilege on songplays: this \w+ needs [A-Z, ]*INSERT[^\n]*\(GRANT [A-Z, ]*INSERT[A-Z, ]* ON songplays TO <user>\)/,
    );
  },
);
