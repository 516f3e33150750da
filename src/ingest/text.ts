/** Whitespace runs (including hard wraps from arXiv/HF) become single spaces. */
export function unwrap(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** Abstracts in dumps sometimes end `... pipeline .`: the space carries no meaning. */
export function tidyAbstract(text: string): string {
  return unwrap(text).replace(/\s+([.!?])$/, '$1');
}
