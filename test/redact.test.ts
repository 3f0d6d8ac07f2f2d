// Redaction, one layer at a time (lib/redact.ts): the values registered as
// secret are masked wherever they appear in a line, and the patterns mask
// credentials nobody registered. Each case has a control line showing that
// the other layer alone would not have masked it.
import test from 'ava';
import { loadConfig } from '../lib/config/config.ts';
import { ConfigError } from '../lib/errors.ts';
import { redactPatterns, Secrets } from '../lib/redact.ts';

/** The secrets a command registers from its settings (scripts/commands/common.ts: setup). */
function secretsOf(env: Record<string, string>): Secrets {
  const secrets = new Secrets();
  secrets.add(...loadConfig(env).secrets);
  return secrets;
}

test('a registered value is masked anywhere in a line: alone, at either end, glued to other text, quoted, repeated', (t) => {
  const secrets = new Secrets();
  const secret = 'Reg1stered-Value-Alpha';
  secrets.add(secret);
  const lines: [string, string][] = [
    [secret, '***'],
    [`${secret} was refused`, '*** was refused'],
    [`error: the server refused ${secret}`, 'error: the server refused ***'],
    [`x${secret}y`, 'x***y'],
    [`{"token":"${secret}"}`, '{"token":"***"}'],
    [`${secret}, then ${secret} again`, '***, then *** again'],
  ];
  for (const [line, masked] of lines) t.is(secrets.redact(line), masked, line);
  // Control: no pattern masks these lines, so the registration did.
  for (const [line] of lines) t.is(redactPatterns(line), line, `control: ${line}`);
});

test('the settings register the database password of DATABASE_URL, decoded and as written; it is masked outside any URL', (t) => {
  const secrets = secretsOf({ DATABASE_URL: 'postgres://admin:Db-Pass%2Fword-Beta@db.example.invalid:5432/dev' });
  t.is(secrets.redact('password authentication failed: Db-Pass/word-Beta'), 'password authentication failed: ***');
  t.is(secrets.redact('the URL held Db-Pass%2Fword-Beta'), 'the URL held ***');
  // Control: an unregistered value in the same line stays.
  t.is(
    secrets.redact('password authentication failed: Other-Pass-Beta'),
    'password authentication failed: Other-Pass-Beta',
  );
});

test('a DATABASE_URL the settings refuse still has its password masked in the problems reported', (t) => {
  // IAM_ROLE_ARN's problem quotes its value, which holds the database password.
  const e = t.throws(
    () =>
      loadConfig({
        DATABASE_URL: 'mysql://root:My-Sql-Pass-Beta@db.example.invalid/y',
        IAM_ROLE_ARN: 'arn:My-Sql-Pass-Beta',
      }),
    { instanceOf: ConfigError },
  );
  t.regex(e?.message ?? '', /IAM_ROLE_ARN/);
  t.false(e?.message.includes('My-Sql-Pass-Beta'), e?.message);
});

test('the settings register PGPASSWORD and the AWS secret key and session token', (t) => {
  const secrets = secretsOf({
    PGHOST: 'db.example.invalid',
    PGPASSWORD: 'Pg-Env-Pass-Gamma',
    AWS_SECRET_ACCESS_KEY: 'Aws-Secret-Key-Gamma',
    AWS_SESSION_TOKEN: 'Aws-Session-Token-Gamma',
  });
  t.is(secrets.redact('Pg-Env-Pass-Gamma Aws-Secret-Key-Gamma Aws-Session-Token-Gamma'), '*** *** ***');
});

test('an unregistered password in scheme://user:password@host is masked by the pattern, the rest of the URL kept', (t) => {
  const password = 'Never-Registered-Delta';
  const urls: [string, string][] = [
    [`postgres://admin:${password}@db.example.invalid:5432/dev`, 'postgres://admin:***@db.example.invalid:5432/dev'],
    [
      `connecting to postgresql://awsuser:${password}@cluster.abc.us-west-2.redshift.amazonaws.com:5439/dev?sslmode=require failed`,
      'connecting to postgresql://awsuser:***@cluster.abc.us-west-2.redshift.amazonaws.com:5439/dev?sslmode=require failed',
    ],
    [`mysql://root:${password}@x/y`, 'mysql://root:***@x/y'],
    [`"https://u:${password}@example.invalid/"`, '"https://u:***@example.invalid/"'],
  ];
  const none = new Secrets();
  for (const [line, masked] of urls) {
    t.is(redactPatterns(line), masked, line);
    t.is(none.redact(line), masked, `with no registered secret: ${line}`);
  }
  // Control: the same value outside a URL is not registered, so only the pattern masks it.
  t.is(none.redact(password), password);
});

test('the other patterns: COPY credential clauses, CREDENTIALS strings and password= in key/value strings, unregistered', (t) => {
  t.is(
    redactPatterns(
      "ACCESS_KEY_ID 'AKIAUNREGISTERED0001'\nSECRET_ACCESS_KEY 'Unreg-Secret-Epsilon'\nSESSION_TOKEN 'Unreg-Token-Epsilon'",
    ),
    "ACCESS_KEY_ID '***'\nSECRET_ACCESS_KEY '***'\nSESSION_TOKEN '***'",
  );
  t.is(
    redactPatterns(
      "CREDENTIALS 'aws_access_key_id=AKIAUNREG;aws_secret_access_key=Unreg-Secret-Epsilon;token=Unreg-Token-Epsilon'",
    ),
    "CREDENTIALS 'aws_access_key_id=***;aws_secret_access_key=***;token=***'",
  );
  t.is(
    redactPatterns('host=db.example.invalid password=Unreg-Kv-Pass-Epsilon dbname=dev'),
    'host=db.example.invalid password=*** dbname=dev',
  );
  t.is(redactPatterns('Unreg-Secret-Epsilon'), 'Unreg-Secret-Epsilon', 'control: a bare value is not a pattern');
});

test('both layers: a registered password inside a URL and on its own in one line', (t) => {
  const secrets = secretsOf({ DATABASE_URL: 'postgres://admin:Both-Layers-Zeta@db.example.invalid:5432/dev' });
  t.is(
    secrets.redact('postgres://admin:Both-Layers-Zeta@db.example.invalid:5432/dev: password Both-Layers-Zeta refused'),
    'postgres://admin:***@db.example.invalid:5432/dev: password *** refused',
  );
});
