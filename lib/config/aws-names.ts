/**
 * AWS identifiers the tool writes into SQL text or sends to AWS: IAM role
 * ARNs, regions, credential values, Serverless names. Strict formats, refused
 * before any SQL is built.
 */

const ARN = /^arn:aws(-[a-z]+)*:iam::\d{12}:role\/[A-Za-z0-9+=,.@_\-/]{1,512}$/;
const REGION = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/;

export function checkRoleArn(arn: string): string | undefined {
  return ARN.test(arn) ? undefined : `expected arn:aws:iam::<12-digit account>:role/<name>, got '${arn}'`;
}

export function checkRegion(region: string): string | undefined {
  return REGION.test(region) ? undefined : `expected an AWS region such as us-west-2, got '${region}'`;
}

/** Access key ids and session tokens are base64-ish; refuse anything that could break out of a literal. */
export function checkCredentialValue(value: string): boolean {
  return /^[A-Za-z0-9+/=_\-.:]+$/.test(value);
}

/** Redshift Serverless namespace and workgroup names: 3–64 of [a-z0-9-] (CreateNamespace, CreateWorkgroup). */
export const SERVERLESS_NAME = /^[a-z0-9-]{3,64}$/;
