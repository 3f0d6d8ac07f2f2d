/**
 * A real S3 protocol server (s3rver) on 127.0.0.1 with a bucket filled from a
 * local folder, and the environment that points the tool at it. s3rver makes
 * ListObjectsV2 continuation tokens with DES, which OpenSSL 3 only offers with
 * the legacy provider: AVA runs test workers with --openssl-legacy-provider.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { filesBelow } from './files.ts';
import { event, song } from './fixtures.ts';

export interface TestS3 {
  readonly endpoint: string;
  readonly env: Record<string, string>;
  readonly client: S3Client;
  upload(bucket: string, prefix: string, localDir: string): Promise<number>;
  put(bucket: string, key: string, body: string | Buffer): Promise<void>;
  /**
   * A source set (local log and song folders and a JSONPaths file) into
   * `bucket` as log_data/, song_data/ and meta/log_json_path.json; resolves
   * to the settings that read it there.
   */
  uploadSources(bucket: string, sources: LocalSources): Promise<S3Sources>;
  /**
   * Many objects at once, written straight into s3rver's folder (its
   * FilesystemStore keeps an object as `<bucket>/<key>._S3rver_object`, and
   * makes its metadata and MD5 on first read): 20k objects in seconds, where
   * 20k PUTs take minutes on a loaded machine. The objects are then listed and
   * read through the S3 protocol like any other.
   */
  seed(bucket: string, objects: Iterable<readonly [key: string, body: string | Buffer]>): Promise<number>;
  close(): Promise<void>;
}

/** A source set on disk. */
export interface LocalSources {
  readonly logDir: string;
  readonly songDir: string;
  readonly jsonPath: string;
}

/** The settings that read a source set from S3. */
export interface S3Sources extends Record<string, string> {
  readonly LOG_DATA: string;
  readonly SONG_DATA: string;
  readonly LOG_JSONPATH: string;
}

/** A fixture's or a generated set's settings (LOG_DATA, SONG_DATA, LOG_JSONPATH) as a source set on disk. */
export function localSources(env: Record<string, string | undefined>): LocalSources {
  const get = (name: string) => {
    const value = env[name];
    if (value === undefined) throw new Error(`localSources: ${name} is not set`);
    return value;
  };
  return { logDir: get('LOG_DATA'), songDir: get('SONG_DATA'), jsonPath: get('LOG_JSONPATH') };
}

/** A set the generator wrote to `out` (lib/sample/generator.ts: log_data/, song_data/, log_json_path.json). */
export function generatedSources(out: string): LocalSources {
  return {
    logDir: path.join(out, 'log_data'),
    songDir: path.join(out, 'song_data'),
    jsonPath: path.join(out, 'log_json_path.json'),
  };
}

/** `allowMismatchedSignatures`: for a proxy that rewrites the query of signed requests (test/support/s3-proxy.ts). */
export async function startS3(
  buckets: readonly string[],
  options: { allowMismatchedSignatures?: boolean } = {},
): Promise<TestS3> {
  const directory = await mkdtemp(path.join(os.tmpdir(), 's3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    allowMismatchedSignatures: options.allowMismatchedSignatures ?? false,
  });
  const address = (await server.run()) as { port: number };
  const endpoint = `http://127.0.0.1:${address.port}`;
  const env = {
    AWS_ENDPOINT_URL_S3: endpoint,
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_REGION: 'us-west-2',
  };
  const client = new S3Client({
    endpoint,
    region: 'us-west-2',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  for (const b of buckets) await client.send(new CreateBucketCommand({ Bucket: b }));
  const put = async (bucket: string, key: string, body: string | Buffer) => {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  };
  const upload = async (bucket: string, prefix: string, localDir: string) => {
    const files = await filesBelow(localDir);
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < files.length) {
          const f = files[next++] as string;
          await put(bucket, `${prefix}${path.relative(localDir, f).split(path.sep).join('/')}`, await readFile(f));
        }
      }),
    );
    return files.length;
  };
  return {
    endpoint,
    env,
    client,
    put,
    async seed(bucket, objects) {
      let n = 0;
      const made = new Set<string>();
      for (const [key, body] of objects) {
        const file = path.join(directory, bucket, ...key.split('/'));
        const dir = path.dirname(file);
        if (!made.has(dir)) {
          await mkdir(dir, { recursive: true });
          made.add(dir);
        }
        await writeFile(`${file}._S3rver_object`, body);
        n += 1;
      }
      return n;
    },
    upload,
    async uploadSources(bucket, sources) {
      await upload(bucket, 'log_data/', sources.logDir);
      await upload(bucket, 'song_data/', sources.songDir);
      await put(bucket, 'meta/log_json_path.json', await readFile(sources.jsonPath));
      return {
        LOG_DATA: `s3://${bucket}/log_data/`,
        SONG_DATA: `s3://${bucket}/song_data/`,
        LOG_JSONPATH: `s3://${bucket}/meta/log_json_path.json`,
      };
    },
    async close() {
      client.destroy();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/**
 * s3rver holding one log file and one song file under s3://sparkify-src/ and an
 * empty sparkify-manifests bucket, with process.env pointing at it until the
 * test ends (the S3 clients that list sources and write manifests read their
 * endpoint from it); `env` loads those sources with 'auto' and manifests under
 * s3://sparkify-manifests/runs/ (s3rver's buckets are in us-east-1: its
 * GetBucketLocation answer).
 */
export async function sourcesAndManifestsS3(t: {
  teardown(fn: () => unknown): void;
}): Promise<{ s3: TestS3; env: Record<string, string> }> {
  const s3 = await startS3(['sparkify-src', 'sparkify-manifests']);
  t.teardown(() => s3.close());
  await s3.put('sparkify-src', 'log_data/2018-11-01-events.json', JSON.stringify(event()));
  await s3.put('sparkify-src', 'song_data/A/a.json', JSON.stringify(song()));
  const saved = { ...process.env };
  Object.assign(process.env, s3.env);
  t.teardown(() => {
    process.env = saved;
  });
  const env = {
    ...s3.env,
    LOG_DATA: 's3://sparkify-src/log_data',
    SONG_DATA: 's3://sparkify-src/song_data',
    LOG_JSONPATH: 'auto',
    LOAD_MANIFEST_PREFIX: 's3://sparkify-manifests/runs/',
  };
  return { s3, env };
}
