/**
 * Strict formats for every value that is written into SQL text (COPY cannot
 * take bind parameters): S3 URIs, IAM role ARNs, AWS regions. A value that does
 * not match is refused before any SQL is built.
 */
import { ConfigError, UnsupportedError } from '../errors.ts';

/** Bucket names: 3–63 of [a-z0-9.-], starting and ending alphanumeric. */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** Keys/prefixes we accept in SQL text: printable ASCII without quotes, backslashes or semicolons. */
const KEY = /^[A-Za-z0-9!\-_.*()/=+,@ :~]*$/;
const ARN = /^arn:aws(-[a-z]+)*:iam::\d{12}:role\/[A-Za-z0-9+=,.@_\-/]{1,512}$/;
const REGION = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/;

export interface S3Location {
  readonly bucket: string;
  readonly key: string;
}

/** Returns an error message, or undefined when the URI is valid. */
export function checkS3Uri(uri: string): string | undefined {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!m) return `expected s3://bucket/prefix, got '${uri}'`;
  const bucket = m[1] ?? '';
  const key = m[2] ?? '';
  if (!BUCKET.test(bucket)) return `'${bucket}' is not a valid S3 bucket name`;
  if (!KEY.test(key)) {
    return `the S3 prefix '${key}' holds a character that is not allowed here (quotes, backslashes, semicolons and control characters are refused)`;
  }
  return undefined;
}

export function parseS3Uri(uri: string): S3Location {
  const problem = checkS3Uri(uri);
  if (problem) throw new ConfigError([problem]);
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri) as RegExpExecArray;
  return { bucket: m[1] ?? '', key: m[2] ?? '' };
}

export function checkRoleArn(arn: string): string | undefined {
  return ARN.test(arn) ? undefined : `expected arn:aws:iam::<12-digit account>:role/<name>, got '${arn}'`;
}

export function checkRegion(region: string): string | undefined {
  return REGION.test(region) ? undefined : `expected an AWS region such as us-west-2, got '${region}'`;
}

/** Access key ids and session tokens are base64-ish; refuse anything that could break out of a literal. */
export function checkCredentialValue(value: string): boolean {
  return /^[A-Za-z0-9+/=_\-.:]+$/.test(value);
}

/** Quote a value that has already been validated; refuses quotes and backslashes as a last line of defence. */
export function sqlLiteral(value: string): string {
  if (/['\\\0;]/.test(value)) throw new UnsupportedError('refusing to quote a value holding a quote, backslash, NUL or semicolon');
  return `'${value}'`;
}

export function isS3Uri(value: string): boolean {
  return value.startsWith('s3://');
}

/**
 * Schema names the tool creates and sets as the search_path: lowercase, so
 * that quoted and unquoted spellings name the same schema on both engines
 * (Redshift folds identifiers to lowercase); at most 63 bytes (PostgreSQL's
 * limit); not pg_… (reserved for system schemas on both engines).
 */
export function checkSchemaName(name: string): string | undefined {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name) || name.startsWith('pg_') || name === 'information_schema') {
    return `expected a lowercase schema name (letters, digits and _, starting with a letter or _, at most 63, not pg_… or information_schema), got '${name}'`;
  }
  return undefined;
}

/** A setting's value, trimmed; unset or blank: undefined. */
export function setting(env: Readonly<Record<string, string | undefined>>, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

/** Redshift Serverless namespace and workgroup names: 3–64 of [a-z0-9-] (CreateNamespace, CreateWorkgroup). */
export const SERVERLESS_NAME = /^[a-z0-9-]{3,64}$/;
