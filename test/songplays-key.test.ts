// songplays.songplay_id stays unique when someone else writes rows with
// explicit ids: on PostgreSQL a unique index (migration 20261207110000000)
// makes the next load fail, rolled back, naming the id; on Redshift, which
// enforces no key, the load checks the key itself after its insert (the
// check is in the Redshift dry run). Before, the load created duplicate ids
// that only `verify` noticed.
import test from 'ava';
import { runCli } from './helpers/cli.ts';
import { event, song, writeFixture } from './helpers/fixtures.ts';
import { migratedDatabase } from './helpers/load.ts';

const FOREIGN = `INSERT INTO songplays (songplay_id, start_time, user_id, level, session_id)
SELECT n, TIMESTAMP '2010-01-01' + n * INTERVAL '1 second', 999, 'free', 999 FROM generate_series(3, 50) AS n`;

test('rows inserted by someone else with explicit ids: the next load fails naming the id, nothing committed', async (t) => {
  const tdb = await migratedDatabase();
  t.teardown(() => tdb.drop());
  const fx = await writeFixture(t, {
    logs: { 'a.json': [event({ userId: '1', ts: 1541000000000 }), event({ userId: '1', ts: 1541000001000 })] },
    songs: { 's.json': song() },
  });
  const env = { DATABASE_URL: tdb.url, ...fx.env };
  t.is((await runCli(['load'], env)).code, 0);
  await tdb.query(FOREIGN);
  const before = await tdb.query('SELECT COUNT(*) AS n, MAX(songplay_id) AS top FROM songplays');

  const more = await writeFixture(t, {
    logs: { 'b.json': [event({ userId: '2', ts: 1541000002000 })] },
    songs: { 's.json': song() },
  });
  const r = await runCli(['load'], { DATABASE_URL: tdb.url, ...more.env });
  t.is(r.code, 1, r.stderr);
  t.regex(r.stderr, /transform songplays: songplays\.songplay_id would hold the same id twice \(3 ×2\)/);
  t.regex(r.stderr, /explicit ids/);
  t.deepEqual(await tdb.query('SELECT COUNT(*) AS n, MAX(songplay_id) AS top FROM songplays'), before);
  t.deepEqual(
    await tdb.query('SELECT songplay_id FROM songplays GROUP BY songplay_id HAVING COUNT(*) > 1'),
    [],
    'no duplicate id',
  );
});

test('the unique index refuses a second row with the same songplay_id', async (t) => {
  const tdb = await migratedDatabase();
  t.teardown(() => tdb.drop());
  await tdb.query(FOREIGN);
  const err = await t.throwsAsync(tdb.query(FOREIGN));
  t.regex(err?.message ?? '', /songplays_songplay_id_key/);
});

test('Redshift dry run: the load checks songplay_id itself after the MERGE, in the same transaction', async (t) => {
  const r = await runCli(['load', '--dry-run', '--dialect', 'redshift', '--only', 'songplays']);
  t.is(r.code, 0, r.stderr);
  const step = r.stdout.slice(r.stdout.indexOf('-- step: transform songplays'));
  const merge = step.indexOf('MERGE INTO songplays');
  const check = step.indexOf('-- check songplays.songplay_id unique');
  const commit = step.indexOf('COMMIT;');
  t.true(merge > 0 && check > merge && commit > check, step);
  t.regex(step, /GROUP BY songplay_id\nHAVING COUNT\(\*\) > 1/);
  const pg = await runCli(['load', '--dry-run', '--dialect', 'postgres', '--only', 'songplays']);
  t.notRegex(pg.stdout, /-- check songplays/, 'PostgreSQL: its unique index checks it');
});
