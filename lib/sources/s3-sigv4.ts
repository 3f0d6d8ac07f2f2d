/**
 * SigV4 for the lean S3 requests (lib/sources/s3-get.ts): a GET without a
 * body, signed exactly as the SDK's signer (@smithy/signature-v4, configured
 * as the S3 client configures it: no double encoding of the path, the
 * payload hash in x-amz-content-sha256) signs it, in two hashes.
 *
 * Why not the SDK's signer itself: a CPU profile of 100k small GETs at 40 ms
 * (issue 27, docs/performance.md "Today's full size") spent about 0.07 ms of
 * CPU per GET in it, most of it what a GET does not need: the request cloned
 * (prepareRequest), the headers canonicalized through regular expressions,
 * and three HMACs where one is needed (the signer hashes the credentials once
 * per request to look up its signing-key cache). Here the signing key is
 * derived once per credentials and day and kept, and a request costs one
 * SHA-256 of the canonical request and one HMAC of the string to sign.
 *
 * The credentials are still the S3 client's provider (the default Node
 * chain, memoized and refreshed before expiry by the SDK), asked for every
 * request; test/s3-sigv4.test.ts checks that the headers are the SDK
 * signer's, byte for byte, with and without a session token, a query, an
 * If-Match and a Range.
 */
import { createHash, createHmac } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';

/** The S3 client's credentials provider, and what it gives. */
type AwsCredentialIdentityProvider = S3Client['config']['credentials'];
type AwsCredentialIdentity = Awaited<ReturnType<AwsCredentialIdentityProvider>>;

/** SHA-256 of the empty payload: what the SDK's signer sends for a request without a body. */
const EMPTY_PAYLOAD_HASH = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** URI-encoded as SigV4 canonicalizes it (encodeURIComponent, and also `!'()*`), as the SDK's escapeUri. */
export const escapeUri = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** A header value as the SDK's signer canonicalizes it. */
const canonicalValue = (v: string) =>
  !/[\r\n\t]| {2}|^ | $/.test(v)
    ? v
    : v
        .replace(/[\r\n]/g, ' ')
        .replace(/[ \t]+/g, ' ')
        .replace(/^ | $/g, '');

export interface SignableGet {
  /** The host header (host[:port]). */
  readonly host: string;
  /** The path as sent, already URI-encoded (the S3 client's encoding; not encoded again). */
  readonly path: string;
  /** The query's parameters, unencoded. */
  readonly query: Readonly<Record<string, string>>;
  /** Other headers to sign, names in lower case (if-match, range). */
  readonly headers: Readonly<Record<string, string>>;
}

/** The headers to send (the request's own, `host` included, and the signature's), as the SDK's signer gives them. */
export type SignedHeaders = Record<string, string>;

export class GetSigner {
  private key: { readonly id: string; readonly key: Buffer } | undefined;

  constructor(
    private readonly credentials: AwsCredentialIdentityProvider,
    private readonly region: string,
    private readonly service: string,
  ) {}

  /** The SDK's credentials provider, asked every request (it memoizes and refreshes), then the signature. */
  async sign(request: SignableGet, date: Date = new Date()): Promise<SignedHeaders> {
    return this.signWith(await this.credentials(), request, date);
  }

  signWith(credentials: AwsCredentialIdentity, request: SignableGet, date: Date): SignedHeaders {
    if (typeof credentials?.accessKeyId !== 'string' || typeof credentials.secretAccessKey !== 'string')
      throw new Error('Resolved credential object is not valid');
    const longDate = this.longDate(date);
    const shortDate = longDate.slice(0, 8);
    const scope = `${shortDate}/${this.region}/${this.service}/aws4_request`;
    const headers: SignedHeaders = { ...request.headers, host: request.host, 'x-amz-date': longDate };
    if (credentials.sessionToken) headers['x-amz-security-token'] = credentials.sessionToken;
    headers['x-amz-content-sha256'] = EMPTY_PAYLOAD_HASH;
    const names = Object.keys(headers).sort();
    let canonicalHeaders = '';
    for (const name of names) canonicalHeaders += `${name}:${canonicalValue(headers[name] as string)}\n`;
    const signedNames = names.join(';');
    const query = Object.keys(request.query)
      .map((k) => [escapeUri(k), escapeUri(request.query[k] as string)] as const)
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .map(([k, v]) => `${k}=${v}`)
      .join('&');
    const canonicalRequest = `GET\n${request.path}\n${query}\n${canonicalHeaders}\n${signedNames}\n${EMPTY_PAYLOAD_HASH}`;
    const stringToSign = `AWS4-HMAC-SHA256\n${longDate}\n${scope}\n${createHash('sha256').update(canonicalRequest).digest('hex')}`;
    const signature = createHmac('sha256', this.signingKey(credentials, shortDate)).update(stringToSign).digest('hex');
    headers['authorization'] =
      `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedNames}, Signature=${signature}`;
    return headers;
  }

  /** The ISO 8601 basic date-time (YYYYMMDDTHHMMSSZ), made once a second. */
  private date: { readonly second: number; readonly text: string } | undefined;
  private longDate(date: Date): string {
    const second = Math.floor(date.getTime() / 1000);
    if (this.date?.second !== second)
      this.date = {
        second,
        text: date
          .toISOString()
          .replace(/\.\d{3}Z$/, 'Z')
          .replace(/[-:]/g, ''),
      };
    return this.date.text;
  }

  /** kDate → kRegion → kService → kSigning, kept while the day and the credentials stay the same. */
  private signingKey(credentials: AwsCredentialIdentity, shortDate: string): Buffer {
    const id = `${shortDate}\n${credentials.accessKeyId}\n${credentials.secretAccessKey}\n${credentials.sessionToken ?? ''}`;
    if (this.key?.id === id) return this.key.key;
    let key: string | Buffer = `AWS4${credentials.secretAccessKey}`;
    for (const part of [shortDate, this.region, this.service, 'aws4_request'])
      key = createHmac('sha256', key).update(part).digest();
    this.key = { id, key: key as Buffer };
    return key as Buffer;
  }
}
