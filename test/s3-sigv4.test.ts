// Issue 27: the lean S3 GETs sign with lib/sources/s3-sigv4.ts instead of the SDK's signer (a third of
// the CPU it cost). The headers must be the SDK signer's, byte for byte, as the S3 client configures it.
import { createHash, createHmac } from 'node:crypto';
import test from 'ava';
import { SignatureV4 } from '@smithy/signature-v4';
import { GetSigner, type SignableGet } from '../lib/sources/s3-sigv4.ts';

/** The SDK's Node hash (@smithy/hash-node: the same two calls) in the shape the signer takes. */
class Sha256 {
  private readonly hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(bytes(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
}
function bytes(data: string | ArrayBuffer | ArrayBufferView): string | Buffer {
  if (typeof data === 'string') return data;
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

const DATE = new Date('2026-12-07T16:30:45.123Z');
const REGION = 'us-west-2';

async function sdkHeaders(
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string },
  request: SignableGet,
  date: Date,
) {
  const signer = new SignatureV4({
    credentials,
    region: REGION,
    service: 's3',
    sha256: Sha256,
    uriEscapePath: false,
    applyChecksum: true,
  });
  const [hostname, port] = request.host.split(':');
  const signed = await signer.sign(
    {
      method: 'GET',
      protocol: 'https:',
      hostname: hostname as string,
      port: port ? Number(port) : undefined,
      path: request.path,
      query: { ...request.query },
      headers: { ...request.headers, host: request.host },
    },
    { signingDate: date },
  );
  return signed.headers;
}

const CASES: [string, SignableGet][] = [
  [
    'a plain GET',
    {
      host: 's3.us-west-2.amazonaws.com',
      path: '/udacity-dend/song-data/A/A/A/TRAAAAK128F9318786.json',
      query: {},
      headers: {},
    },
  ],
  [
    'If-Match and Range, a port, a key needing escapes',
    {
      host: '127.0.0.1:9000',
      path: `/bucket/${['song data', "it's (1)*!", 'é.json'].map((s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)).join('/')}`,
      query: {},
      headers: { 'if-match': '"0123456789abcdef0123456789abcdef"', range: 'bytes=100-' },
    },
  ],
  [
    'a listing: a query with a continuation token and a delimiter',
    {
      host: 'bucket.s3.us-west-2.amazonaws.com',
      path: '/',
      query: { 'list-type': '2', prefix: 'song-data/A/ B', delimiter: '/', 'continuation-token': 'a+b/c==' },
      headers: { 'if-match': '  spaced   value ' },
    },
  ],
];

for (const [title, request] of CASES) {
  for (const sessionToken of [undefined, 'FwoGZXIvYXdzEJr//////////token+with/chars=']) {
    test(`the lean signature is the SDK signer's: ${title}${sessionToken ? ', with a session token' : ''}`, async (t) => {
      const credentials = {
        accessKeyId: 'AKIDEXAMPLE',
        secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
        sessionToken,
      };
      const ours = await new GetSigner(async () => credentials, REGION, 's3').sign(request, DATE);
      t.deepEqual(ours, await sdkHeaders(credentials, request, DATE));
    });
  }
}

test('the signing key follows the credentials and the day', async (t) => {
  let credentials = { accessKeyId: 'AKID1', secretAccessKey: 'secret-one' };
  const signer = new GetSigner(async () => credentials, REGION, 's3');
  const request = CASES[0]?.[1] as SignableGet;
  t.deepEqual(await signer.sign(request, DATE), await sdkHeaders(credentials, request, DATE));
  // Refreshed credentials (the SDK's provider hands out new ones before expiry), then the next day.
  credentials = { accessKeyId: 'AKID2', secretAccessKey: 'secret-two' };
  t.deepEqual(await signer.sign(request, DATE), await sdkHeaders(credentials, request, DATE));
  const tomorrow = new Date(DATE.getTime() + 86_400_000);
  t.deepEqual(await signer.sign(request, tomorrow), await sdkHeaders(credentials, request, tomorrow));
});
