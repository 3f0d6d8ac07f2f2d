/**
 * The schema diagram as SVG: one box per table (name, role, Redshift
 * distribution and sort key, then its columns with type and key badges), the
 * fact table in the middle, the dimensions either side with a line from each
 * foreign key to the key it references, the staging tables below. Every size
 * and position is computed from the model (monospace text, so widths follow
 * from character counts); nothing is placed by hand.
 */
import type { SchemaColumn, SchemaModel, SchemaTable } from './schema-model.ts';
import { escapeHtml } from './html-escape.ts';

const FONT = "'DejaVu Sans Mono', 'Liberation Mono', Menlo, Consolas, monospace";
const FONT_SIZE = 12;
/** Advance width of one character of the monospace fonts above at 12px (0.6 em), with a little slack. */
const CHAR = 7.4;
const ROW = 18;
const HEADER = 40;
const PAD = 8;
const GAP_X = 90;
const GAP_Y = 28;
const MARGIN = 16;

const COLORS: Record<SchemaTable['role'], { head: string; text: string }> = {
  fact: { head: '#b45309', text: '#ffffff' },
  dimension: { head: '#1d4ed8', text: '#ffffff' },
  staging: { head: '#6b7280', text: '#ffffff' },
};

function badges(c: SchemaColumn): string {
  return [
    c.primaryKey ? 'PK' : '',
    c.references ? 'FK' : '',
    c.naturalKey ? 'UK' : '',
    c.distKey ? 'DK' : '',
    c.sortKey !== undefined ? `S${c.sortKey}` : '',
  ]
    .filter(Boolean)
    .join(' ');
}

interface Box {
  readonly table: SchemaTable;
  readonly width: number;
  readonly height: number;
  readonly nameChars: number;
  readonly typeChars: number;
  x: number;
  y: number;
}

const roleLabel = (t: SchemaTable) => (t.role === 'fact' ? 'fact' : t.role === 'dimension' ? 'dimension' : 'staging');
const keysLine = (t: SchemaTable) =>
  `${t.distribution}${t.sortKey.length > 0 ? ` · SORTKEY (${t.sortKey.join(', ')})` : ''}${t.backupNo ? ' · BACKUP NO' : ''}`;

function measure(table: SchemaTable): Box {
  const nameChars = Math.max(...table.columns.map((c) => c.name.length));
  const typeChars = Math.max(...table.columns.map((c) => c.type.length));
  const badgeChars = Math.max(0, ...table.columns.map((c) => badges(c).length));
  const rowChars = nameChars + 2 + typeChars + 2 + badgeChars;
  const headChars = Math.max(`${table.name}  ${roleLabel(table)}`.length, keysLine(table).length * 0.85);
  const width = Math.ceil(Math.max(rowChars, headChars) * CHAR + 2 * PAD);
  return { table, width, height: HEADER + table.columns.length * ROW + PAD, nameChars, typeChars, x: 0, y: 0 };
}

const rowY = (box: Box, column: string) =>
  box.y + HEADER + box.table.columns.findIndex((c) => c.name === column) * ROW + ROW / 2 + 2;

function stack(boxes: Box[], x: number, top: number, alignRight = false, columnWidth = 0): number {
  let y = top;
  for (const b of boxes) {
    b.x = alignRight ? x + columnWidth - b.width : x;
    b.y = y;
    y += b.height + GAP_Y;
  }
  return boxes.length > 0 ? y - GAP_Y : top;
}

function drawBox(b: Box): string {
  const t = b.table;
  const color = COLORS[t.role];
  const out: string[] = [];
  out.push(`<g class="erd-table" data-table="${escapeHtml(t.name)}">`);
  out.push(
    `<rect x="${b.x}" y="${b.y}" width="${b.width}" height="${b.height}" rx="4" fill="#ffffff" stroke="${color.head}" stroke-width="1.5"/>`,
  );
  out.push(
    `<path d="M${b.x} ${b.y + 4} a4 4 0 0 1 4 -4 h${b.width - 8} a4 4 0 0 1 4 4 v${HEADER - 6} h${-b.width} z" fill="${color.head}"/>`,
  );
  out.push(
    `<text x="${b.x + PAD}" y="${b.y + 16}" fill="${color.text}" font-weight="bold">${escapeHtml(t.name)}<tspan font-weight="normal" font-size="11" dx="8">${roleLabel(t)}</tspan></text>`,
  );
  out.push(
    `<text x="${b.x + PAD}" y="${b.y + 31}" fill="${color.text}" font-size="10">${escapeHtml(keysLine(t))}</text>`,
  );
  t.columns.forEach((c, i) => {
    const y = b.y + HEADER + i * ROW + ROW / 2 + 6;
    const key = c.primaryKey || c.references !== undefined;
    if (i % 2 === 1)
      out.push(
        `<rect x="${b.x + 1}" y="${b.y + HEADER + i * ROW + 2}" width="${b.width - 2}" height="${ROW}" fill="#f3f4f6"/>`,
      );
    out.push(
      `<text x="${b.x + PAD}" y="${y}"${key ? ' font-weight="bold"' : ''} fill="#111827">${escapeHtml(c.name)}</text>`,
    );
    out.push(`<text x="${b.x + PAD + (b.nameChars + 2) * CHAR}" y="${y}" fill="#4b5563">${escapeHtml(c.type)}</text>`);
    const badge = badges(c);
    if (badge)
      out.push(
        `<text x="${b.x + b.width - PAD}" y="${y}" text-anchor="end" fill="#b45309" font-size="11">${badge}</text>`,
      );
  });
  out.push('</g>');
  return out.join('');
}

export function erdSvg(model: SchemaModel): string {
  const boxes = new Map(model.tables.map((t) => [t.name, measure(t)]));
  const all = [...boxes.values()];
  const facts = all.filter((b) => b.table.role === 'fact');
  // Dimensions in the order of the fact columns that reference them, the first
  // half on the left and the rest on the right, so that no two lines cross.
  const fact = facts[0]?.table;
  const referencedAt = (b: Box) => {
    const r = model.relations.find((rel) => rel.to === b.table.name);
    return fact && r ? fact.columns.findIndex((c) => c.name === r.column) : Infinity;
  };
  const dims = all.filter((b) => b.table.role === 'dimension').sort((a, b) => referencedAt(a) - referencedAt(b));
  const staging = all.filter((b) => b.table.role === 'staging');
  const left = dims.slice(0, Math.ceil(dims.length / 2));
  const right = dims.slice(Math.ceil(dims.length / 2));
  const widest = (bs: Box[]) => Math.max(0, ...bs.map((b) => b.width));
  const heightOf = (bs: Box[]) =>
    bs.length === 0 ? 0 : bs.reduce((s, b) => s + b.height, 0) + GAP_Y * (bs.length - 1);
  const leftW = widest(left);
  const centerW = widest(facts);
  const rightW = widest(right);
  const starH = Math.max(heightOf(left), heightOf(facts), heightOf(right));
  const top = MARGIN + 22;
  stack(left, MARGIN, top + (starH - heightOf(left)) / 2, true, leftW);
  stack(facts, MARGIN + leftW + GAP_X, top + (starH - heightOf(facts)) / 2);
  stack(right, MARGIN + leftW + GAP_X + centerW + GAP_X, top + (starH - heightOf(right)) / 2);
  const starW = leftW + centerW + rightW + 2 * GAP_X;
  const stagingW = staging.reduce((s, b) => s + b.width, 0) + GAP_X * Math.max(0, staging.length - 1);
  const stagingTop = top + starH + 60;
  let x = MARGIN + Math.max(0, (starW - stagingW) / 2);
  for (const b of staging) {
    b.x = x;
    b.y = stagingTop;
    x += b.width + GAP_X;
  }
  const width = Math.ceil(Math.max(starW, stagingW) + 2 * MARGIN);
  const height = Math.ceil(stagingTop + Math.max(0, ...staging.map((b) => b.height)) + MARGIN);

  const lines: string[] = [];
  for (const r of model.relations) {
    const from = boxes.get(r.from);
    const to = boxes.get(r.to);
    if (!from || !to) continue;
    const toLeft = to.x + to.width / 2 < from.x;
    const x1 = toLeft ? from.x : from.x + from.width;
    const x2 = toLeft ? to.x + to.width : to.x;
    const y1 = rowY(from, r.column);
    const y2 = rowY(to, r.toColumn);
    const bend = (toLeft ? -1 : 1) * GAP_X * 0.5;
    lines.push(
      `<g class="erd-relation" data-from="${r.from}.${r.column}" data-to="${r.to}.${r.toColumn}">` +
        `<path d="M${x1} ${y1} C${x1 + bend} ${y1}, ${x2 - bend} ${y2}, ${x2} ${y2}" fill="none" stroke="#374151" stroke-width="1.3"${r.nullable ? ' stroke-dasharray="5 3"' : ''}/>` +
        `<text x="${x1 + (toLeft ? -4 : 4)}" y="${y1 - 4}" font-size="11" text-anchor="${toLeft ? 'end' : 'start'}" fill="#374151">N</text>` +
        `<text x="${x2 + (toLeft ? 4 : -4)}" y="${y2 - 4}" font-size="11" text-anchor="${toLeft ? 'start' : 'end'}" fill="#374151">${r.nullable ? '0..1' : '1'}</text>` +
        '</g>',
    );
  }
  const captionY = stagingTop - 12;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" class="erd" role="img" aria-label="Entity-relationship diagram of the star schema" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" font-family="${FONT}" font-size="${FONT_SIZE}">`,
    `<text x="${MARGIN}" y="${MARGIN + 6}" font-size="12" fill="#374151">Star schema: the fact table joins each dimension on its key (solid: always set; dashed: NULL when the play matched no song).</text>`,
    ...lines,
    ...all.map(drawBox),
    staging.length > 0
      ? `<text x="${MARGIN}" y="${captionY}" font-size="12" fill="#374151">Staging: what COPY loads from the JSON sources; the load fills the star tables from them.</text>`
      : '',
    '</svg>',
  ].join('\n');
}
