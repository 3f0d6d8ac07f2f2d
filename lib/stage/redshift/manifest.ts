/**
 * Redshift COPY manifests for incremental loads: the list of new objects,
 * written to LOAD_MANIFEST_PREFIX, so one COPY loads exactly those objects.
 */
import { parseS3Uri } from '../../config/s3-uri.ts';
import { ConfigError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type { SourceObject } from '../../sources/source-objects.ts';

export function manifestBody(objects: readonly SourceObject[]): string {
  return `${JSON.stringify({ entries: objects.map((o) => ({ url: o.uri, mandatory: true })) }, null, 1)}\n`;
}

/** S3's answer to GetBucketLocation as a region name: none is us-east-1, 'EU' the old name of eu-west-1. */
export function bucketRegion(locationConstraint: string | undefined | null): string {
  if (!locationConstraint) return 'us-east-1';
  return locationConstraint === 'EU' ? 'eu-west-1' : locationConstraint;
}

/**
 * The manifest's bucket must be in AWS_REGION: with REGION set, "all
 * resources, including a manifest file or multiple Amazon S3 buckets, must be
 * located in the specified Region" (Amazon Redshift Database Developer Guide,
 * COPY data source parameters: S3,
 * https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-data-source-s3.html).
 * Checked before anything is written or staged, so the COPY does not fail
 * after the listing; when the bucket's region cannot be read (no
 * s3:GetBucketLocation permission), a warning says what must hold.
 */
export async function checkManifestRegion(region: string, prefix: string, log: Logger): Promise<void> {
  const { bucket } = parseS3Uri(prefix);
  const [{ createS3Client }, { GetBucketLocationCommand }] = await Promise.all([import('../../sources/s3-client.ts'), import('@aws-sdk/client-s3')]);
  const client = createS3Client(region);
  let location: string | undefined;
  try {
    location = (await client.send(new GetBucketLocationCommand({ Bucket: bucket }))).LocationConstraint;
  } catch (err) {
    const name = (err as Error).name;
    if (name === 'NoSuchBucket') throw new ConfigError([`LOAD_MANIFEST_PREFIX: the bucket ${bucket} does not exist`]);
    log.warn(`LOAD_MANIFEST_PREFIX: the region of bucket ${bucket} could not be read (${name}); COPY requires it to be AWS_REGION (${region})`);
    return;
  } finally {
    client.destroy();
  }
  const actual = bucketRegion(location);
  if (actual !== region) {
    throw new ConfigError([
      `LOAD_MANIFEST_PREFIX: the bucket ${bucket} is in ${actual}, but AWS_REGION is ${region}; Redshift's COPY with REGION needs the manifest in that region: use a bucket in ${region}`,
    ]);
  }
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
