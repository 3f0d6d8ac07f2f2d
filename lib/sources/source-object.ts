/** One listed source object: what the listing said, and what a read of it is checked against. */
export interface SourceObject {
  /** s3://bucket/key or an absolute local path. */
  readonly uri: string;
  readonly size: number;
  /** ETag on S3 (without quotes), modification time locally: what changes when the content does. */
  readonly version: string;
  /** When it was last written, ISO 8601 (S3 LastModified, the file's mtime); absent where the lister does not say. */
  readonly modified?: string | undefined;
}
