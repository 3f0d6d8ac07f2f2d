/**
 * What JSON.parse forgets, read back from a record's text: a number's JSON
 * text as written (12345678901234567890 and 1.50, which a JavaScript number
 * cannot keep), and where in a record a syntax error is (Node 20's JSON.parse
 * names no position for an unexpected token). jsonc-parser gives every value's
 * offset and keeps repeated keys, so the last one is taken, as JSON.parse does.
 * Only called for the few values and records that need it.
 */
import { parse, parseTree, type Node, type ParseError } from 'jsonc-parser';
import type { PathSegment } from './json-mapping.ts';

/** The member of an object or the element of an array that `segment` reads in JavaScript, or undefined. */
function child(node: Node, segment: PathSegment): Node | undefined {
  if (node.type === 'object') {
    const key = String(segment);
    let found: Node | undefined;
    for (const member of node.children ?? []) {
      if (member.children?.[0]?.value === key) found = member.children[1]; // the last one wins
    }
    return found;
  }
  if (node.type === 'array') {
    const index = typeof segment === 'number' ? segment : /^(0|[1-9]\d*)$/.test(segment) ? Number(segment) : -1;
    return index >= 0 ? node.children?.[index] : undefined;
  }
  return undefined;
}

/** The JSON text of the number at `path` in a valid JSON text, or undefined when it is not a number found there. */
export function numberTextAt(text: string, path: readonly PathSegment[]): string | undefined {
  let node: Node | undefined;
  try {
    node = parseTree(text, undefined, { disallowComments: true });
  } catch {
    return undefined; // nested too deeply for the parser's recursion
  }
  for (const segment of path) {
    if (!node) return undefined;
    node = child(node, segment);
  }
  return node?.type === 'number' ? text.slice(node.offset, node.offset + node.length) : undefined;
}

/** The offset of the first syntax error in a text that JSON.parse refused, or undefined when none is found. */
export function syntaxErrorOffset(text: string): number | undefined {
  const errors: ParseError[] = [];
  try {
    parse(text, errors, { disallowComments: true, allowTrailingComma: false });
  } catch {
    return undefined;
  }
  return errors[0]?.offset;
}
