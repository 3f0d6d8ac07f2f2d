/**
 * Splits a SQL script into its statements at top-level semicolons, skipping
 * those inside string literals (escape strings E'…' with backslash escapes
 * included), quoted identifiers, comments (`--`, `/* *\/`) and dollar-quoted
 * bodies (`$$…$$`, `$tag$…$tag$`, a tag being an identifier without `$`:
 * letters, digits after the first, _). The Data API runs one statement per
 * call (ExecuteStatement), so an ad-hoc script is sent statement by statement.
 */
const DOLLAR_TAG = /^\$(?:[A-Za-z_\u0080-\uffff][A-Za-z_0-9\u0080-\uffff]*)?\$/;

/** An E'…' string: the quote follows an E that does not end a longer identifier. */
const isEscapeString = (script: string, quoteAt: number) =>
  quoteAt > 0 && /[eE]/.test(script[quoteAt - 1] as string) && !/[A-Za-z0-9_$]/.test(script[quoteAt - 2] ?? ' ');

export function splitStatements(script: string): string[] {
  const out: string[] = [];
  let start = 0;
  let i = 0;
  const push = (end: number) => {
    const sql = script.slice(start, end).trim();
    if (stripComments(sql).trim()) out.push(sql);
  };
  while (i < script.length) {
    const c = script[i] as string;
    const next = script[i + 1];
    if (c === '-' && next === '-') {
      const end = script.indexOf('\n', i);
      i = end === -1 ? script.length : end;
    } else if (c === '/' && next === '*') {
      const end = script.indexOf('*/', i + 2);
      i = end === -1 ? script.length : end + 2;
    } else if (c === "'" || c === '"') {
      const backslashEscapes = c === "'" && isEscapeString(script, i);
      let j = i + 1;
      while (j < script.length) {
        if (backslashEscapes && script[j] === '\\') j += 2;
        else if (script[j] === c) {
          if (script[j + 1] === c) j += 2;
          else break;
        } else j += 1;
      }
      i = j + 1;
    } else if (c === '$' && !/[A-Za-z0-9_]/.test(script[i - 1] ?? ' ') && DOLLAR_TAG.test(script.slice(i, i + 64))) {
      const tag = (DOLLAR_TAG.exec(script.slice(i, i + 64)) as RegExpExecArray)[0];
      const end = script.indexOf(tag, i + tag.length);
      i = end === -1 ? script.length : end + tag.length;
    } else if (c === ';') {
      push(i);
      i += 1;
      start = i;
    } else {
      i += 1;
    }
  }
  push(script.length);
  return out;
}

export function stripComments(sql: string): string {
  return sql.replace(/\/\*[\s\S]*?\*\//g, '').replace(/--[^\n]*/g, '');
}
