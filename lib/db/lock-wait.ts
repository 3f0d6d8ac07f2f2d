/**
 * Says on stderr what a statement waits for when another session holds a
 * lock it needs. The warehouse lock says so itself (lib/db/lock.ts); but a
 * migration also needs the tables it changes (ACCESS EXCLUSIVE for ALTER or
 * DROP TABLE), and a session that merely read one in an open transaction (a
 * report, a psql left open, an analyst's tool) made `migrate down` and
 * `migrate up` wait without a word (issue 26). While a statement runs longer
 * than FIRST_MS, and every EVERY_MS after, the dialect's lockWaitSql asks,
 * from a connection of its own, whether its backend waits for a lock and who
 * holds it; only a wait is said. A query that fails (no such view, no right
 * to see it) is said once at --verbose and not asked again.
 */
import type { Connection } from './connection.ts';
import type { Database } from './database.ts';
import type { Logger } from '../log.ts';

const FIRST_MS = 1_000;
const EVERY_MS = 10_000;

interface LockWaitRow {
  relation: string;
  mode: string;
  blocker_pid: number;
  blocker_user: string | null;
  blocker_application: string | null;
  blocker_state: string | null;
  blocker_seconds: number | string | null;
}

function holder(r: LockWaitRow): string {
  const parts = [r.blocker_user, r.blocker_application, r.blocker_state].filter(
    (x): x is string => typeof x === 'string' && x.trim() !== '',
  );
  if (r.blocker_seconds !== null) parts.push(`its transaction open ${Number(r.blocker_seconds)}s`);
  return `pid ${r.blocker_pid} (${parts.join(', ')})`;
}

/**
 * `client` with its statements watched: while one waits for a lock another
 * session holds, says which table, which lock and who holds it. `what` names
 * the run (`migrate down`). `end()` also closes the watching connection.
 */
export function reportingLockWaits(db: Database, client: Connection, what: string, log: Logger): Connection {
  let admin: Promise<Connection> | undefined;
  let broken = false;
  const ask = async (started: number): Promise<void> => {
    const pid = client.backendPid;
    if (broken || pid === undefined) return;
    try {
      admin ??= db.connect();
      const { rows } = await (await admin).query<LockWaitRow>(db.dialect.lockWaitSql, [pid]);
      const first = rows[0];
      if (!first) return;
      const waited = Math.round((Date.now() - started) / 1000);
      log.info(
        `Waiting (${waited}s) for ${first.mode} on ${first.relation}, held by ${rows.map(holder).join('; ')}: ${what} goes on when that transaction ends (to end it now: SELECT pg_terminate_backend(${first.blocker_pid}))…`,
      );
    } catch (err) {
      broken = true;
      log.debug(`Could not see what ${what} waits for: ${(err as Error).message}`);
    }
  };
  const watched = async <T>(run: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const tick = () => {
      void ask(started).finally(() => {
        if (timer !== undefined) timer = setTimeout(tick, EVERY_MS);
      });
    };
    timer = setTimeout(tick, FIRST_MS);
    try {
      return await run();
    } finally {
      clearTimeout(timer);
      timer = undefined;
    }
  };
  return {
    query: (sql, values) => watched(() => client.query(sql, values)),
    script: (sql) => watched(() => client.script(sql)),
    get copyFromStdin() {
      return client.copyFromStdin;
    },
    get backendPid() {
      return client.backendPid;
    },
    onLost: (listener) => client.onLost(listener),
    explain: (err) => client.explain(err),
    async end() {
      if (admin) await (await admin.catch(() => undefined))?.end().catch(() => undefined);
      await client.end();
    },
  };
}
