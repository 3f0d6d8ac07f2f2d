/**
 * What to change when the server refuses a statement for a reason outside the
 * statement itself: a statement_timeout, a read-only session, a missing
 * privilege. The server's own message says what happened ("permission denied
 * for table songplays"), not which setting or privilege to change; SqlError
 * (lib/errors.ts) adds this as its `why:` line. Recognised by SQLSTATE on the
 * wire (57014, 25006, 42501) and by the message where there is none (the Data
 * API gives only the text: "ERROR: permission denied for relation songplays").
 *
 * PostgreSQL: statement_timeout ("Abort any statement that takes more than
 * the specified amount of time",
 * https://www.postgresql.org/docs/current/runtime-config-client.html),
 * default_transaction_read_only, privileges per command
 * (https://www.postgresql.org/docs/current/ddl-priv.html). Redshift has the
 * same settings and privileges (statement_timeout:
 * https://docs.aws.amazon.com/redshift/latest/dg/r_statement_timeout.html;
 * GRANT: https://docs.aws.amazon.com/redshift/latest/dg/r_GRANT.html).
 */

const STATEMENT_TIMEOUT = /canceling statement due to statement timeout/i;
const READ_ONLY = /in a read-only transaction|read-only transaction|cannot execute \S+ in a read-only/i;
const DENIED = /permission denied for (table|relation|schema|sequence|database) "?([\w.$]+)"?/i;
const NOT_OWNER = /must be (?:the )?owner of (table|relation|schema|sequence) "?([\w.$]+)"?/i;

/** The statement's command word, and the table it writes (INSERT INTO x, MERGE INTO x, UPDATE x, …). */
function commandAndTarget(statement: string): { command: string; target: string | undefined } {
  const text = statement
    .replace(/--[^\n]*/g, ' ')
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .trim();
  const command = (/^([A-Za-z]+)/.exec(text)?.[1] ?? '').toUpperCase();
  const target =
    /^(?:INSERT\s+INTO|MERGE\s+INTO|UPDATE(?:\s+ONLY)?|DELETE\s+FROM(?:\s+ONLY)?|TRUNCATE(?:\s+TABLE)?|COPY|LOCK(?:\s+TABLE)?)\s+"?([\w.$]+)"?/i.exec(
      text,
    )?.[1];
  return { command, target };
}

const bare = (name: string) => name.replace(/^.*\./, '').toLowerCase();

/** The privileges a command needs on the table it writes (ddl-priv.html, per privilege: which commands need it). */
function privilegesFor(command: string, statement: string): string[] {
  switch (command) {
    case 'INSERT':
      return /\bON\s+CONFLICT\b[\s\S]*\bDO\s+UPDATE\b/i.test(statement) ? ['INSERT', 'UPDATE'] : ['INSERT'];
    case 'UPDATE':
      return ['SELECT', 'UPDATE'];
    case 'DELETE':
      return ['SELECT', 'DELETE'];
    case 'MERGE': {
      const actions = ['INSERT', 'UPDATE', 'DELETE'].filter((a) =>
        new RegExp(`\\bTHEN\\s+${a}\\b`, 'i').test(statement),
      );
      return ['SELECT', ...(actions.length > 0 ? actions : ['INSERT', 'UPDATE'])];
    }
    case 'TRUNCATE':
      return ['TRUNCATE'];
    case 'COPY':
      return ['INSERT'];
    case 'LOCK':
      // ACCESS EXCLUSIVE, LOCK TABLE's default: "requires … UPDATE, DELETE, or TRUNCATE" (any one).
      return ['UPDATE'];
    default:
      return ['SELECT'];
  }
}

/** What to change, in one line, when `message` (and `sqlstate`) says the server refused for a reason outside the statement. */
export function refusalWhy(sqlstate: string | undefined, message: string, statement: string): string | undefined {
  if ((sqlstate === '57014' || sqlstate === undefined) && STATEMENT_TIMEOUT.test(message))
    return (
      'the server stopped the statement at its statement_timeout (this tool sets none: it comes from the role, ' +
      "the database, the server's configuration or PGOPTIONS; on Redshift also a WLM timeout); raise it for the " +
      "loading role, e.g. ALTER ROLE <user> SET statement_timeout = '6h' (or 0 for none), or load less at a time (--incremental)"
    );
  if (sqlstate === '25006' || (sqlstate === undefined && READ_ONLY.test(message)))
    return (
      'the session is read-only: default_transaction_read_only is on (for the role or the database: ' +
      'ALTER ROLE <user> SET default_transaction_read_only = off), or the server is a standby or read replica ' +
      '(point DATABASE_URL at the primary)'
    );
  if (sqlstate !== '42501' && sqlstate !== undefined) return undefined;
  const owner = NOT_OWNER.exec(message);
  if (owner) {
    const { command } = commandAndTarget(statement);
    return `only the owner of ${owner[1]?.toLowerCase()} ${owner[2]} may run this ${command || 'statement'}: run it as the owner, or make the loading user the owner (ALTER TABLE ${owner[2]} OWNER TO <user>)`;
  }
  const denied = DENIED.exec(message);
  if (!denied) return undefined;
  const kind = (denied[1] ?? '').toLowerCase();
  const name = denied[2] ?? '';
  if (kind === 'schema')
    return `the user lacks a privilege on schema ${name}: USAGE to use its tables, CREATE to create them (GRANT USAGE, CREATE ON SCHEMA ${name} TO <user>)`;
  if (kind === 'sequence')
    return `the user lacks a privilege on sequence ${name}: USAGE to draw ids from it (GRANT USAGE ON SEQUENCE ${name} TO <user>)`;
  if (kind === 'database')
    return `the user lacks a privilege on database ${name}: CONNECT, and CREATE to create a schema (GRANT CONNECT, CREATE ON DATABASE ${name} TO <user>)`;
  const { command, target } = commandAndTarget(statement);
  // The table the statement writes needs its command's privileges; any other table it names, SELECT.
  const privileges = target && bare(target) === bare(name) ? privilegesFor(command, statement) : ['SELECT'];
  const which = command === 'LOCK' ? 'UPDATE, DELETE or TRUNCATE (any one)' : privileges.join(', ');
  return `the user lacks a privilege on ${name}: this ${command || 'statement'} needs ${which} on it (GRANT ${privileges.join(', ')} ON ${name} TO <user>)`;
}
