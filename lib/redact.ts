/**
 * Masks secrets in any text before it reaches stdout, stderr or an error message.
 * Two layers: patterns that look like credentials (COPY credential clauses,
 * passwords in connection strings), and the exact values registered as secret
 * at run time (the database password, AWS secret key and session token).
 */

const MASK = '***';
const registered = new Set<string>();

/** Remember a secret value so that it is masked wherever it appears. */
export function registerSecret(value: string | undefined | null): void {
  if (value && value.length >= 4) registered.add(value);
}

const PATTERNS: readonly [RegExp, string][] = [
  // COPY … ACCESS_KEY_ID '…' SECRET_ACCESS_KEY '…' SESSION_TOKEN '…'
  [/\b(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN)(\s+)'[^']*'/gi, `$1$2'${MASK}'`],
  // CREDENTIALS 'aws_access_key_id=…;aws_secret_access_key=…;token=…'
  [/\b(aws_secret_access_key|token|aws_access_key_id)=[^;'\s]*/gi, `$1=${MASK}`],
  // scheme://user:password@host
  [/\b([a-z][a-z0-9+.-]*:\/\/[^:/@\s]+:)[^@\s]+@/gi, `$1${MASK}@`],
  // password=… in key/value connection strings
  [/\b(password\s*=\s*)[^\s;&]+/gi, `$1${MASK}`],
];

export function redact(text: string): string {
  let out = text;
  for (const [re, replacement] of PATTERNS) out = out.replace(re, replacement);
  for (const secret of registered) out = out.split(secret).join(MASK);
  return out;
}
