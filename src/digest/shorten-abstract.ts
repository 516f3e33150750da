import { plainText } from './format.ts';

const ELLIPSIS = '…';
// Characters past the budget a cut may look at: a sentence end and the next sentence's start.
const LOOKAHEAD = 8;

// Words that end in a period without ending the sentence, as they appear in abstracts.
const ABBREVIATIONS = new Set([
  'al', 'approx', 'cf', 'e.g', 'eq', 'eqs', 'fig', 'figs', 'i.e', 'ref', 'refs', 'resp', 'sec',
  'vs', 'w.r.t',
]);
const SENTENCE_END = /[.!?]["'”’)\]]*(?=\s)/g;
const SENTENCE_START = /^\s+["'“‘(\[]?\p{Lu}/u;
const DANGLING = /[\s,;:·(\[–—-]+$/u;

/**
 * An abstract cut to at most `max` characters for a digest: whole sentences when a sentence
 * boundary keeps at least half the budget, else whole words with an ellipsis. Whitespace is
 * collapsed to single spaces first.
 */
export function shortenAbstract(text: string, max = 400): string {
  // Only the head of a long abstract is shown, so only the head is cleaned; the rest is
  // looked at only when whitespace collapsing leaves the head too short to decide the cut.
  const decisive = max + LOOKAHEAD;
  const head = plainText(text.slice(0, 2 * decisive));
  const clean = head.length > decisive ? head : plainText(text);
  if (clean.length <= max) return clean;
  const sentencesEnd = lastSentenceEnd(clean, max);
  if (sentencesEnd >= max / 2) return clean.slice(0, sentencesEnd);
  return cutAtWord(clean, max);
}

/**
 * `text` cut at a word boundary to at most `max` characters including the ellipsis. A single
 * "word" longer than the budget (a URL, a run of LaTeX) is cut hard: a budget is a promise.
 */
export function cutAtWord(text: string, max: number): string {
  if (text.length <= max) return text;
  const limit = max - ELLIPSIS.length;
  const space = text.lastIndexOf(' ', limit);
  const end = space > 0 ? space : codePointBoundary(text, limit);
  return text.slice(0, end).replace(DANGLING, '') + ELLIPSIS;
}

function lastSentenceEnd(text: string, max: number): number {
  let best = 0;
  for (const match of text.matchAll(SENTENCE_END)) {
    const end = match.index + match[0].length;
    if (end > max) break;
    if (SENTENCE_START.test(text.slice(end, end + 4)) && !endsWithAbbreviation(text, match.index)) {
      best = end;
    }
  }
  return best;
}

/** True when the word right before the period at `dot` is an abbreviation or an initial. */
function endsWithAbbreviation(text: string, dot: number): boolean {
  const word = text.slice(text.lastIndexOf(' ', dot - 1) + 1, dot).replace(/^[("'“‘\[]+/u, '');
  return ABBREVIATIONS.has(word.toLowerCase()) || /^\p{L}$/u.test(word);
}

/** `index`, moved back one if it would split a surrogate pair. */
function codePointBoundary(text: string, index: number): number {
  const code = text.charCodeAt(index - 1);
  return code >= 0xd800 && code <= 0xdbff ? index - 1 : index;
}
