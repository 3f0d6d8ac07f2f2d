/**
 * The sslmode of a connection URL, as pg is to read it. pg 8 treats
 * sslmode=prefer, require and verify-ca as verify-full (TLS, the certificate
 * checked against the host name) and prints a nine-line "SECURITY WARNING"
 * about a future change for every URL that names them, which a dwh.cfg and
 * the README's Redshift URL (`?sslmode=require`) do. Rewriting them to
 * verify-full keeps exactly what pg does today (so no connection is weaker
 * than before) without the warning. Redshift's certificates are issued by ACM
 * and publicly trusted, so verify-full works against a cluster endpoint:
 * https://docs.aws.amazon.com/redshift/latest/mgmt/connecting-ssl-support.html
 * (Amazon Redshift Management Guide, "Configuring security options for
 * connections"). A URL that asks for libpq's own meanings
 * (uselibpqcompat=true) is left as it is.
 */
const ALIASES_OF_VERIFY_FULL = new Set(['prefer', 'require', 'verify-ca']);

export function withExplicitSslMode(url: string): string {
  const query = url.indexOf('?');
  if (query < 0) return url;
  const params = new URLSearchParams(url.slice(query + 1));
  const mode = params.get('sslmode');
  if (mode === null || !ALIASES_OF_VERIFY_FULL.has(mode) || params.get('uselibpqcompat') === 'true') return url;
  params.set('sslmode', 'verify-full');
  return `${url.slice(0, query)}?${params.toString()}`;
}
