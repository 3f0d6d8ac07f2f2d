// Bad input: a clear error naming file, line and field, a non-zero exit, and
// the warehouse exactly as it was; --max-errors skips and lists bad records.
// (Value rules on both staging paths: staging-values.test.ts.)
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { readEnvFile } from '../lib/config/env-file.ts';
import { EXIT } from '../lib/errors.ts';
import { setup } from '../scripts/commands/common.ts';
import { runCli } from './helpers/cli.ts';
import { event, song, writeFixture } from './helpers/fixtures.ts';
import { load, loadedBaseline, migratedDatabase } from './helpers/load.ts';
import type { TestDatabase } from './helpers/database.ts';
import { fileScope } from './helpers/temp-dir.ts';
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

const line = (e: Record<string, unknown>) => JSON.stringify(e);

test.serial('a malformed line: exit 3, the message names file and line, every table unchanged', async (t) => {
  const f = await writeFixture(t, {
    logs: {
      '2018-11-02-events.json': `${line(event())}\n${line(event())}\n{"artist": "x", "ts": 15410000\n${line(event())}\n`,
    },
    songs: { 'A/1.json': song({ song_id: 'SONEW' }) },
  });
  const r = await runCli(['load'], { DATABASE_URL: tdb.url, ...f.env });
  t.is(r.code, EXIT.input);
  t.regex(r.stderr, /2018-11-02-events\.json:3: (invalid|truncated) JSON/);
  t.notRegex(r.stderr, /\n\s+at /, 'no stack trace');
  t.deepEqual(await checksums(tdb), baseline);
});

test.serial('a wrong type names the field; --max-errors skips and lists it and loads the good records', async (t) => {
  // Its own database: with --max-errors the load succeeds and changes the warehouse.
  const tdb = await migratedDatabase();
  t.teardown(() => tdb.drop());
  const baseline = await checksums(tdb);
  const f = await writeFixture(t, {
    logs: {
      'a.json': [
        event({ ts: 1541000000000 }),
        event({ ts: 'yesterday' }),
        event({ userId: { id: 1 }, ts: 1541000002000 }),
        event({ ts: 1541000003000 }),
      ],
    },
    songs: { 'A/1.json': song() },
  });
  const failing = await runCli(['load'], { DATABASE_URL: tdb.url, ...f.env });
  t.is(failing.code, EXIT.input);
  t.regex(failing.stderr, /a\.json:2, field ts \(column ts\): 'yesterday' is not an integer/);
  t.deepEqual(await checksums(tdb), baseline);

  const skipping = await runCli(['load', '--max-errors', '2'], { DATABASE_URL: tdb.url, ...f.env });
  t.is(skipping.code, 0, skipping.stderr);
  t.regex(skipping.stdout, /Skipped 2 bad record/);
  t.regex(skipping.stdout, /a\.json:2, field ts/);
  t.regex(skipping.stdout, /a\.json:3, field userId \(column user_id\): expected a number, found an object/);
  t.deepEqual(await tdb.query('select count(*)::int as n from staging_events'), [{ n: 2 }]);

  const tooMany = await runCli(['load', '--max-errors', '1'], { DATABASE_URL: tdb.url, ...f.env });
  t.is(tooMany.code, EXIT.input);
  t.regex(tooMany.stderr, /2 bad records; --max-errors 1/);
});

const hostile: [string, string | Buffer, RegExp][] = [
  ['truncated JSON', `${line(event())}\n{"artist": "x", "auth": "Logged In"`, /bad\.json:2: truncated JSON/],
  [
    'invalid UTF-8',
    Buffer.concat([
      Buffer.from(`${line(event())}\n{"artist": "bad `),
      Buffer.from([0xc3, 0x28]),
      Buffer.from(`", "userId": "1", "ts": 1541000000000, "sessionId": 1}\n`),
    ]),
    /bad\.json:2, field artist \(column artist\): invalid UTF-8/,
  ],
  ['a byte-order mark', `\ufeff${line(event())}\n`, /bad\.json:1: expected a JSON object, found a byte-order mark/],
  ['a NUL byte', `${line(event())}\n\u0000\n`, /bad\.json:2: expected a JSON object, found a NUL byte/],
  [
    'an escaped NUL in a value',
    `${line(event({ artist: 'a\u0000b' }))}\n`,
    /bad\.json:1, field artist \(column artist\): a NUL character/,
  ],
  ['a JSON array', `[${line(event())}]\n`, /bad\.json:1: expected a JSON object, found a JSON array/],
  ['a scalar', `42\n`, /bad\.json:1: expected a JSON object, found a JSON scalar/],
  [
    'a deeply nested value',
    `{"artist": ${'['.repeat(200000)}${']'.repeat(200000)}, "ts": 1541000000000}\n`,
    /bad\.json:1, field artist \(column artist\): (a value nested too deeply|value is 400000 bytes)/,
  ],
  [
    'a number out of range',
    `${line(event({ status: 99999 }))}\n`,
    /bad\.json:1, field status \(column status\): 99999 is out of range for SMALLINT/,
  ],
  [
    'a ts outside the TIMESTAMP range (issue 15, bug 2)',
    `${line(event())}\n${line(event({ ts: -1000000000000000 }))}\n`,
    /bad\.json:2, field ts \(column ts\): -1000000000000000 is not a TIMESTAMP the warehouse can hold/,
  ],
  [
    'a number that overflows to Infinity (issue 15, bug 3)',
    `${line(event())}\n{"length": 1e400, "userId": "10", "ts": 1541000000000}\n`,
    /bad\.json:2, field length \(column length\): 1e400 is out of range for DOUBLE PRECISION/,
  ],
  [
    'a 10 MB line',
    `${line(event({ artist: 'x'.repeat(10 * 1024 * 1024) }))}\n`,
    /bad\.json:1: a JSON object larger than 4 MB/,
  ],
  [
    'records separated by commas',
    `${line(event())},\n${line(event())}\n`,
    /bad\.json:1: expected a JSON object, found ','/,
  ],
  ['a non-JSON file', 'Sparkify logs\nnothing to see\n', /bad\.json:1: expected a JSON object, found 'S'/],
];

for (const [name, content, expected] of hostile) {
  test(`hostile input, ${name}: an error naming file and line, the warehouse unchanged`, async (t) => {
    const f = await writeFixture(t, { logs: { 'bad.json': '' }, songs: { 'A/1.json': song() } });
    await writeFile(path.join(f.env['LOG_DATA'] ?? '', 'bad.json'), content);
    const e = await t.throwsAsync(load(tdb, f.env));
    t.regex(e?.message ?? '', expected);
    t.is((e as { exitCode?: number } | undefined)?.exitCode, EXIT.input);
    t.deepEqual(await checksums(tdb), baseline);
  });
}

test('a symlink loop in a local folder is refused with its path', async (t) => {
  const f = await writeFixture(t, { logs: { 'a.json': [event()] }, songs: { 'A/1.json': song() } });
  await mkdir(path.join(f.env['LOG_DATA'] ?? '', 'sub'));
  await symlink('..', path.join(f.env['LOG_DATA'] ?? '', 'sub', 'loop'));
  const e = await t.throwsAsync(load(tdb, f.env));
  t.regex(e?.message ?? '', /loop/);
  t.deepEqual(await checksums(tdb), baseline);
});

test('a missing source folder is named', async (t) => {
  const e = await t.throwsAsync(
    load(tdb, { LOG_DATA: '/nonexistent/log_data', SONG_DATA: '/nonexistent/song_data', LOG_JSONPATH: 'auto' }),
  );
  t.regex(e?.message ?? '', /\/nonexistent\/log_data: no such file or folder/);
});

test.serial(
  'a ts outside the TIMESTAMP range: exit 3 at staging with file, line and field; skipped under --max-errors, and songplays loads',
  async (t) => {
    const tdb = await migratedDatabase();
    t.teardown(() => tdb.drop());
    const baseline = await checksums(tdb);
    const f = await writeFixture(t, {
      logs: { 'far.json': [event({ ts: 1541000000000 }), event({ ts: -1000000000000000, userId: '11' })] },
      songs: { 'A/1.json': song() },
    });
    const failing = await runCli(['load'], { DATABASE_URL: tdb.url, ...f.env });
    t.is(failing.code, EXIT.input, failing.stderr);
    t.regex(failing.stderr, /far\.json:2, field ts \(column ts\): -1000000000000000 is not a TIMESTAMP/);
    t.deepEqual(await checksums(tdb), baseline, 'nothing changed: not even users');

    const skipping = await runCli(['load', '--max-errors', '1'], { DATABASE_URL: tdb.url, ...f.env });
    t.is(skipping.code, 0, skipping.stderr);
    t.regex(skipping.stdout, /far\.json:2, field ts/);
    t.deepEqual(await tdb.query('select count(*)::int as n from songplays'), [{ n: 1 }]);
    t.deepEqual(await tdb.query('select user_id from users order by user_id'), [{ user_id: 10 }]);
  },
);

test.serial('a long integer going into a VARCHAR keeps every digit (issue 15, bug 5)', async (t) => {
  const tdb = await migratedDatabase();
  t.teardown(() => tdb.drop());
  const f = await writeFixture(t, {
    logs: {
      'n.json': `{"artist": 12345678901234567890, "song": 1.50, "userId": "10", "ts": 1541000000000, "sessionId": 1, "page": "NextSong"}\n`,
    },
    songs: { 'A/1.json': song() },
  });
  await load(tdb, f.env);
  t.deepEqual(await tdb.query('select artist, song from staging_events'), [
    { artist: '12345678901234567890', song: '1.50' },
  ]);
});

test.serial(
  'control characters in a file name are escaped in the message (no raw escape sequence or newline reaches the terminal)',
  async (t) => {
    const f = await writeFixture(t, {
      logs: { 'bad\u001b[31m\nname.json': `{"artist": 1, "ts": x}\n` },
      songs: { 'A/1.json': song() },
    });
    const r = await runCli(['load'], { DATABASE_URL: tdb.url, ...f.env });
    t.is(r.code, EXIT.input);
    t.regex(r.stderr, /bad\\x1b\[31m\\nname\.json:1: invalid JSON/);
    t.false(r.stderr.includes('\u001b'), 'no raw ESC');
    t.deepEqual(await checksums(tdb), baseline);
  },
);

test('a file named with --env-file must exist (a misspelt name is an error, exit 2); the default .env may be absent', (t) => {
  const e = t.throws(() => setup({ envFile: '/nonexistent/settings.evn', verbose: false, quiet: true }));
  t.regex(e?.message ?? '', /--env-file \/nonexistent\/settings\.evn: no such file/);
  t.is((e as { exitCode?: number } | undefined)?.exitCode, EXIT.usage);
  t.notThrows(() => readEnvFile(path.join('/nonexistent', '.env')));
});
