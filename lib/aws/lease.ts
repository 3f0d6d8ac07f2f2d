/**
 * The lease on what `cluster create` makes: two tags on the cluster (or the
 * Serverless workgroup and namespace) and on its IAM role, given in the
 * create call itself, so no resource of the tool ever exists untagged:
 *
 *   sparkify-warehouse:created-by = sparkify-warehouse
 *   sparkify-warehouse:expires-at = 2026-12-07T07:00:00Z   (ISO 8601, UTC)
 *
 * A tag is a key/value pair of up to 128 and 256 characters on Redshift
 * (https://docs.aws.amazon.com/redshift/latest/mgmt/amazon-redshift-tagging.html;
 * CreateTags replaces the value of a key that exists:
 * https://docs.aws.amazon.com/redshift/latest/APIReference/API_CreateTags.html),
 * Redshift Serverless (https://docs.aws.amazon.com/redshift-serverless/latest/APIReference/API_Tag.html)
 * and IAM (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_tags.html).
 * A tag stops nothing by itself: `cluster sweep` deletes what is past its
 * expiry, and every command that talks to AWS warns about it. Only resources
 * whose created-by tag names this tool are ever touched.
 */

export const TAG_CREATED_BY = 'sparkify-warehouse:created-by';
export const TAG_EXPIRES_AT = 'sparkify-warehouse:expires-at';
export const TOOL_NAME = 'sparkify-warehouse';

/**
 * The default lease, 4 hours: creating a cluster takes 5–15 minutes, a full
 * load of the Udacity data set some 10–30 minutes, and the analysis of a
 * learner's session a few hours; the forgotten cluster of the usual setup (4
 * dc2.large, about $1 an hour) then costs about $4, not $24 a day.
 * `cluster extend --ttl` renews it.
 */
export const DEFAULT_TTL = '4h';

/** IAM path of the roles the tool creates: `cluster sweep` lists them with ListRoles(PathPrefix). */
export const ROLE_PATH = '/sparkify-warehouse/';

/** A tag in any of the three services' spellings (Redshift and IAM: Key/Value; Serverless: key/value). */
export interface AnyTag {
  readonly Key?: string | undefined;
  readonly Value?: string | undefined;
  readonly key?: string | undefined;
  readonly value?: string | undefined;
}

export interface Lease {
  readonly expiresAt: Date;
}

const UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90m`, `4h`, `1h30m`, `2d` → milliseconds; undefined when not such a duration (from 1 minute to 30 days). */
export function parseTtl(text: string): number | undefined {
  const t = text.trim().toLowerCase();
  if (!/^(\d+[dhm])+$/.test(t)) return undefined;
  let ms = 0;
  for (const m of t.matchAll(/(\d+)([dhm])/g)) ms += Number(m[1]) * (UNITS[m[2] ?? ''] ?? 0);
  return ms >= 60_000 && ms <= 30 * 86_400_000 ? ms : undefined;
}

/** The lease's tags, expiring `ttlMs` after `now`, in Redshift's and IAM's spelling (Key/Value). */
export function leaseTags(now: number, ttlMs: number): { Key: string; Value: string }[] {
  return [
    { Key: TAG_CREATED_BY, Value: TOOL_NAME },
    { Key: TAG_EXPIRES_AT, Value: new Date(now + ttlMs).toISOString().replace(/\.\d{3}Z$/, 'Z') },
  ];
}

/** The same tags as Redshift Serverless spells them (key/value). */
export function serverlessLeaseTags(now: number, ttlMs: number): { key: string; value: string }[] {
  return leaseTags(now, ttlMs).map((t) => ({ key: t.Key, value: t.Value }));
}

/** Whether the tags say this tool created the resource. */
export function createdByTool(tags: readonly AnyTag[] | undefined): boolean {
  return (tags ?? []).some((t) => (t.Key ?? t.key) === TAG_CREATED_BY && (t.Value ?? t.value) === TOOL_NAME);
}

/**
 * The lease of a resource the tool created; undefined for any other resource
 * (no created-by tag: never the tool's to touch). A created-by tag with an
 * unreadable expiry counts as expired: the tool made it and nobody renewed it.
 */
export function leaseOf(tags: readonly AnyTag[] | undefined): Lease | undefined {
  if (!createdByTool(tags)) return undefined;
  const text = (tags ?? []).find((t) => (t.Key ?? t.key) === TAG_EXPIRES_AT);
  const at = Date.parse(text?.Value ?? text?.value ?? '');
  return { expiresAt: new Date(Number.isNaN(at) ? 0 : at) };
}

export const isExpired = (lease: Lease, now: number): boolean => lease.expiresAt.getTime() <= now;

/** `3h 12m`, `45m`, `2d 1h`: a duration for people. */
export function formatDuration(ms: number): string {
  const minutes = Math.max(0, Math.round(ms / 60_000));
  const d = Math.floor(minutes / 1440);
  const h = Math.floor((minutes % 1440) / 60);
  const m = minutes % 60;
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  return `${m}m`;
}

/** `expires 2026-12-07 07:00 UTC (in 3h 12m)` or `EXPIRED 2026-… (2h 5m ago)`; for a resource without a lease, that. */
export function describeLease(lease: Lease | undefined, now: number): string {
  if (!lease) return 'no lease (not created by sparkify-warehouse)';
  const at = `${lease.expiresAt.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  const left = lease.expiresAt.getTime() - now;
  return left > 0 ? `expires ${at} (in ${formatDuration(left)})` : `EXPIRED ${at} (${formatDuration(-left)} ago)`;
}

/** A lease as `--format json` prints it. */
export function leaseJson(
  lease: Lease | undefined,
  now: number,
): { expiresAt: string; secondsLeft: number; expired: boolean } | null {
  if (!lease) return null;
  const left = Math.round((lease.expiresAt.getTime() - now) / 1000);
  return { expiresAt: lease.expiresAt.toISOString(), secondsLeft: left, expired: left <= 0 };
}

/** The warning every command gives about a resource of the tool's past its lease. */
export function expiredWarning(what: string, lease: Lease, now: number): string {
  return `${what}: ${describeLease(lease, now)}; it was created by sparkify-warehouse and still costs money: \`cluster sweep --yes\` deletes it, \`cluster extend --ttl 4h\` keeps it.`;
}
