/**
 * Logging goes to stderr (results go to stdout, so output pipes). Every line is
 * redacted. The Logger shape is the one node-pg-migrate's runner accepts.
 */
import { redact } from './redact.ts';

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface LoggerOptions {
  readonly verbose?: boolean;
  readonly quiet?: boolean;
  readonly write?: (line: string) => void;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const out = (prefix: string) => (message: string) => write(redact(`${prefix}${message}`));
  const none = () => undefined;
  return {
    debug: options.verbose ? out('debug: ') : none,
    info: options.quiet ? none : out(''),
    warn: out('warning: '),
    error: out('error: '),
  };
}

/** A logger that drops everything (tests, library use). */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
