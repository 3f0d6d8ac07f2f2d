// A statement the server refuses names where it came from (issue 24): the
// step, its loader or migration file, the statement's first lines and the
// server's SQLSTATE, in text on stderr and in `--format json` as error.step,
// error.file and error.sqlstate. Here a transform and a migration are made to
// fail on a real PostgreSQL.
import test from 'ava';
import { runCli } from './helpers/cli.ts';
import { createTestDatabase, queryOnce } from './helpers/database.ts';
import { event, song, writeFixture } from './helpers/fixtures.ts';
import { migratedDatabase } from './helpers/load.ts';

interface ErrorDocument {
  error: {
    message: string;
    exitCode: number;
    step: string;
    file: string | null;
    sqlstate: string | null;
    statement: string;
  };
}

test('a failing transform names its step, loader file, statement and SQLSTATE, in text and in JSON', async (t) => {
  const tdb = await migratedDatabase();
  t.teardown(() => tdb.drop());
  // The songs step writes songs.title: a column it no longer finds.
  await queryOnce(tdb.url, 'ALTER TABLE songs RENAME COLUMN title TO song_title');
  const fixture = await writeFixture(t, {
    logs: { 'a.json': [event({ ts: 1541000000000 })] },
    songs: { 'A/1.json': song() },
  });
  const env = { DATABASE_URL: tdb.url, ...fixture.env };

  const text = await runCli(['load', '--quiet'], env);
  t.is(text.code, 1, text.stderr);
  t.regex(
    text.stderr,
    /error: transform songs \(loaders\/songs\.ts\) failed: column songs\.title does not exist \[SQLSTATE 42703, at character \d+\]/,
  );
  t.regex(text.stderr, /\n {2}statement:\n {4}\S/);

  const json = await runCli(['load', '--quiet', '--format', 'json'], env);
  t.is(json.code, 1, json.stderr);
  const doc = JSON.parse(json.stdout) as ErrorDocument;
  t.is(doc.error.step, 'transform songs');
  t.is(doc.error.file, 'loaders/songs.ts');
  t.is(doc.error.sqlstate, '42703');
  t.is(doc.error.exitCode, 1);
  t.regex(doc.error.statement, /\btitle\b/);
});

test('a failing migration names the migration and its file; nothing is applied', async (t) => {
  const tdb = await createTestDatabase();
  t.teardown(() => tdb.drop());
  // A type of the name a migration's table takes (its row type): CREATE TABLE users fails (42P07).
  await queryOnce(tdb.url, 'CREATE TYPE users AS (user_id INTEGER)');
  const r = await runCli(['migrate', 'up'], { DATABASE_URL: tdb.url });
  t.is(r.code, 1, r.stderr);
  // node-pg-migrate's own "Error executing" dump is left to --verbose: the error says it once.
  t.notRegex(r.stderr, /Error executing/);
  t.regex(
    r.stderr,
    /error: migration 20261122000300000_create-users \(migrations\/20261122000300000_create-users\.ts\) failed: relation "users" already exists \[SQLSTATE 42P07\]/,
  );
  const tables = await queryOnce<{ n: string }>(
    tdb.url,
    "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = 'public' AND table_name = 'staging_events'",
  );
  t.is(tables[0]?.n, '0', 'the migrations run in one transaction: none applied');
});
