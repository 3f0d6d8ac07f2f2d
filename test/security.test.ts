// Secrets never reach stdout, stderr or error messages; .env stays out of git;
// .env.example holds no secret.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { parseEnvFile } from '../lib/config/env-file.ts';
import { PROJECT_DIR, runCli } from './helpers/cli.ts';
import { migratedDatabase } from './helpers/load.ts';

const SECRET_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzSECRETzz';
const TOKEN = 'IQoJb3JpZ2luX2VjEXAMPLEsessionTOKENzz0123456789';
const DB_PASSWORD = 'pa55-w0rd-NEVER-PRINT';
const AWS = { AWS_ACCESS_KEY_ID: 'AKIAEXAMPLEKEYID0001', AWS_SECRET_ACCESS_KEY: SECRET_KEY, AWS_SESSION_TOKEN: TOKEN };

function assertClean(t: import('ava').ExecutionContext, label: string, output: string): void {
  for (const secret of [SECRET_KEY, TOKEN, DB_PASSWORD, encodeURIComponent(DB_PASSWORD)]) {
    t.false(output.includes(secret), `${label}: no secret in the output`);
  }
}

test('dry runs, failing loads and failing connections never print a secret', async (t) => {
  const tdb = await migratedDatabase();
  t.teardown(() => tdb.drop());
  const withPassword = new URL(tdb.url);
  withPassword.password = DB_PASSWORD;
  const unreachable = `postgres://admin:${DB_PASSWORD}@127.0.0.1:1/dev`;
  const cases: [string, string[], Record<string, string>][] = [
    [
      'redshift dry run',
      ['load', '--dry-run', '--dialect', 'redshift', '--verbose'],
      { ...AWS, DATABASE_URL: unreachable },
    ],
    [
      'migrate dry run',
      ['migrate', 'up', '--dry-run', '--dialect', 'redshift', '--verbose'],
      { ...AWS, DATABASE_URL: unreachable },
    ],
    ['unreachable database', ['load', '--verbose'], { ...AWS, DATABASE_URL: unreachable }],
    ['wrong password', ['verify', '--verbose'], { DATABASE_URL: withPassword.toString() }],
    [
      'unreachable S3',
      ['load', '--verbose'],
      {
        ...AWS,
        DATABASE_URL: tdb.url,
        AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:1',
        LOG_DATA: 's3://some-bucket/log_data',
        SONG_DATA: 's3://some-bucket/song_data',
        LOG_JSONPATH: 'auto',
      },
    ],
    [
      'bad input',
      ['load', '--verbose'],
      { ...AWS, DATABASE_URL: tdb.url, LOG_DATA: '/nonexistent', SONG_DATA: '/nonexistent', LOG_JSONPATH: 'auto' },
    ],
    [
      'bad settings',
      ['migrate', 'status'],
      { ...AWS, DATABASE_URL: `mysql://root:${DB_PASSWORD}@x/y`, IAM_ROLE_ARN: `arn:${SECRET_KEY}` },
    ],
    [
      'a password in a Data API URL',
      ['migrate', 'status', '--format', 'json'],
      { ...AWS, DATABASE_URL: `redshift-data://admin:${DB_PASSWORD}@wg1/dev` },
    ],
  ];
  for (const [label, args, env] of cases) {
    const r = await runCli(args, env, { timeoutMs: 60_000 });
    if (label.endsWith('dry run')) t.is(r.code, 0, `${label}: ${r.stderr}`);
    else t.not(r.code, 0, `${label} fails`);
    assertClean(t, label, r.stdout + r.stderr);
  }
});

test('.env is ignored by git and .env.example holds no secret', (t) => {
  const ignored = execFileSync('git', ['check-ignore', '.env'], { cwd: PROJECT_DIR, encoding: 'utf8' }).trim();
  t.is(ignored, '.env');
  const example = parseEnvFile(readFileSync(path.join(PROJECT_DIR, '.env.example'), 'utf8'));
  for (const name of ['DATABASE_URL', 'PGPASSWORD', 'IAM_ROLE_ARN', 'AWS_PROFILE'])
    t.is(example[name], '', `${name} is empty`);
  for (const [name, value] of Object.entries(example)) {
    t.false(/SECRET|TOKEN|PASSWORD/.test(name) && value !== '', `${name} has no value`);
    t.notRegex(value, /:\/\/[^/]*:[^@]*@/, `${name} holds no password`);
  }
});
