import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

let terminalWriter: ((text: string) => void) | undefined;

/** While a progress display shows, log lines go through it (above the bar), not straight to stderr. */
export function setTerminalWriter(writer: ((text: string) => void) | undefined): void {
  terminalWriter = writer;
}

/** stderr, or the progress display while one shows. */
const humanStderr = new Writable({
  write(chunk: Buffer | string, _encoding, done) {
    const text = chunk.toString();
    if (terminalWriter) terminalWriter(text);
    else process.stderr.write(text);
    done();
  },
});

export interface LogOptions {
  verbose?: boolean;
  /** `--json`: logs as JSON lines (stdout holds the one JSON document), for a machine to read. */
  json?: boolean;
  /** The level when PAPERBOY_LOG_LEVEL is unset (`serve`: info, so its journal shows each run and sign-up). */
  defaultLevel?: string;
}

/**
 * Logs on stderr, so stdout stays the command's own output. For a person (no --json): one
 * readable line per event, coloured on a terminal, plain text when piped or in a journal.
 * Without an explicit level: info on a terminal, only warnings and errors otherwise.
 */
export function createLogger(level: string | undefined, options: LogOptions | boolean = {}): Logger {
  const { verbose = false, json = false, defaultLevel } = typeof options === 'boolean' ? { verbose: options } : options;
  const isTerminal = Boolean(process.stderr.isTTY);
  const effective = verbose ? 'debug' : (level ?? defaultLevel ?? (isTerminal ? 'info' : 'warn'));
  if (json) return pino({ level: effective, base: undefined }, pino.destination({ fd: 2, sync: true }));
  return pino(
    { level: effective },
    pretty({
      destination: humanStderr,
      sync: true,
      colorize: isTerminal,
      ignore: 'pid,hostname',
      // A journal stamps its own time; a terminal gets the clock time only.
      translateTime: 'SYS:HH:MM:ss',
      singleLine: true,
    }),
  );
}
