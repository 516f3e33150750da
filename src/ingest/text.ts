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

/** UTF-8 read as Latin-1 and encoded again: `RamÃ­rez` for `Ramírez` (seen in real arXiv feeds). */
const MOJIBAKE = /[\u00c2-\u00f4][\u0080-\u00bf]/;

/** Repairs doubly encoded UTF-8 when the whole string decodes cleanly; anything else is left as it is. */
export function repairMojibake(text: string): string {
  if (!MOJIBAKE.test(text) || /[^\u0000-\u00ff]/.test(text)) return text;
  const repaired = Buffer.from(text, 'latin1').toString('utf8');
  return repaired.includes('\uFFFD') ? text : repaired;
}
