/**
 * Redshift's COPY statement: one per source (Redshift reads every object
 * under the prefix, or in a manifest, in parallel), every value written into
 * its text validated first.
 */
import { checkMaxErrors, MAX_ERRORS } from '../../config/max-errors.ts';
import { UnsupportedError } from '../../errors.ts';
import { checkCredentialValue, checkRegion, checkRoleArn } from '../../config/aws-names.ts';
import { checkS3Uri, isS3Uri } from '../../config/s3-uri.ts';
import { sqlLiteral } from '../../config/sql-literal.ts';

export type CopyAuth =
  | { readonly kind: 'role'; readonly arn: string }
  | {
      readonly kind: 'keys';
      readonly accessKeyId: string;
      readonly secretAccessKey: string;
      readonly sessionToken?: string | undefined;
    };

export interface CopySpec {
  readonly table: string;
  readonly columns: readonly string[];
  readonly source: string;
  /** s3:// JSONPaths file, 'auto' or 'auto ignorecase'. */
  readonly format: string;
  readonly region: string;
  readonly auth: CopyAuth;
  /** --max-errors N: N bad records tolerated (and listed), the (N+1)th fails the load. */
  readonly maxErrors: number;
  /** Load from a manifest (incremental loads, compacted chunks) instead of a prefix. */
  readonly manifest?: boolean;
  /** The files are gzip'd (compacted chunks: lib/stage/redshift/compaction.ts). */
  readonly gzip?: boolean;
}

function refuse(what: string, problem: string | undefined): void {
  if (problem) throw new UnsupportedError(`${what}: ${problem}`);
}

/** Redshift's largest MAXERROR (copy-parameters-data-load; lib/config/max-errors.ts). */
export const MAXERROR_LIMIT = MAX_ERRORS.max;

/**
 * The MAXERROR that tolerates N bad records and fails on the (N+1)th, as the
 * PostgreSQL path does: Redshift's COPY fails when the error count *reaches*
 * MAXERROR ("If the load returns the error_count number of errors or greater,
 * the load fails … Set this parameter to 0 or 1 if you want the load to fail as
 * soon as the first error occurs"), so N becomes N+1, at most 100000 (which
 * tolerates 99999). Because of the parallel load AWS warns that a failed COPY
 * may report more errors than MAXERROR; the load then lists them all.
 * https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-data-load.html
 */
export function maxErrorFor(n: number): number {
  return Math.min(n + 1, MAXERROR_LIMIT);
}

export function renderCopy(spec: CopySpec): string {
  if (!isS3Uri(spec.source)) {
    throw new UnsupportedError(
      `Redshift's COPY reads from S3 only: ${spec.table}'s source must be s3://…, got '${spec.source}'`,
    );
  }
  refuse('source', checkS3Uri(spec.source));
  refuse('region', checkRegion(spec.region));
  let format: string;
  if (spec.format === 'auto' || spec.format === 'auto ignorecase') format = sqlLiteral(spec.format);
  else if (isS3Uri(spec.format)) {
    refuse('JSONPaths file', checkS3Uri(spec.format));
    format = sqlLiteral(spec.format);
  } else throw new UnsupportedError(`Redshift's COPY reads the JSONPaths file from S3 only, got '${spec.format}'`);

  let auth: string;
  if (spec.auth.kind === 'role') {
    refuse('IAM_ROLE_ARN', checkRoleArn(spec.auth.arn));
    auth = `IAM_ROLE ${sqlLiteral(spec.auth.arn)}`;
  } else {
    const { accessKeyId, secretAccessKey, sessionToken } = spec.auth;
    for (const v of [accessKeyId, secretAccessKey, sessionToken]) {
      if (v !== undefined && !checkCredentialValue(v))
        throw new UnsupportedError('AWS credentials hold characters that cannot be written into COPY');
    }
    auth = `ACCESS_KEY_ID ${sqlLiteral(accessKeyId)}\nSECRET_ACCESS_KEY ${sqlLiteral(secretAccessKey)}`;
    if (sessionToken) auth += `\nSESSION_TOKEN ${sqlLiteral(sessionToken)}`;
  }
  refuse('maxErrors', checkMaxErrors(spec.maxErrors));
  return [
    `COPY ${spec.table} (${spec.columns.join(', ')})`,
    `FROM ${sqlLiteral(spec.source)}${spec.manifest ? ' MANIFEST' : ''}`,
    auth,
    `REGION ${sqlLiteral(spec.region)}`,
    `FORMAT AS JSON ${format}`,
    // "The COPY operation reads each compressed file and uncompresses the data as it loads"
    // (https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-file-compression.html).
    ...(spec.gzip ? ['GZIP'] : []),
    `MAXERROR ${maxErrorFor(spec.maxErrors)}`,
    // Trailing blanks are removed by trimBlanksStatement (./trailing-blanks.ts), never by
    // TRIMBLANKS, whose "white space characters" are not documented as blanks only.
    'COMPUPDATE OFF',
    // Statistics: the staging transaction ANALYZEs the staging tables itself, once
    // their rows are final (see staging.ts, analyzeStatement).
    'STATUPDATE OFF',
  ].join('\n');
}
