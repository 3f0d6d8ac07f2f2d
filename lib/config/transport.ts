/**
 * Transport settings: how long the tool waits on S3 and the warehouse before
 * it calls a connection dead, and how often a cut S3 read is tried. Every
 * wait has a bound by default, so that a store or server that stops
 * answering fails the run (exit 1) instead of hanging it; docs/settings.md
 * lists them.
 */
import { setting } from './setting.ts';

export interface TransportSettings {
  /** S3_CONNECT_TIMEOUT_SECONDS: a TCP/TLS connection to S3 not made in this time fails (and is retried). */
  readonly s3ConnectTimeoutMs: number;
  /** S3_IDLE_TIMEOUT_SECONDS: an S3 request or body that receives nothing for this long fails (and is retried). */
  readonly s3IdleTimeoutMs: number;
  /** S3_READ_ATTEMPTS: how many times an object whose body arrived short or cut is read before the run fails. */
  readonly s3ReadAttempts: number;
  /** PG_CONNECT_TIMEOUT_SECONDS: a connection to PostgreSQL/Redshift (pg wire) not made in this time fails. */
  readonly pgConnectTimeoutMs: number;
  /** PG_QUERY_TIMEOUT_SECONDS: a statement (pg wire) not answered in this time fails and its connection is closed; 0: no limit. */
  readonly pgQueryTimeoutMs: number;
  /**
   * PG_KEEPALIVE_SECONDS: TCP keep-alive on every pg connection after this
   * idle time; and the warehouse lock's keep-alive query must answer within
   * it, or the lock counts as lost.
   */
  readonly pgKeepAliveMs: number;
  /** DATA_API_CONNECT_TIMEOUT_SECONDS: a connection to the Data API endpoint not made in this time fails (and is retried). */
  readonly dataApiConnectTimeoutMs: number;
  /** DATA_API_REQUEST_TIMEOUT_SECONDS: a Data API request that receives nothing for this long fails (and is retried). */
  readonly dataApiRequestTimeoutMs: number;
  /** DATA_API_STATEMENT_TIMEOUT_SECONDS: how long a Data API statement is polled (DescribeStatement) before the run gives it up and fails. */
  readonly dataApiStatementTimeoutMs: number;
  /** STOP_TIMEOUT_SECONDS: after a first SIGINT/SIGTERM or a lost lock, the process exits within this time even when nothing answers. */
  readonly stopTimeoutMs: number;
}

/**
 * Each setting: its name, default, bounds, unit (seconds are turned into
 * milliseconds) and what it does. docs/settings.md's table of them is
 * generated from this list (`npm run docs`; test/docs.test.ts keeps it equal).
 */
const SETTINGS = {
  s3ConnectTimeoutMs: {
    name: 'S3_CONNECT_TIMEOUT_SECONDS',
    default: 10,
    min: 1,
    max: 3600,
    seconds: true,
    what: 'a connection to S3 not made in this time fails and is retried',
  },
  s3IdleTimeoutMs: {
    name: 'S3_IDLE_TIMEOUT_SECONDS',
    default: 60,
    min: 1,
    max: 3600,
    seconds: true,
    what: 'an S3 request or object body that receives nothing for this long fails and is retried ([S3 reads](operations.md#s3-reads))',
  },
  s3ReadAttempts: {
    name: 'S3_READ_ATTEMPTS',
    default: 3,
    min: 1,
    max: 20,
    seconds: false,
    what: 'how many GETs an object whose body arrived short or cut may take (the later ones read on from where it stopped) before the load fails naming it',
  },
  pgConnectTimeoutMs: {
    name: 'PG_CONNECT_TIMEOUT_SECONDS',
    default: 30,
    min: 1,
    max: 3600,
    seconds: true,
    what: 'a connection to PostgreSQL or Redshift (the pg wire protocol) not made in this time fails',
  },
  pgQueryTimeoutMs: {
    name: 'PG_QUERY_TIMEOUT_SECONDS',
    default: 21600,
    min: 0,
    max: 604800,
    seconds: true,
    what: 'a statement (pg wire) not answered in this time fails and its connection is closed; 0: no limit',
  },
  pgKeepAliveMs: {
    name: 'PG_KEEPALIVE_SECONDS',
    default: 30,
    min: 1,
    max: 3600,
    seconds: true,
    what: "TCP keep-alive on every pg connection after this idle time; the warehouse lock's keep-alive query must answer within it, or the lock counts as lost",
  },
  dataApiConnectTimeoutMs: {
    name: 'DATA_API_CONNECT_TIMEOUT_SECONDS',
    default: 10,
    min: 1,
    max: 3600,
    seconds: true,
    what: 'a connection to the Redshift Data API endpoint not made in this time fails and is retried',
  },
  dataApiRequestTimeoutMs: {
    name: 'DATA_API_REQUEST_TIMEOUT_SECONDS',
    default: 60,
    min: 1,
    max: 3600,
    seconds: true,
    what: 'a Data API request that receives nothing for this long fails and is retried',
  },
  dataApiStatementTimeoutMs: {
    name: 'DATA_API_STATEMENT_TIMEOUT_SECONDS',
    default: 21600,
    min: 1,
    max: 604800,
    seconds: true,
    what: 'how long a Data API statement is polled (DescribeStatement) before the run cancels it and fails',
  },
  stopTimeoutMs: {
    name: 'STOP_TIMEOUT_SECONDS',
    default: 10,
    min: 1,
    max: 600,
    seconds: true,
    what: 'after a first SIGINT/SIGTERM or a lost warehouse lock, the process exits within this time even when nothing answers',
  },
} as const satisfies Record<
  keyof TransportSettings,
  { name: string; default: number; min: number; max: number; seconds: boolean; what: string }
>;

/** The transport settings as docs/settings.md lists them: name, default, bounds and what each does. */
export const TRANSPORT_SETTINGS: readonly {
  readonly name: string;
  readonly default: number;
  readonly min: number;
  readonly max: number;
  readonly what: string;
}[] = Object.values(SETTINGS);

export const DEFAULT_TRANSPORT: TransportSettings = Object.freeze(
  Object.fromEntries(
    Object.entries(SETTINGS).map(([key, s]) => [key, s.seconds ? s.default * 1000 : s.default]),
  ) as unknown as TransportSettings,
);

/** The transport settings from the environment; a malformed one is added to `problems`, naming it. */
export function transportSettings(
  env: Readonly<Record<string, string | undefined>>,
  problems: string[],
): TransportSettings {
  const out: Record<string, number> = {};
  for (const [key, s] of Object.entries(SETTINGS)) {
    const text = setting(env, s.name);
    const value = text === undefined ? s.default : Number(text);
    if (!/^\d+$/.test(text ?? '0') || value < s.min || value > s.max) {
      problems.push(`${s.name}: expected a whole number from ${s.min} to ${s.max}, got '${text}'`);
    }
    out[key] = s.seconds ? value * 1000 : value;
  }
  return Object.freeze(out as unknown as TransportSettings);
}
