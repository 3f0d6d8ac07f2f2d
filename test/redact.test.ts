// Redaction, one layer at a time (lib/redact.ts): the values registered as
// secret are masked wherever they appear in a line, and the patterns mask
// credentials nobody registered. Each test uses values of its own, never
// registered elsewhere in this file, so that one layer cannot cover for the
// other: a control line shows the other layer alone would not have masked it.
import test from 'ava';
import { loadConfig } from '../lib/config.ts';
import { ConfigError } from '../lib/errors.ts';
import { redact, registerSecret } from '../lib/redact.ts';

test('a registered value is masked anywhere in a line: alone, at either end, glued to other text, quoted, repeated', (t) => {
  const secret = 'Reg1stered-Value-Alpha';
  registerSecret(secret);
  const lines: [string, string][] = [
    [secret, '***'],
    [`${secret} was refused`, '*** was refused'],
    [`error: the server refused ${secret}`, 'error: the server refused ***'],
    [`x${secret}y`, 'x***y'],
    [`{"token":"${secret}"}`, '{"token":"***"}'],
    [`${secret}, then ${secret} again`, '***, then *** again'],
  ];
  for (const [line, masked] of lines) t.is(redact(line), masked, line);
  // Control: no pattern masks these lines, so the registration did.
  t.is(redact('error: the server refused Unregistered-Value-Alpha'), 'error: the server refused Unregistered-Value-Alpha');
});

test('the database password in DATABASE_URL is registered, decoded and as written, and masked outside any URL', (t) => {
  loadConfig({ DATABASE_URL: 'postgres://admin:Db-Pass%2Fword-Beta@db.example.invalid:5432/dev' });
  t.is(redact('password authentication failed: Db-Pass/word-Beta'), 'password authentication failed: ***');
  t.is(redact('the URL held Db-Pass%2Fword-Beta'), 'the URL held ***');
  // Even a URL the settings refuse has its password registered before the refusal is reported.
  t.throws(() => loadConfig({ DATABASE_URL: 'mysql://root:My-Sql-Pass-Beta@db.example.invalid/y' }), { instanceOf: ConfigError });
  t.is(redact('My-Sql-Pass-Beta'), '***');
  // Control: an unregistered value in the same line stays.
  t.is(redact('password authentication failed: Other-Pass-Beta'), 'password authentication failed: Other-Pass-Beta');
});

test('PGPASSWORD and the AWS secret key and session token are registered by the settings', (t) => {
  loadConfig({ PGHOST: 'db.example.invalid', PGPASSWORD: 'Pg-Env-Pass-Gamma', AWS_SECRET_ACCESS_KEY: 'Aws-Secret-Key-Gamma', AWS_SESSION_TOKEN: 'Aws-Session-Token-Gamma' });
  t.is(redact('Pg-Env-Pass-Gamma Aws-Secret-Key-Gamma Aws-Session-Token-Gamma'), '*** *** ***');
});

test('an unregistered password in scheme://user:password@host is masked by the pattern, the rest of the URL kept', (t) => {
  const password = 'Never-Registered-Delta';
  const urls: [string, string][] = [
    [`postgres://admin:${password}@db.example.invalid:5432/dev`, 'postgres://admin:***@db.example.invalid:5432/dev'],
    [`connecting to postgresql://awsuser:${password}@cluster.abc.us-west-2.redshift.amazonaws.com:5439/dev?sslmode=require failed`,
      'connecting to postgresql://awsuser:***@cluster.abc.us-west-2.redshift.amazonaws.com:5439/dev?sslmode=require failed'],
    [`mysql://root:${password}@x/y`, 'mysql://root:***@x/y'],
    [`"https://u:${password}@example.invalid/"`, '"https://u:***@example.invalid/"'],
  ];
  for (const [line, masked] of urls) t.is(redact(line), masked, line);
  // Control: the same value outside a URL is not registered, so only the pattern masks it.
  t.is(redact(password), password);
});

test('the other patterns: COPY credential clauses, CREDENTIALS strings and password= in key/value strings, unregistered', (t) => {
  t.is(
    redact("ACCESS_KEY_ID 'AKIAUNREGISTERED0001'\nSECRET_ACCESS_KEY 'Unreg-Secret-Epsilon'\nSESSION_TOKEN 'Unreg-Token-Epsilon'"),
    "ACCESS_KEY_ID '***'\nSECRET_ACCESS_KEY '***'\nSESSION_TOKEN '***'",
  );
  t.is(redact("CREDENTIALS 'aws_access_key_id=AKIAUNREG;aws_secret_access_key=Unreg-Secret-Epsilon;token=Unreg-Token-Epsilon'"), "CREDENTIALS 'aws_access_key_id=***;aws_secret_access_key=***;token=***'");
  t.is(redact('host=db.example.invalid password=Unreg-Kv-Pass-Epsilon dbname=dev'), 'host=db.example.invalid password=*** dbname=dev');
  t.is(redact('Unreg-Secret-Epsilon'), 'Unreg-Secret-Epsilon', 'control: not registered');
});

test('both layers: a registered password inside a URL and on its own in one line', (t) => {
  loadConfig({ DATABASE_URL: 'postgres://admin:Both-Layers-Zeta@db.example.invalid:5432/dev' });
  t.is(
    redact('postgres://admin:Both-Layers-Zeta@db.example.invalid:5432/dev: password Both-Layers-Zeta refused'),
    'postgres://admin:***@db.example.invalid:5432/dev: password *** refused',
  );
});
