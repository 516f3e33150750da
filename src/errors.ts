/**
 * One table of error codes, as nodemailer keeps one: callers branch on `code`, never on
 * message text, and the CLI prints `message` as the single line a user sees.
 */
export const ErrorCodes = {
  CONFIG_INVALID: 'a PAPERBOY_* variable has a value the schema rejects',
  USAGE: 'a command was called with arguments it does not take',
  INPUT_MISSING: 'a named input file does not exist',
  INPUT_NOT_FILE: 'a named input is a directory or other non-file',
  INPUT_TOO_LARGE: 'an input file is over PAPERBOY_MAX_LISTING_BYTES',
  INPUT_EMPTY: 'an input file has no content',
  INPUT_BINARY: 'an input file holds binary data',
  INPUT_ENCODING: 'an input file is not valid UTF-8',
  INPUT_HTML: 'an input file is an HTML page, not a listing',
  INPUT_UNKNOWN_FORMAT: 'an input file matches none of the listing formats',
  INPUT_MALFORMED: 'an input file is of a known format but broken',
  TAXONOMY_INVALID: 'the topic file does not parse or fails validation',
  STORE_OPEN: 'the database file cannot be opened or is not a Paperboy database',
  STORE_SCHEMA: 'the database was written by a newer Paperboy',
  SUBSCRIBER_STATE: 'a subscriber is not in the state an action needs (already subscribed, not bounced)',
  NOT_FOUND: 'a named paper, subscriber or run does not exist',
  SUBSCRIBER_INVALID: 'a subscriber field (email, topics, frequency) is invalid',
  TEMPLATE_INVALID: 'a template does not compile or fails MJML validation',
  LEASE_HELD: 'another run holds the delivery lease',
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export class PaperboyError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PaperboyError';
    this.code = code;
  }
}

export function isPaperboyError(error: unknown, code?: ErrorCode): error is PaperboyError {
  return error instanceof PaperboyError && (code === undefined || error.code === code);
}

/** One line for a person: our own message, or the first line of anything unexpected. */
export function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split(/\r?\n/, 1)[0] ?? '';
}
