/**
 * The S3 prefix where compaction (compaction.ts) writes its chunks, their
 * manifest and the run's object list (LOAD_STAGE_PREFIX): uploads from a
 * local file (streamed, its length given) or a buffer, and removal in
 * batches of DeleteObjects (1,000 keys a request, S3's limit).
 */
import { createReadStream } from 'node:fs';
import { parseS3Uri } from '../../config/s3-uri.ts';

export interface StageStore {
  /** Writes `body` (bytes, or a local file of `size` bytes) to the s3:// URI. */
  put(uri: string, body: Buffer | string | { readonly path: string; readonly size: number }): Promise<void>;
  /** Removes the objects (s3:// URIs); missing ones are no error. */
  remove(uris: readonly string[]): Promise<void>;
  close(): void;
}

/** `prefix` + `name`, with one slash between them. */
export function stageUri(prefix: string, name: string): string {
  return `${prefix}${prefix.endsWith('/') ? '' : '/'}${name}`;
}

export async function createStageStore(region: string): Promise<StageStore> {
  const [{ createS3Client }, { PutObjectCommand, DeleteObjectsCommand }] = await Promise.all([
    import('../../sources/s3-client.ts'),
    import('@aws-sdk/client-s3'),
  ]);
  const client = createS3Client(region, process.env, { checksumWhenRequired: true });
  return {
    async put(uri, body) {
      const { bucket, key } = parseS3Uri(uri);
      const file = typeof body === 'object' && !Buffer.isBuffer(body) ? body : undefined;
      await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: file ? createReadStream(file.path) : (body as Buffer | string),
          ...(file ? { ContentLength: file.size } : {}),
        }),
      );
    },
    async remove(uris) {
      const byBucket = new Map<string, string[]>();
      for (const uri of uris) {
        const { bucket, key } = parseS3Uri(uri);
        byBucket.set(bucket, [...(byBucket.get(bucket) ?? []), key]);
      }
      for (const [bucket, keys] of byBucket) {
        for (let i = 0; i < keys.length; i += 1000) {
          await client.send(
            new DeleteObjectsCommand({
              Bucket: bucket,
              Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true },
            }),
          );
        }
      }
    },
    close() {
      client.destroy();
    },
  };
}
