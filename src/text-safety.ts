/**
 * Characters that carry no text but change how text is shown: C0/C1 controls (a terminal
 * escape is one) and the bidirectional overrides and isolates (U+202E shows an address
 * backwards). They are stripped where text enters (listings, subscriber names) and escaped
 * where it is printed.
 */
const CONTROLS = '\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f';
const BIDI_CONTROLS = '\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069';

const INVISIBLE = new RegExp(`[${CONTROLS}${BIDI_CONTROLS}]`, 'g');

/** The text without controls and bidi overrides (newlines and tabs stay). */
export function stripInvisible(text: string): string {
  return text.replace(INVISIBLE, '');
}

/** The text with every control and bidi override written out as `\u{…}`, for a terminal. */
export function escapeForTerminal(text: string): string {
  return text.replace(INVISIBLE, (character) => `\\u{${character.codePointAt(0)!.toString(16)}}`);
}
