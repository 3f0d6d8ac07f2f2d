/**
 * Splits a SQL script into its statements at top-level semicolons, skipping
 * those inside string literals, quoted identifiers, comments (`--`, `/* *\/`)
 * and dollar-quoted bodies. The Data API runs one statement per call
 * (ExecuteStatement), so an ad-hoc script is sent statement by statement.
 */
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
      let j = i + 1;
      while (j < script.length) {
        if (script[j] === c) {
          if (script[j + 1] === c) j += 2;
          else break;
        } else j += 1;
      }
      i = j + 1;
    } else if (c === '$' && /^\$[A-Za-z_]*\$/.test(script.slice(i))) {
      const tag = (/^\$[A-Za-z_]*\$/.exec(script.slice(i)) as RegExpExecArray)[0];
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
