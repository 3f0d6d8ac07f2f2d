/**
 * Debian's Chromium driven by playwright-core (which downloads no browser of
 * its own): used by `report --png` and by the browser tests. Headless, no
 * sandbox (root in CI), and no background networking, so the browser itself
 * makes no requests.
 */
import { ConfigError } from '../../errors.ts';
import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
] as const;

export function chromiumInstalled(executablePath: string = CHROMIUM_PATH): boolean {
  return existsSync(executablePath);
}

export async function launchChromium(executablePath: string = CHROMIUM_PATH): Promise<Browser> {
  if (!chromiumInstalled(executablePath))
    throw new ConfigError([
      `Chromium not found at ${executablePath}: install it (apt-get install chromium) or pass --browser PATH`,
    ]);
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath, args: [...CHROMIUM_ARGS] });
}
