/**
 * Redshift COPY manifests for incremental loads: the list of new objects,
 * written to LOAD_MANIFEST_PREFIX, so one COPY loads exactly those objects.
 */
import { parseS3Uri } from '../../config/validate.ts';
import type { SourceObject } from '../../sources/source-objects.ts';

export function manifestBody(objects: readonly SourceObject[]): string {
  return `${JSON.stringify({ entries: objects.map((o) => ({ url: o.uri, mandatory: true })) }, null, 1)}\n`;
}

/** Uploads the manifest and returns its s3:// URI. */
export async function writeManifest(region: string, prefix: string, name: string, objects: readonly SourceObject[]): Promise<string> {
  const { bucket, key } = parseS3Uri(prefix);
  const objectKey = `${key}${key === '' || key.endsWith('/') ? '' : '/'}${name}`;
  const [{ createS3Client }, { PutObjectCommand }] = await Promise.all([import('../../sources/s3-client.ts'), import('@aws-sdk/client-s3')]);
  const client = createS3Client(region);
  try {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: objectKey, Body: manifestBody(objects), ContentType: 'application/json' }));
  } finally {
    client.destroy();
  }
  return `s3://${bucket}/${objectKey}`;
}
