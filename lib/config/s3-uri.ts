/**
 * S3 URIs written into SQL text (COPY cannot take bind parameters): a strict
 * format, refused before any SQL is built.
 */
import { ConfigError } from '../errors.ts';

/** Bucket names: 3–63 of [a-z0-9.-], starting and ending alphanumeric. */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** Keys/prefixes we accept in SQL text: printable ASCII without quotes, backslashes or semicolons. */
const KEY = /^[A-Za-z0-9!\-_.*()/=+,@ :~]*$/;

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

export function isS3Uri(value: string): boolean {
  return value.startsWith('s3://');
}
