/**
 * Text widths for vega's layout. Without a canvas (we render in Node, and
 * node-canvas is a native build we do without), vega guesses 0.8 em for
 * every character, about half again too wide for the sans-serif the page
 * uses: labels were cut short and titles pushed away. Here each character
 * gets its advance width in Arial / Liberation Sans (metric-compatible fonts;
 * the page asks for them first), from the fonts' published metrics, in
 * thousandths of an em. vega supports a custom `textMetrics.width` (vl-convert
 * sets one the same way).
 */
import * as vega from 'vega';

// Advance widths of ASCII 32 (space) to 126 (~).
const ASCII = [
  278,
  278,
  355,
  556,
  556,
  889,
  667,
  191,
  333,
  333,
  389,
  584,
  278,
  333,
  278,
  278, // space to /
  556,
  556,
  556,
  556,
  556,
  556,
  556,
  556,
  556,
  556,
  278,
  278,
  584,
  584,
  584,
  556, // 0 to ?
  1015,
  667,
  667,
  722,
  722,
  667,
  611,
  778,
  722,
  278,
  500,
  667,
  556,
  833,
  722,
  778, // @ to O
  667,
  778,
  722,
  667,
  611,
  722,
  667,
  944,
  667,
  667,
  611,
  278,
  278,
  278,
  469,
  556, // P to _
  333,
  556,
  556,
  500,
  556,
  556,
  278,
  556,
  556,
  222,
  222,
  500,
  222,
  833,
  556,
  556, // ` to o
  556,
  556,
  333,
  500,
  278,
  556,
  500,
  722,
  500,
  500,
  500,
  334,
  260,
  334,
  584, // p to ~
];
/** Anything else (accents, dashes, CJK): a wide guess, so that it is never cut short. */
const OTHER = 650;

interface TextItem {
  fontSize?: number | string;
  fontWeight?: string | number;
  limit?: number;
}

export function textWidth(text: string, fontSize: number, bold = false): number {
  let units = 0;
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    units += code >= 32 && code <= 126 ? (ASCII[code - 32] ?? OTHER) : OTHER;
  }
  return (units / 1000) * fontSize * (bold ? 1.08 : 1);
}

function itemWidth(item: TextItem, text: unknown): number {
  const size = item.fontSize !== undefined ? Number(item.fontSize) || 0 : 11;
  const bold = item.fontWeight === 'bold' || Number(item.fontWeight) >= 600;
  const raw = textWidth(String(text ?? '').trim(), size, bold);
  // vega truncates a label longer than its limit: such a label is the limit wide.
  return item.limit !== undefined && item.limit > 0 ? Math.min(raw, item.limit) : raw;
}

let installed = false;

/** Makes vega measure text with these widths (once per process). */
export function useFontMetrics(): void {
  if (installed) return;
  (vega as unknown as { textMetrics: { width: (item: TextItem, text: unknown) => number } }).textMetrics.width =
    itemWidth;
  installed = true;
}
