/**
 * A lint for SQL rendered for Redshift: fails on constructs Redshift rejects or
 * silently changes (each rule names its reason below). It reads a whole script,
 * so it can also tell when a TRUNCATE would commit an open transaction.
 */

import { splitStatements, stripComments } from '../../lib/db/split-statements.ts';

export interface LintFinding {
  readonly statement: number;
  readonly rule: string;
  readonly message: string;
  readonly sql: string;
}

export { splitStatements };

/** The statement with comments removed and string literals emptied, so rules see only SQL. */
function codeOf(sql: string): string {
  return stripComments(sql).replace(/'(?:[^']|'')*'/g, "''");
}

interface Rule {
  readonly name: string;
  readonly message: string;
  test(code: string): boolean;
}

const WRITE = /^\s*(insert|update|delete|merge|create\s+table|alter\s+table)\b/i;

const RULES: readonly Rule[] = [
  {
    name: 'serial',
    message: 'SERIAL/BIGSERIAL types and sequences do not exist on Redshift: use IDENTITY(seed, step)',
    test: (c) => /\b(small|big)?serial[248]?\b|\bnextval\s*\(/i.test(c),
  },
  {
    name: 'bare-varchar',
    message: 'VARCHAR/CHARACTER VARYING without a length is VARCHAR(256) on Redshift: give the byte length',
    test: (c) => /\b(varchar|character\s+varying|nvarchar)\b(?!\s*\()/i.test(c),
  },
  {
    name: 'text-type',
    message: 'TEXT is VARCHAR(256) on Redshift: use VARCHAR(n) with a byte length',
    test: (c) => /^\s*(create|alter)\b/i.test(c) && /\s\btext\b(?!\s*\()/i.test(c),
  },
  {
    name: 'bare-decimal',
    message: 'DECIMAL/NUMERIC without precision and scale is scale 0 on Redshift: write DECIMAL(p, s)',
    test: (c) => /\b(decimal|numeric)\b(?!\s*\()/i.test(c),
  },
  {
    name: 'json-type',
    message: 'JSON/JSONB columns do not exist on Redshift: use VARCHAR or SUPER',
    test: (c) => /^\s*(create|alter)\b/i.test(c) && /\bjsonb?\b/i.test(c),
  },
  {
    name: 'on-conflict',
    message: 'Redshift has no INSERT … ON CONFLICT: dedupe, then MERGE or delete-by-key + insert',
    test: (c) => /\bon\s+conflict\b/i.test(c),
  },
  {
    name: 'create-index',
    message: 'Redshift has no indexes: use a SORTKEY',
    test: (c) => /^\s*create\s+(unique\s+)?index\b/i.test(c),
  },
  {
    name: 'advisory-lock',
    message: 'Advisory lock functions do not exist on Redshift: use LOCK TABLE in a transaction',
    test: (c) => /\bpg_(try_)?advisory_(xact_)?(un)?lock(_shared|_all)?\s*\(/i.test(c),
  },
  {
    name: 'leader-only-time',
    message:
      'NOW()/CURRENT_TIMESTAMP are leader-node-only on Redshift and fail in writes to user tables: use GETDATE() or SYSDATE',
    test: (c) => WRITE.test(c) && /\bnow\s*\(\s*\)|\bcurrent_timestamp\b|\btimeofday\s*\(/i.test(c),
  },
  {
    name: 'copy-stdin',
    message: 'Redshift COPY cannot read from STDIN',
    test: (c) => /^\s*copy\b[\s\S]*\bfrom\s+stdin\b/i.test(c),
  },
  {
    name: 'is-distinct-from',
    message: 'IS [NOT] DISTINCT FROM is not supported on Redshift',
    test: (c) => /\bis\s+(not\s+)?distinct\s+from\b/i.test(c),
  },
  // Redshift's MERGE grammar has WHEN MATCHED in every form (https://docs.aws.amazon.com/redshift/latest/dg/r_MERGE.html).
  {
    name: 'merge-without-matched',
    message:
      "A MERGE with only WHEN NOT MATCHED is not in Redshift's MERGE grammar: INSERT … SELECT with an anti-join instead",
    test: (c) => /^\s*merge\b/i.test(c) && !/\bwhen\s+matched\b/i.test(c),
  },
  {
    name: 'generated-identity-pg',
    message: 'PostgreSQL identity syntax: Redshift wants IDENTITY(seed, step)',
    test: (c) => /\bgenerated\s+(always|by\s+default)\s+as\s+identity\b(?!\s*\(\s*\d+\s*,)/i.test(c),
  },
];

/** Lints a Redshift script. An empty array means it passed. */
export function lintRedshift(script: string): LintFinding[] {
  const findings: LintFinding[] = [];
  let inTransaction = false;
  splitStatements(script).forEach((sql, index) => {
    const code = codeOf(sql).trim();
    for (const rule of RULES) {
      if (rule.test(code)) findings.push({ statement: index + 1, rule: rule.name, message: rule.message, sql });
    }
    if (/^(begin|start\s+transaction)\b/i.test(code)) inTransaction = true;
    else if (/^(commit|end|rollback|abort)\b/i.test(code)) inTransaction = false;
    else if (/^truncate\b/i.test(code) && inTransaction) {
      findings.push({
        statement: index + 1,
        rule: 'truncate-in-transaction',
        message: 'TRUNCATE commits the open transaction on Redshift: use DELETE inside a transaction',
        sql,
      });
    }
  });
  return findings;
}

export function formatFindings(findings: readonly LintFinding[]): string {
  return findings
    .map((f) => `statement ${f.statement} [${f.rule}]: ${f.message}\n    ${f.sql.split('\n')[0]}`)
    .join('\n');
}
