/**
 * Logging goes to stderr (results go to stdout, so output pipes). Every line is
 * redacted with the run's secrets. The debug/info/warn/error shape is the one
 * node-pg-migrate's runner accepts; `secret` adds a value to mask, for code
 * that learns one at run time (temporary credentials, a generated password).
 */
import { Secrets } from './redact.ts';

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  secret(...values: readonly (string | undefined | null)[]): void;
}

export interface LoggerOptions {
  readonly verbose?: boolean;
  readonly quiet?: boolean;
  readonly write?: (line: string) => void;
  /** The run's secrets (shared with what prints results and errors). */
  readonly secrets?: Secrets;
  /** json: each line one JSON object {time, level, message} (--log-format json), for log collectors. */
  readonly format?: 'text' | 'json' | undefined;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const secrets = options.secrets ?? new Secrets();
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const json = options.format === 'json';
  const out = (prefix: string) => {
    const level = prefix === '' ? 'info' : prefix.replace(/: $/, '');
    return json
      ? (message: string) =>
          write(JSON.stringify({ time: new Date().toISOString(), level, message: secrets.redact(message) }))
      : (message: string) => write(secrets.redact(`${prefix}${message}`));
  };
  const none = () => undefined;
  return {
    debug: options.verbose ? out('debug: ') : none,
    info: options.quiet ? none : out(''),
    warn: out('warning: '),
    error: out('error: '),
    secret: (...values) => secrets.add(...values),
  };
}

/** A logger that drops everything (tests, library use). */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  secret: () => undefined,
};
