/**
 * Redshift COPY manifests for incremental loads: the list of new objects,
 * written to LOAD_MANIFEST_PREFIX, so one COPY loads exactly those objects.
 */
import { parseS3Uri } from '../../config/s3-uri.ts';
import { ConfigError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type { SourceObjects, SourceReader } from '../../sources/source-objects.ts';

/**
 * The manifest, as the bytes of `JSON.stringify({ entries }, null, 1)` and a
 * newline, each entry `{ "url": …, "mandatory": true }` (Amazon Redshift
 * Database Developer Guide, Using a manifest to specify data files,
 * https://docs.aws.amazon.com/redshift/latest/dg/loading-data-files-using-manifest.html).
 * Written entry by entry into one buffer measured first: a listing of 385,252
 * objects made an array of entries and a 38 MB string at once (RSS 148 →
 * 273 MB); the buffer is the only copy (150 → 188 MB).
 */
export function manifestBody(objects: SourceObjects): Buffer {
  const head = '{\n "entries": [';
  const tail = '\n ]\n}\n';
  if (objects.length === 0) return Buffer.from('{\n "entries": []\n}\n');
  const entry = (uri: string, i: number) =>
    `${i === 0 ? '' : ','}\n  {\n   "url": ${JSON.stringify(uri)},\n   "mandatory": true\n  }`;
  let bytes = Buffer.byteLength(head) + Buffer.byteLength(tail);
  let i = 0;
  for (const o of objects) bytes += Buffer.byteLength(entry(o.uri, i++));
  const out = Buffer.allocUnsafe(bytes);
  let at = out.write(head);
  i = 0;
  for (const o of objects) at += out.write(entry(o.uri, i++), at);
  at += out.write(tail, at);
  if (at !== bytes)
    throw new Error(`manifest: ${at} bytes written of ${bytes} measured (the listing changed while read)`);
  return out;
}

/** S3's answer to GetBucketLocation as a region name: none is us-east-1, 'EU' the old name of eu-west-1. */
export function bucketRegion(locationConstraint: string | undefined | null): string {
  if (!locationConstraint) return 'us-east-1';
  return locationConstraint === 'EU' ? 'eu-west-1' : locationConstraint;
}

/** A bucket's region as read, or why it could not be read. */
export type BucketRegion = { readonly region: string } | { readonly unreadable: string };

/** The region of the bucket of `uri`, through the reader's GetBucketLocation; NoSuchBucket fails (naming `setting`). */
export async function readBucketRegion(reader: SourceReader, setting: string, uri: string): Promise<BucketRegion> {
  const { bucket } = parseS3Uri(uri);
  if (!reader.locate) return { unreadable: 'not asked' };
  try {
    return { region: bucketRegion(await reader.locate(bucket)) };
  } catch (err) {
    const name = (err as Error).name;
    if (name === 'NoSuchBucket') throw new ConfigError([`${setting}: the bucket ${bucket} does not exist`]);
    return { unreadable: name };
  }
}

/**
 * COPY's REGION: SOURCE_REGION when set, else the region of the source's own
 * bucket when it can be read (s3:GetBucketLocation), else AWS_REGION (the
 * cluster's region, which COPY assumes without REGION). "By default, COPY
 * assumes that the data is located in the same AWS Region as the Amazon
 * Redshift cluster"; with REGION, "all resources, including a manifest file
 * or multiple Amazon S3 buckets, must be located in the specified Region"
 * (Amazon Redshift Database Developer Guide, COPY data source parameters: S3,
 * https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-data-source-s3.html).
 */
export async function copyRegion(
  reader: SourceReader,
  config: { readonly sourceRegion: string | undefined; readonly region: string },
  source: string,
  setting: string,
): Promise<string> {
  if (config.sourceRegion) return config.sourceRegion;
  const found = await readBucketRegion(reader, setting, source);
  return 'region' in found ? found.region : config.region;
}

/**
 * Another resource of the COPY (the manifest's bucket, the JSONPaths file's)
 * must be in the COPY's REGION (see copyRegion). Checked before anything is
 * written or staged, so the COPY does not fail after the listing; when the
 * bucket's region cannot be read, a warning says what must hold.
 */
export async function checkBucketRegion(
  reader: SourceReader,
  setting: string,
  uri: string,
  region: string,
  log: Logger,
): Promise<void> {
  const { bucket } = parseS3Uri(uri);
  const found = await readBucketRegion(reader, setting, uri);
  if (!('region' in found)) {
    if (found.unreadable !== 'not asked')
      log.warn(
        `${setting}: the region of bucket ${bucket} could not be read (${found.unreadable}); COPY requires it to be the COPY's REGION (${region})`,
      );
    return;
  }
  if (found.region !== region) {
    throw new ConfigError([
      `${setting}: the bucket ${bucket} is in ${found.region}, but the COPY's REGION is ${region} (SOURCE_REGION, else the source bucket's region); Redshift's COPY with REGION needs every resource in that region: use a bucket in ${region}`,
    ]);
  }
}

/** Uploads the manifest and returns its s3:// URI. */
export async function writeManifest(
  region: string,
  prefix: string,
  name: string,
  objects: SourceObjects,
): Promise<string> {
  const { bucket, key } = parseS3Uri(prefix);
  const objectKey = `${key}${key === '' || key.endsWith('/') ? '' : '/'}${name}`;
  const [{ createS3Client }, { PutObjectCommand }] = await Promise.all([
    import('../../sources/s3-client.ts'),
    import('@aws-sdk/client-s3'),
  ]);
  const client = createS3Client(region);
  try {
    await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: objectKey,
        Body: manifestBody(objects),
        ContentType: 'application/json',
      }),
    );
  } finally {
    client.destroy();
  }
  return `s3://${bucket}/${objectKey}`;
}
