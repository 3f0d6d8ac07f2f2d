/**
 * The schema diagram as Mermaid `erDiagram` text, for README.md and
 * docs/data-model.md (GitHub renders it). test/docs.test.ts checks that their
 * blocks are exactly this, so they cannot drift from the migrations.
 * Regenerate them with `npm run docs` (`npm run report -- --mermaid` prints it).
 */
import type { SchemaColumn, SchemaModel, SchemaTable } from './schema-model.ts';

// Mermaid attribute types may hold letters, digits, '_', '-', '(' and ')' only.
const mermaidType = (type: string) => type.replace(/ /g, '_');

function keysOf(c: SchemaColumn): string {
  const keys = [c.primaryKey ? 'PK' : '', c.references ? 'FK' : '', c.naturalKey ? 'UK' : ''].filter(Boolean);
  return keys.length > 0 ? ` ${keys.join(', ')}` : '';
}

function commentOf(table: SchemaTable, c: SchemaColumn, first: boolean): string {
  const notes = [
    c.identity ? 'IDENTITY' : '',
    c.notNull ? 'NOT NULL' : '',
    c.distKey ? 'DISTKEY' : '',
    c.sortKey !== undefined ? (table.sortKey.length > 1 ? `SORTKEY ${c.sortKey}` : 'SORTKEY') : '',
    // A table-wide distribution style has no column of its own: noted on the first column.
    first && !table.distribution.startsWith('DISTKEY')
      ? `table ${table.distribution}${table.backupNo ? ' BACKUP NO' : ''}`
      : '',
    first && table.distribution.startsWith('DISTKEY') && table.backupNo ? 'table BACKUP NO' : '',
  ].filter(Boolean);
  return notes.length > 0 ? ` "${notes.join(', ')}"` : '';
}

export function erdMermaid(model: SchemaModel): string {
  const lines = ['erDiagram'];
  for (const r of model.relations) {
    // ||: exactly one dimension row; |o: zero or one (a NULL song_id); o{: a dimension row has zero or more plays.
    lines.push(`    ${r.to} ${r.nullable ? '|o' : '||'}--o{ ${r.from} : "${r.column}"`);
  }
  for (const table of model.tables) {
    lines.push(`    ${table.name} {`);
    table.columns.forEach((c, i) =>
      lines.push(`        ${mermaidType(c.type)} ${c.name}${keysOf(c)}${commentOf(table, c, i === 0)}`),
    );
    lines.push('    }');
  }
  return `${lines.join('\n')}\n`;
}
