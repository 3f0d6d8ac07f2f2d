// Opt-in: the same migrate and load against a real Redshift when
// TEST_REDSHIFT_URL is set (with IAM_ROLE_ARN or AWS credentials for COPY and
// the sources in LOG_DATA / SONG_DATA / LOG_JSONPATH, default Sparkify's bucket).
// It cannot run here; it must still type-check.
import test from 'ava';
import { pipeline } from '../loaders/index.ts';
import { loadConfig } from '../lib/config/config.ts';
import { openDatabase } from '../lib/db/database.ts';
import { runLoad } from '../lib/load/runner.ts';
import { createLogger } from '../lib/log.ts';
import { migrate } from '../lib/migrate/migrate.ts';

const url = process.env['TEST_REDSHIFT_URL'];
const run = url ? test.serial : test.serial.skip;
const title = (t: string) => (url ? t : `${t} (skipped: TEST_REDSHIFT_URL not set)`);

run(title('Redshift: migrate up, load twice, identical counts'), async (t) => {
  const config = loadConfig({ ...process.env, DATABASE_URL: url ?? '' });
  const log = createLogger({ quiet: true });
  const db = await openDatabase(config, log);
  try {
    t.is(db.dialect.name, 'redshift');
    await migrate(db, { direction: 'up', log });
    const first = await runLoad(db, { config, log, pipeline });
    const second = await runLoad(db, { config, log, pipeline });
    t.deepEqual(second.steps.map((s) => [s.table, s.rows]), first.steps.map((s) => [s.table, s.rows]));
  } finally {
    await db.close();
  }
});
