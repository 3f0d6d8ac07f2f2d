/**
 * Platform (Windows, Mac, Linux, iPhone, …) and browser (Chrome, Firefox,
 * Safari, …) from a user agent string, with bowser (a maintained parser)
 * rather than our own patterns. Sparkify's log wraps many user agents in
 * double quotes; they are taken off first.
 */
import Bowser from 'bowser';

export interface Platform {
  readonly platform: string;
  readonly browser: string;
}

const UNKNOWN: Platform = { platform: 'Unknown', browser: 'Unknown' };

export function parseUserAgent(userAgent: string | null | undefined): Platform {
  const ua = (userAgent ?? '').trim().replace(/^"(.*)"$/, '$1');
  if (ua === '') return UNKNOWN;
  const parsed = Bowser.parse(ua);
  const os = parsed.os.name ?? '';
  const model = parsed.platform.model ?? '';
  let platform: string;
  if (os === 'iOS') platform = model === 'iPad' || /iPad/.test(ua) ? 'iPad' : 'iPhone';
  else if (os === 'macOS') platform = 'Mac';
  else if (os === 'Windows' || os === 'Linux' || os === 'Android' || os === 'Chrome OS') platform = os;
  else platform = os === '' ? 'Other' : os;
  return { platform, browser: parsed.browser.name ?? 'Other' };
}

/** Rows of (user_agent, plays, users) summed by platform and browser, most plays first. */
export function playsByPlatform(
  rows: readonly { user_agent: unknown; plays: unknown }[],
): { platform: string; browser: string; plays: number }[] {
  const sums = new Map<string, { platform: string; browser: string; plays: number }>();
  for (const row of rows) {
    const p = parseUserAgent(typeof row.user_agent === 'string' ? row.user_agent : null);
    const key = `${p.platform}\n${p.browser}`;
    const entry = sums.get(key) ?? { ...p, plays: 0 };
    entry.plays += Number(row.plays);
    sums.set(key, entry);
  }
  return [...sums.values()].sort(
    (a, b) => b.plays - a.plays || a.platform.localeCompare(b.platform) || a.browser.localeCompare(b.browser),
  );
}
