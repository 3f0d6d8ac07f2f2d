/**
 * A PNG of the report page, taken by Debian's Chromium (`report --png FILE`;
 * the picture in docs/report.md). Any request other than the page itself is refused
 * and reported, so the picture shows what an offline reader sees.
 */
import { pathToFileURL } from 'node:url';
import { launchChromium } from './chromium.ts';

export interface ScreenshotOptions {
  readonly browser?: string;
  /** CSS pixels; the page is laid out at this width. */
  readonly width?: number;
  /** Only the top of the page, this many CSS pixels tall (the whole page when absent). */
  readonly height?: number;
}

export async function screenshotReport(
  htmlFile: string,
  pngFile: string,
  options: ScreenshotOptions = {},
): Promise<void> {
  const browser = await launchChromium(options.browser);
  try {
    const page = await browser.newPage({ viewport: { width: options.width ?? 1280, height: options.height ?? 900 } });
    const url = pathToFileURL(htmlFile).href;
    const refused: string[] = [];
    await page.route('**/*', (route) => {
      if (route.request().url() === url) return route.continue();
      refused.push(route.request().url());
      return route.abort();
    });
    await page.goto(url, { waitUntil: 'load' });
    if (refused.length > 0)
      throw new Error(`the report asked for ${refused.length} other resource(s), e.g. ${refused[0]}`);
    await page.screenshot({ path: pngFile, fullPage: options.height === undefined });
  } finally {
    await browser.close();
  }
}
