/**
 * Schema names the tool creates and sets as the search_path: lowercase, so
 * that quoted and unquoted spellings name the same schema on both engines
 * (Redshift folds identifiers to lowercase); at most 63 bytes (PostgreSQL's
 * limit); not pg_… (reserved for system schemas on both engines).
 */
export function checkSchemaName(name: string): string | undefined {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name) || name.startsWith('pg_') || name === 'information_schema') {
    return `expected a lowercase schema name (letters, digits and _, starting with a letter or _, at most 63, not pg_… or information_schema), got '${name}'`;
  }
  return undefined;
}
