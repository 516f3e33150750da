import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

/**
 * Structured logs on stderr, so stdout stays one clean document for `--json`. Without an
 * explicit level: info on a terminal, only warnings and errors when piped or scheduled.
 */
export function createLogger(level: string | undefined, verbose = false): Logger {
  const isTerminal = Boolean(process.stderr.isTTY);
  const effective = verbose ? 'debug' : (level ?? (isTerminal ? 'info' : 'warn'));
  if (isTerminal) {
    return pino({ level: effective }, pretty({ destination: 2, sync: true, colorize: true, ignore: 'pid,hostname' }));
  }
  return pino({ level: effective, base: undefined }, pino.destination({ fd: 2, sync: true }));
}
