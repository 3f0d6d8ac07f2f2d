// Which setting wins, seen in the command line's real output (a Redshift dry
// run prints the IAM_ROLE and the schema it would use): the environment, then
// the dwh.cfg named by --config or SPARKIFY_CONFIG (also when SPARKIFY_CONFIG
// is set in .env), then .env; and the --schema flag over WAREHOUSE_SCHEMA.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { runCli } from './helpers/cli.ts';
import { tempDir } from './helpers/temp-dir.ts';

const role = (name: string) => `arn:aws:iam::123456789012:role/${name}`;
/** The IAM_ROLE clauses a Redshift load's dry run prints (one per COPY). */
const rolesIn = (sql: string) => [...new Set([...sql.matchAll(/IAM_ROLE '([^']+)'/g)].map((m) => m[1]))];

async function files(t: import('ava').ExecutionContext, envFile: string) {
  const dir = await tempDir(t, 'sparkify-settings-');
  const cfg = path.join(dir, 'dwh.cfg');
  await writeFile(
    cfg,
    `[CLUSTER]\nHOST=redshift.example.com\nDB_NAME=dev\nDB_USER=loader\nDB_PASSWORD=Cfg-pw-1\nDB_PORT=5439\n[IAM_ROLE]\nARN=${role('from-dwh-cfg')}\n`,
  );
  const env = path.join(dir, '.env');
  await writeFile(env, envFile.replace('CFG', cfg));
  return { cfg, env };
}

test('--config dwh.cfg wins over .env; the environment wins over both', async (t) => {
  const { cfg, env } = await files(t, `IAM_ROLE_ARN=${role('from-env-file')}\n`);
  const r = await runCli(['load', '--dry-run', '--dialect', 'redshift', '--config', cfg], {}, { envFile: env });
  t.is(r.code, 0, r.stderr);
  t.deepEqual(rolesIn(r.stdout), [role('from-dwh-cfg')]);
  t.regex(r.stderr, /IAM_ROLE_ARN is set in both .*dwh\.cfg and .*\.env: .*dwh\.cfg's value is used/);
  const fromEnv = await runCli(
    ['load', '--dry-run', '--dialect', 'redshift', '--config', cfg],
    { IAM_ROLE_ARN: role('from-environment') },
    { envFile: env },
  );
  t.is(fromEnv.code, 0, fromEnv.stderr);
  t.deepEqual(rolesIn(fromEnv.stdout), [role('from-environment')]);
});

test('SPARKIFY_CONFIG set in .env names the dwh.cfg to read, which then wins over .env', async (t) => {
  const { env } = await files(t, `SPARKIFY_CONFIG=CFG\nIAM_ROLE_ARN=${role('from-env-file')}\n`);
  const r = await runCli(['load', '--dry-run', '--dialect', 'redshift'], {}, { envFile: env });
  t.is(r.code, 0, r.stderr);
  t.deepEqual(rolesIn(r.stdout), [role('from-dwh-cfg')]);
});

test('the --schema flag wins over WAREHOUSE_SCHEMA', async (t) => {
  const r = await runCli(['migrate', 'up', '--dry-run', '--dialect', 'redshift', '--schema', 'from_flag'], {
    WAREHOUSE_SCHEMA: 'from_setting',
  });
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /\bfrom_flag\b/);
  t.notRegex(r.stdout, /from_setting/);
  const setting = await runCli(['migrate', 'up', '--dry-run', '--dialect', 'redshift'], {
    WAREHOUSE_SCHEMA: 'from_setting',
  });
  t.regex(setting.stdout, /\bfrom_setting\b/, 'without the flag, the setting is used');
});
