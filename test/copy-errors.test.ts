// A COPY the server refuses (a constraint or a narrower column that someone
// added to a staging table) never echoes the staged row: PostgreSQL's CONTEXT
// ("COPY staging_events, line 2, column location: \"…\"") and DETAIL ("Failing
// row contains (…)") carry names, locations and user agents. The error names
// the table, column and the source file:line of the record instead, on stderr
// and in the --format json document.
import test from 'ava';
import { runCli } from './helpers/cli.ts';
import { event, song, writeFixture } from './helpers/fixtures.ts';
import { migratedDatabase } from './helpers/load.ts';

const SECRET_AGENT = 'Mozilla/5.0 (SecretPhone; PrivateOS 9)';
const SECRET_PLACE = 'Hidden Valley-Private Town, ZZ';
const SECRET_NAME = 'Zebulon';

function assertNoRow(t: import('ava').ExecutionContext, text: string): void {
  for (const secret of [SECRET_AGENT, SECRET_PLACE, SECRET_NAME, 'Failing row contains'])
    t.false(text.includes(secret), `"${secret}" printed:\n${text}`);
}

test('a NULL the server refuses (NOT NULL added by someone): table, column and file:line, not the row', async (t) => {
  const tdb = await migratedDatabase();
  t.teardown(() => tdb.drop());
  await tdb.query('ALTER TABLE staging_events ALTER COLUMN location SET NOT NULL');
  const fx = await writeFixture(t, {
    logs: {
      'a.json': [
        event({ location: SECRET_PLACE, userAgent: SECRET_AGENT, firstName: SECRET_NAME }),
        event({ location: null, userAgent: SECRET_AGENT, firstName: SECRET_NAME }),
      ],
    },
    songs: { 's.json': song() },
  });
  const r = await runCli(['load'], { DATABASE_URL: tdb.url, ...fx.env });
  t.is(r.code, 1, r.stderr);
  assertNoRow(t, r.stderr);
  t.regex(r.stderr, /null value in column "location"/);
  t.regex(
    r.stderr,
    /staging_events: the record at \S*a\.json:2, column location/,
    'the source file and line of the record',
  );

  const json = await runCli(['load', '--format', 'json'], { DATABASE_URL: tdb.url, ...fx.env });
  t.is(json.code, 1);
  assertNoRow(t, json.stdout + json.stderr);
  t.regex(json.stdout, /a\.json:2/);
});

test('a CHECK constraint someone added: the constraint and file:line, not "Failing row contains (…)"', async (t) => {
  const tdb = await migratedDatabase();
  t.teardown(() => tdb.drop());
  await tdb.query(`ALTER TABLE staging_events ADD CONSTRAINT agent_known CHECK (user_agent NOT LIKE '%SecretPhone%')`);
  const fx = await writeFixture(t, {
    logs: {
      'x/b.json': [
        event({ userAgent: 'ok' }),
        event({ userAgent: 'ok' }),
        event({ userAgent: SECRET_AGENT, firstName: SECRET_NAME, location: SECRET_PLACE }),
      ],
    },
    songs: { 's.json': song() },
  });
  const r = await runCli(['load', '--verbose'], { DATABASE_URL: tdb.url, ...fx.env });
  t.is(r.code, 1, r.stderr);
  assertNoRow(t, r.stderr);
  t.regex(r.stderr, /agent_known/);
  t.regex(r.stderr, /b\.json:3\b/);
});
