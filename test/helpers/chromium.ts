/**
 * Debian's Chromium for the browser tests. Mandatory in CI (CI or
 * REQUIRE_CHROMIUM set); elsewhere the tests that need it are registered as
 * skipped, with the reason in their title.
 */
import { chromiumInstalled, CHROMIUM_PATH } from '../../lib/report/page/chromium.ts';

export const chromiumAvailable = chromiumInstalled();
export const chromiumRequired = Boolean(process.env['CI']) || Boolean(process.env['REQUIRE_CHROMIUM']);

if (chromiumRequired && !chromiumAvailable) {
  throw new Error(`CI or REQUIRE_CHROMIUM is set but ${CHROMIUM_PATH} is missing (apt-get install chromium)`);
}
if (!chromiumAvailable)
  process.stderr.write(`browser tests skipped: ${CHROMIUM_PATH} not found (apt-get install chromium)\n`);

export function chromiumTitle(title: string): string {
  return chromiumAvailable ? title : `${title} (skipped: ${CHROMIUM_PATH} not found; apt-get install chromium)`;
}
