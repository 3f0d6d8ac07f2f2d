/**
 * Masks secrets in any text before it reaches stdout, stderr or an error message.
 * Two layers: patterns that look like credentials (COPY credential clauses,
 * passwords in connection strings), and the exact values a run knows to be
 * secret (the database password, AWS secret key and session token), held by
 * one `Secrets` registry per run that the logger and the CLI's output share.
 */

const MASK = '***';

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

/** The pattern layer alone: credentials that look like credentials. */
export function redactPatterns(text: string): string {
  let out = text;
  for (const [re, replacement] of PATTERNS) out = out.replace(re, replacement);
  return out;
}

/** The secret values of one run; `redact` masks them and the patterns. */
export class Secrets {
  readonly #values = new Set<string>();

  /** Remember a secret value so that it is masked wherever it appears (values under 4 characters are not). */
  add(...values: readonly (string | undefined | null)[]): void {
    for (const value of values) if (value && value.length >= 4) this.#values.add(value);
  }

  redact(text: string): string {
    let out = redactPatterns(text);
    for (const secret of this.#values) out = out.split(secret).join(MASK);
    return out;
  }
}
