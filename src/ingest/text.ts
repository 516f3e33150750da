/** Whitespace other than a plain space: a wrap, a tab, a no-break space. */
const NON_SPACE_WHITESPACE = /[^\S ]/;

function isOneCleanLine(text: string): boolean {
  return text.length > 0 && text[0] !== ' ' && text[text.length - 1] !== ' ' && !text.includes('  ') && !NON_SPACE_WHITESPACE.test(text);
}

/** Whitespace runs (including hard wraps from arXiv/HF) become single spaces. */
export function unwrap(text: string): string {
  // Most dump text is already one clean line: skip the copy then (ingest's hottest path).
  return isOneCleanLine(text) ? text : text.replace(/\s+/g, ' ').trim();
}

/** Abstracts in dumps sometimes end `... pipeline .`: the space carries no meaning. */
export function tidyAbstract(text: string): string {
  const unwrapped = unwrap(text);
  const length = unwrapped.length;
  if (length >= 2 && unwrapped[length - 2] === ' ' && '.!?'.includes(unwrapped[length - 1]!)) {
    return unwrapped.slice(0, length - 2) + unwrapped[length - 1];
  }
  return unwrapped;
}
