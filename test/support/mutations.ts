/**
 * The mutations `npm run mutate` (scripts/dev/mutate.ts) plants, one at a
 * time: for each core rule file, plausible slips (each breaks one rule the
 * file keeps) and the test files that must catch them. A mutation replaces
 * `find` (which must occur exactly once in the file: test/mutations.test.ts
 * checks the list against the code) with `replace`.
 *
 * A mutation that no test can catch says why: `equivalent` (the program
 * behaves the same, said how) or `left` (it changes behaviour only where no
 * local test can look, said where it is checked instead). Every other
 * survivor is a gap in the tests.
 */

export interface Mutation {
  /** The rule the slip breaks. */
  readonly rule: string;
  readonly find: string;
  readonly replace: string;
  /** The mutant behaves as the code does: why. */
  readonly equivalent?: string;
  /** The mutant is not caught here on purpose: why, and what checks it instead. */
  readonly left?: string;
}

export interface MutatedFile {
  /** The source file, relative to the project. */
  readonly file: string;
  /** The test files run against each of its mutants. */
  readonly tests: readonly string[];
  /** AVA --match patterns that narrow those files to the tests that matter (all of them when absent). */
  readonly match?: readonly string[];
  readonly mutations: readonly Mutation[];
}

export const MUTATIONS: readonly MutatedFile[] = [
  // Settings.
  {
    file: 'lib/config/config.ts',
    tests: ['test/settings-precedence.test.ts'],
    mutations: [
      {
        rule: '--schema wins over WAREHOUSE_SCHEMA',
        find: 'if (schema === undefined) return config;',
        replace: 'if (schema === undefined || config.schema !== DEFAULT_SCHEMA) return config;',
      },
      {
        rule: 'WAREHOUSE_SCHEMA is read',
        find: "setting(env, 'WAREHOUSE_SCHEMA') ?? DEFAULT_SCHEMA",
        replace: 'DEFAULT_SCHEMA',
      },
      {
        rule: 'IAM_ROLE_ARN is read',
        find: "const iamRoleArn = setting(env, 'IAM_ROLE_ARN');",
        replace: "const iamRoleArn = setting(env, 'IAM_ROLE');",
      },
    ],
  },
  {
    file: 'lib/config/settings-files.ts',
    tests: ['test/settings-precedence.test.ts'],
    mutations: [
      {
        rule: 'the environment wins over the files',
        find: 'if (!isSet(value) || isSet(env[name])) continue;',
        replace: 'if (!isSet(value)) continue;',
      },
      {
        rule: 'the first file given wins (the dwh.cfg over .env)',
        find: 'if (taken === undefined) {',
        replace: 'if (taken === undefined || taken !== value) {',
      },
    ],
  },
  {
    file: 'scripts/commands/common.ts',
    tests: ['test/settings-precedence.test.ts'],
    mutations: [
      {
        rule: '--config dwh.cfg wins over .env',
        find: 'files.push({ file: args.envFile, settings: fromEnvFile });',
        replace: 'files.unshift({ file: args.envFile, settings: fromEnvFile });',
      },
      {
        rule: 'SPARKIFY_CONFIG set in .env is read',
        find: "nonEmpty(process.env['SPARKIFY_CONFIG']) ?? nonEmpty(fromEnvFile['SPARKIFY_CONFIG'])",
        replace: "nonEmpty(process.env['SPARKIFY_CONFIG'])",
      },
      {
        rule: '--schema wins over WAREHOUSE_SCHEMA',
        find: 'withSchema(loadConfig(process.env), args.schema)',
        replace: "withSchema(loadConfig(process.env), process.env['WAREHOUSE_SCHEMA'] ?? args.schema)",
      },
    ],
  },
  // Migrations.
  {
    file: 'lib/migrate/checksums.ts',
    tests: ['test/migrate-checksums.test.ts'],
    mutations: [
      {
        rule: 'line endings are normalised (a CRLF checkout is unchanged)',
        find: "source.replace(/\\r\\n/g, '\\n')",
        replace: 'source',
      },
      {
        rule: 'an applied migration without a file is missing',
        find: "if (now === undefined) return 'missing';",
        replace: "if (now === undefined) return 'unrecorded';",
      },
      { rule: 'a changed file is changed', find: "return then === now ? 'ok' : 'changed';", replace: "return 'ok';" },
      {
        rule: 'the checksum is recorded when a migration is applied',
        find: 'return applied && checksum !== undefined ? recordChecksumSql(name, checksum, dialect) : [forgetChecksumSql(name)];',
        replace: 'return [forgetChecksumSql(name)];',
      },
    ],
  },
  {
    file: 'lib/migrate/migrate.ts',
    tests: ['test/migrate-checksums.test.ts', 'test/existing-tables.test.ts'],
    match: ['*edited after it was applied*', '*warehouse schema*'],
    mutations: [
      {
        rule: 'an applied migration whose file is missing stops migrate up',
        find: "s.state === 'changed' || s.state === 'missing'",
        replace: "s.state === 'changed'",
      },
      {
        rule: "pre-existing tables are looked up in the warehouse's schema",
        find: 'findExistingTables(conn, db.schema, pending)',
        replace: "findExistingTables(conn, 'public', pending)",
      },
    ],
  },
  // The run record.
  {
    file: 'lib/load/run-record.ts',
    tests: ['test/run-record.test.ts'],
    mutations: [
      {
        rule: 'skipped_records counts every skipped record',
        find: 'skippedRecords: this.skipped.length,',
        replace: 'skippedRecords: this.skipped.slice(0, SKIPPED_KEPT).length,',
      },
      {
        rule: 'the first 20 skipped records are kept',
        find: 'skipped: this.skipped.slice(0, SKIPPED_KEPT),',
        replace: 'skipped: this.skipped,',
      },
      {
        rule: 'a duration read back is end − start',
        find: '(Date.parse(endedAt) - Date.parse(startedAt)) / 1000',
        replace: '(Date.parse(startedAt) - Date.parse(endedAt)) / 1000',
      },
      {
        rule: "a run's duration is end − start",
        find: '(this.endedAt.getTime() - this.startedAt.getTime()) / 1000',
        replace: '(this.startedAt.getTime() - this.endedAt.getTime()) / 1000',
      },
      {
        rule: "a long error is cut to its column's bytes",
        find: 's.error === null ? null : fitBytes(s.error, COLUMN_BYTES.error)',
        replace: 's.error',
      },
      {
        rule: 'the cut text with its ellipsis fits the bytes',
        find: 'bytes - Buffer.byteLength(ELLIPSIS)',
        replace: 'bytes - 1',
      },
    ],
  },
  // Lock, guard, signals, retries.
  {
    file: 'lib/db/lock.ts',
    tests: ['test/lock-signals.test.ts'],
    mutations: [
      {
        rule: 'the keep-alive runs every 5 s',
        find: 'const KEEP_ALIVE_MS = 5_000;',
        replace: 'const KEEP_ALIVE_MS = 5_000_000;',
      },
      {
        rule: 'the keep-alive stops with the lock',
        find: '    clearInterval(keepAlive);\n    releasing = true;',
        replace: '    releasing = true;',
      },
      {
        rule: 'the lock is released (COMMIT) when the work ends',
        find: 'await client.query(LOCK_STATEMENTS.release).catch(() => undefined);',
        replace: 'await Promise.resolve();',
      },
    ],
  },
  {
    file: 'lib/load/guard.ts',
    tests: ['test/lock-signals.test.ts'],
    mutations: [
      {
        rule: 'the guard refuses to go on once a signal has arrived',
        find: '    if (isInterruptReason(reason)) throw new InterruptedError(reason.why, reason.exitCode);\n    this.lock.assertHeld();',
        replace: '    void reason;\n    this.lock.assertHeld();',
      },
      {
        rule: 'each step asks the guard before it starts',
        find: '    this.check();\n    this.running.add(name);',
        replace: '    this.running.add(name);',
      },
      {
        rule: 'what a stopped load says names the steps not started',
        find: '!this.committed.includes(s) && !this.rolledBack.includes(s)',
        replace: '!this.rolledBack.includes(s)',
      },
      {
        rule: 'a step that failed on its own is named as rolled back',
        find: '      if (!this.rolledBack.includes(name)) this.rolledBack.push(name);\n',
        replace: '',
      },
      {
        rule: 'a warehouse that stopped answering is a transport failure, not a lost lock',
        find: '    if (unreachable !== undefined)\n',
        replace: '    if (unreachable === "never")\n',
      },
    ],
  },
  {
    file: 'lib/interrupt.ts',
    tests: ['test/lock-signals.test.ts'],
    mutations: [
      {
        rule: 'a second signal exits at once',
        find: '        process.exit(exitCode);',
        replace: '        void exitCode;',
      },
      { rule: 'the watch on the parent starts', find: 'if (parent <= 1) return;', replace: 'if (parent >= 1) return;' },
      { rule: 'SIGINT exits with 130', find: 'SIGINT: 130,', replace: 'SIGINT: 1,' },
    ],
  },
  {
    file: 'lib/db/retry.ts',
    tests: ['test/retry.test.ts'],
    mutations: [
      { rule: 'a deadlock (40P01) is transient', find: "  '40P01',\n", replace: '' },
      { rule: 'a connection failure (08006) is transient', find: "  '08006',\n", replace: '' },
      { rule: 'backoff is exponential', find: 'base * 2 ** (attempt - 1)', replace: 'base * attempt' },
      {
        rule: 'a step is tried `attempts` times, no more',
        find: 'if (attempt >= attempts ||',
        replace: 'if (attempt > attempts ||',
      },
      {
        rule: 'a refused statement (SqlError) is judged by what the server said',
        find: 'if (err instanceof SqlError) return isTransient(err.cause, engine);',
        replace: 'if (err instanceof SqlError) return false;',
      },
    ],
  },
  {
    file: 'lib/dialect/redshift/dialect.ts',
    tests: ['test/retry.test.ts', 'test/data-api.test.ts'],
    match: ['*1023*', '*backoff*', 'migrate up, load, verify through the Data API*'],
    mutations: [
      {
        rule: 'songplay_id is an IDENTITY column on Redshift',
        find: "const identity = c.identity ? ' IDENTITY(0, 1)' : '';",
        replace: "const identity = '';",
      },
      {
        rule: 'a KEY-distributed table names its DISTKEY',
        find: "d.style === 'key' ? `DISTSTYLE KEY DISTKEY (${d.key})`",
        replace: "d.style === 'key' ? `DISTSTYLE EVEN`",
        left: 'distribution changes where rows are stored, never a result: no engine here can observe it (the Data API stand-in drops DISTSTYLE/DISTKEY). The rendered DDL is checked by the snapshot and sqlfluff tests of test/redshift-ddl.test.ts; a real cluster by hand (SVV_TABLE_INFO.diststyle)',
      },
      {
        rule: "Redshift's error 1023 is transient (as the wire protocol gives it: the number alone)",
        find: '/Serializable isolation violation|\\b1023\\b/i',
        replace: '/Serializable isolation violation/i',
      },
      {
        rule: "Redshift's serializable isolation violation is transient (as the Data API gives it: the words)",
        find: "typeof err.message === 'string' && /Serializable",
        replace: "typeof err.message === 'string' && /^Serializable",
      },
    ],
  },
  {
    file: 'lib/db/data-api-connection.ts',
    tests: ['test/data-api-sdk.test.ts'],
    mutations: [
      {
        rule: 'COMMIT ends the transaction of a Data API session',
        find: "command === 'COMMIT' || command === 'ROLLBACK'",
        replace: "command === 'ROLLBACK'",
      },
      { rule: 'BEGIN starts one', find: "if (command === 'BEGIN' || /^\\s*START", replace: 'if (/^\\s*START' },
      {
        rule: 'SET statements outside a transaction are replayed in a new session',
        find: "if (command === 'SET' && !inTransaction) settings.push(text);",
        replace: '',
      },
    ],
  },
  // Ledger and staging.
  {
    file: 'lib/stage/ledger.ts',
    tests: ['test/ledger-rules.test.ts'],
    mutations: [
      {
        rule: "only 'loaded' records count as loaded",
        find: "WHERE table_name = $1 AND status = 'loaded'`",
        replace: 'WHERE table_name = $1`',
      },
      {
        rule: 'a changed ETag or mtime makes an object changed',
        find: "`${o.size}:${o.version}:${mapping ?? ''}`;",
        replace: "`${o.size}:${mapping ?? ''}`;",
      },
      {
        rule: 'a changed mapping makes an object changed (issue 26, item 3)',
        find: "`${o.size}:${o.version}:${mapping ?? ''}`;",
        replace: '`${o.size}:${o.version}`;',
      },
      {
        rule: "a run's own records are not deleted as older ones",
        find: 'WHERE cur.run_id = $1 AND ${LEDGER_TABLE}.run_id <> $1',
        replace: 'WHERE cur.run_id = $1',
      },
    ],
  },
  {
    file: 'lib/load/runner.ts',
    tests: ['test/ledger-rules.test.ts'],
    mutations: [
      {
        rule: 'a partial run (--only) records no object',
        find: 'const recordsLedger = staging.length > 0 && transforms.length === pipeline.transforms.length;',
        replace: 'const recordsLedger = staging.length > 0;',
      },
    ],
  },
  {
    file: 'lib/stage/checks.ts',
    tests: ['test/stage-null-probe.test.ts'],
    mutations: [
      {
        rule: "the Redshift probe counts each column's non-NULL values",
        find: '`COUNT(${c}) AS c${i}`',
        replace: '`COUNT(*) AS c${i}`',
      },
      {
        rule: 'the PostgreSQL probe asks for a non-NULL value',
        find: 'WHERE ${c} IS NOT NULL) AS c${i}',
        replace: 'WHERE ${c} IS NULL) AS c${i}',
      },
      {
        rule: 'each empty column is named, not only the first',
        find: 'const lines = empty.map(',
        replace: 'const lines = empty.slice(0, 1).map(',
      },
    ],
  },
  {
    file: 'lib/stage/epoch-ms.ts',
    tests: ['test/staging-values.test.ts'],
    mutations: [
      {
        rule: 'the lowest accepted ts is 1 January 4713 BC',
        find: 'Date.UTC(-4712, 0, 1)',
        replace: 'Date.UTC(-4711, 0, 1)',
      },
      {
        rule: 'the highest accepted ts is 2^53 − 1',
        find: 'Number.MAX_SAFE_INTEGER]',
        replace: 'Number.MAX_SAFE_INTEGER - 1]',
      },
    ],
  },
  {
    file: 'lib/stage/postgres/flat-json-records.ts',
    tests: ['test/staging-values.test.ts', 'test/staging-copy-text.test.ts'],
    mutations: [
      {
        rule: '\\/ is decoded by the fast path',
        find: 'if (x === QUOTE || x === SLASH) buf[at++] = x;',
        replace: 'if (x === QUOTE) buf[at++] = x;',
        equivalent:
          'the fast path then writes \\/ to the COPY text, which COPY reads as / (a backslash before a character with no meaning of its own is that character): the same value is stored (test/staging-copy-text.test.ts passes either way)',
      },
      {
        rule: '\\" is decoded by the fast path',
        find: 'if (x === QUOTE || x === SLASH) buf[at++] = x;',
        replace: 'if (x === SLASH) buf[at++] = x;',
        equivalent: 'as for \\/: COPY text reads \\" as " (test/staging-copy-text.test.ts)',
      },
      {
        rule: 'an integer at the low end of its range is copied by the fast path',
        find: 'if (n >= (lo[col] as number) && n <= (hi[col] as number)) {',
        replace: 'if (n > (lo[col] as number) && n <= (hi[col] as number)) {',
        equivalent:
          'a field the fast path does not copy goes to the general conversion (toCopyField), which accepts the same range: the same row, a little slower (test/staging-values.test.ts compares both paths at the range ends)',
      },
      {
        rule: 'trailing blanks of a string are dropped on the fast path too',
        find: 'if (done) while (at > textStart && buf[at - 1] === SPACE) at -= 1;',
        replace: '',
      },
    ],
  },
  // Sources and the report.
  {
    file: 'lib/sources/source-objects.ts',
    tests: ['test/source-uris.test.ts'],
    mutations: [
      {
        rule: 'an s3:// JSONPaths URI names one object, not a prefix',
        find: 'isS3Uri(uri) ? listed.filter((o) => o.uri === uri) : listed',
        replace: 'listed',
      },
    ],
  },
  {
    file: 'lib/report/page/html.ts',
    tests: ['test/report.test.ts'],
    match: ['*loaded period*'],
    mutations: [
      {
        rule: 'the plays period ends on its last day',
        find: '`${days[0]} to ${days[days.length - 1]} (UTC)`',
        replace: '`${days[0]} to ${days[0]} (UTC)`',
      },
      {
        rule: 'the match rate is a percentage',
        find: 'const rate = plays === 0 ? 0 : (100 * matched) / plays;',
        replace: 'const rate = plays === 0 ? 0 : matched / plays;',
      },
    ],
  },
  // Loaders: the transform rules, on loaded fixtures.
  {
    file: 'loaders/users.ts',
    tests: ['test/load-rules.test.ts', 'test/tie-break-across-runs.test.ts'],
    mutations: [
      {
        rule: "a user's row comes from the latest event in a session (highest itemInSession)",
        find: "{ column: 'last_event_item_in_session', source: 'e.item_in_session', descending: true },",
        replace: "{ column: 'last_event_item_in_session', source: 'e.item_in_session' },",
      },
      {
        rule: 'a load of older events never moves a user back',
        find: "[{ column: 'last_event_ts', descending: true }, ...TIE_BREAK]",
        replace: "[{ column: 'last_event_ts' }, ...TIE_BREAK]",
      },
      {
        rule: 'a tie across runs is decided as in one full load (the stored larger itemInSession stays)',
        find: "[{ column: 'last_event_ts', descending: true }, ...TIE_BREAK]",
        replace: "[{ column: 'last_event_ts', descending: true }]",
      },
      {
        rule: 'an event without ts never wins over one with a ts',
        find: 'AND (latest.ts = e.ts OR (latest.ts IS NULL AND e.ts IS NULL))',
        replace: 'AND (latest.ts = e.ts OR e.ts IS NULL)',
      },
    ],
  },
  {
    file: 'loaders/songplays.ts',
    tests: ['test/load-rules.test.ts', 'test/tie-break-across-runs.test.ts'],
    mutations: [
      {
        rule: 'durations match within 0.01 s',
        find: 'ABS(s.duration - e.event_length) <= 0.01',
        replace: 'ABS(s.duration - e.event_length) <= 0.5',
      },
      {
        rule: 'an event matches a song of its own artist',
        find: '        AND s.artist_name = e.event_artist\n',
        replace: '\n',
      },
      {
        rule: 'several matching songs: the smallest song_id',
        find: "{ column: 'song_id', source: 's.song_id' },",
        replace: "{ column: 'song_id', source: 's.song_id', descending: true },",
      },
      {
        rule: 'a later duplicate with an unmatched song never replaces a matched play',
        find: "    AND ${ranksBefore(RANKING, 'songplays', 'songplays_batch')}",
        replace: '    AND FALSE',
      },
    ],
  },
  {
    file: 'loaders/user-levels.ts',
    tests: ['test/user-levels.test.ts'],
    match: ['PostgreSQL: intervals*'],
    mutations: [
      {
        rule: 'every page says the level, not only NextSong',
        find: '    AND e.level IS NOT NULL`;',
        replace: "    AND e.level IS NOT NULL\n    AND e.page = 'NextSong'`;",
      },
      {
        rule: "a late file recomputes the touched users from all their events, not the run's alone",
        find: 'FROM ${STORE} AS k',
        replace: 'FROM staging_events AS k',
      },
      {
        rule: "valid_to is the next interval's valid_from",
        find: 'LEAD(valid_from) OVER',
        replace: 'LAG(valid_from) OVER',
      },
      {
        rule: 'events at one ts: the last (largest itemInSession) gives the level',
        find: 'ORDER BY k.item_in_session DESC NULLS LAST',
        replace: 'ORDER BY k.item_in_session NULLS LAST',
      },
    ],
  },
  {
    file: 'loaders/songplay-events.ts',
    tests: ['test/load-rules.test.ts'],
    mutations: [
      { rule: 'songplays only from NextSong', find: "e.page = 'NextSong'", replace: "e.page <> 'Home'" },
      {
        rule: 'start_time keeps the milliseconds',
        find: " + (${column} % 1000) * INTERVAL '1 millisecond'",
        replace: '',
      },
      {
        rule: 'a logged-out event (no userId) is no songplay',
        find: '        AND e.user_id IS NOT NULL\n',
        replace: '\n',
      },
    ],
  },
  {
    file: 'loaders/songs.ts',
    tests: ['test/load-rules.test.ts', 'test/transform-ranking.test.ts'],
    mutations: [
      { rule: 'year 0 is NULL', find: 'NULLIF(year, 0) AS year', replace: 'year' },
      {
        rule: 'songs without a song_id are left out',
        find: "WHERE song_id IS NOT NULL AND song_id <> ''",
        replace: 'WHERE song_id IS NOT NULL',
      },
      {
        rule: 'one row per song_id whatever the file order',
        find: "  { column: 'title' },\n",
        replace: '',
      },
      {
        rule: 'a stored song that ranks first stays (split deliveries converge)',
        find: "    AND ${ranksBefore(RANKING, 'songs', 'songs_batch')}",
        replace: '    AND FALSE',
        left: 'only a later run can tell: test/convergence.test.ts (in npm test, minutes long, not run for each mutant) fails on it',
      },
    ],
  },
  {
    file: 'loaders/artists.ts',
    tests: ['test/load-rules.test.ts', 'test/transform-ranking.test.ts'],
    mutations: [
      {
        rule: 'artists without an artist_id are left out',
        find: "WHERE artist_id IS NOT NULL AND artist_id <> ''",
        replace: 'WHERE artist_id IS NOT NULL',
      },
      {
        rule: 'an empty location is NULL',
        find: '${LOCATION} AS location',
        replace: 'artist_location AS location',
      },
      {
        rule: 'a record with a location outranks one without',
        find: 'source: `CASE WHEN ${LOCATION} IS NULL THEN 1 ELSE 0 END`,',
        replace: 'source: `CASE WHEN ${LOCATION} IS NULL THEN 0 ELSE 1 END`,',
      },
      {
        rule: 'coordinates break the tie',
        find: "source: 'CASE WHEN artist_latitude IS NULL OR artist_longitude IS NULL THEN 1 ELSE 0 END',",
        replace: "source: '0',",
      },
      {
        rule: 'a stored artist that ranks first stays (an artist spelled two ways across runs)',
        find: "    AND ${ranksBefore(RANKING, 'artists', 'artists_batch')}",
        replace: '    AND FALSE',
        left: 'only a later run can tell: test/convergence.test.ts (in npm test, minutes long, not run for each mutant) fails on it',
      },
    ],
  },
  {
    file: 'loaders/time.ts',
    tests: ['test/load-rules.test.ts'],
    match: ['*time parts*', '*300 ms apart*'],
    mutations: [
      { rule: 'weekday 0 is Sunday', find: "${part('dow')}", replace: "${part('isodow')}" },
      {
        rule: 'weeks are ISO weeks',
        find: "${part('week')}",
        replace: "CAST(TO_CHAR(new_times.start_time, 'WW') AS INTEGER)",
      },
    ],
  },
  {
    file: 'loaders/stage-events.ts',
    tests: ['test/load-errors.test.ts'],
    match: ['*outside the TIMESTAMP range*'],
    mutations: [
      {
        rule: 'a ts no TIMESTAMP holds is refused at staging',
        find: "epochMsColumns: ['ts'],",
        replace: 'epochMsColumns: [],',
      },
    ],
  },
];

/** The source with the mutation applied; throws when its text is not found exactly once (the list no longer fits the code). */
export function applyMutation(source: string, m: Mutation, file: string): string {
  const at = source.indexOf(m.find);
  if (at === -1 || source.indexOf(m.find, at + 1) !== -1) {
    throw new Error(
      `${file}: the mutation "${m.rule}" expects its text exactly once, found it ${at === -1 ? 'nowhere' : 'more than once'}: update test/support/mutations.ts`,
    );
  }
  return source.slice(0, at) + m.replace + source.slice(at + m.find.length);
}
