import { launchChromium } from './lib/report/page/chromium.ts';
const b = await launchChromium();
const p = await b.newPage({ viewport: { width: 1280, height: 1000 } });
await p.goto(process.argv[2] ?? 'file:///tmp/rep/index.html');
const h = await p.evaluate(() => document.documentElement.scrollHeight);
for (let y = 0, i = 1; y < h; y += 1000, i++) await p.screenshot({ path: `/tmp/c${i}.png`, clip: { x: 0, y, width: 1280, height: Math.min(1000, h - y) }, fullPage: true });
console.log(h);
await b.close();
