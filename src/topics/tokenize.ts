/**
 * Turns paper text and taxonomy phrases into the same token keys, so that a phrase matches
 * text whatever its plural, verb ending, hyphenation, accents or LaTeX residue.
 *
 * Every word gets a `key` (lower case, light stem). A word with a capital letter also
 * gets an `exact` key (`=` + surface form, acronym plural dropped): taxonomy terms written
 * with a capital (LLM, PDE, MoE, Lean) match only that, so `Lean 4` is not `lean`.
 */

/**
 * Written joined, hyphenated or spaced (`pretraining`, `pre-training`, `pre training`): joined
 * to the next word so all three spellings meet. None of these stands alone in English prose.
 */
const JOINING_PREFIXES = new Set(['pre', 'post', 'multi', 'fine', 'non', 'semi', 'co', 're', 'sub', 'hyper']);

/** A whitespace-delimited run holding one of these is a link: its words are not the paper's. */
const URL_MARKERS = ['://', 'www.', '.com/', '.org/', '.io/', '.net/', '.ai/', '.edu/'];
const ASCII_LOWER = /^[a-z]+$/;
const ACRONYM_PLURAL = /^(?=.*\p{Lu}.*\p{Lu})(.*[\p{Lu}\p{N}])s$/u;
const LETTER = /\p{L}/u;

const SEPARATOR = 0;
const LETTERS = 1;
const DIGITS = 2;
/** Character classes of ASCII, looked up instead of a regex: tokenizing is the hot loop. */
const ASCII_KIND = new Uint8Array(128);
for (let c = 48; c <= 57; c++) ASCII_KIND[c] = DIGITS;
for (let c = 65; c <= 90; c++) ASCII_KIND[c] = LETTERS;
for (let c = 97; c <= 122; c++) ASCII_KIND[c] = LETTERS;

/** First letters of the joining prefixes, either case: most words are ruled out without lower-casing. */
const JOINING_INITIAL = new Uint8Array(128);
for (const prefix of JOINING_PREFIXES) {
  JOINING_INITIAL[prefix.charCodeAt(0)] = 1;
  JOINING_INITIAL[prefix.toUpperCase().charCodeAt(0)] = 1;
}

/**
 * Calls `visit` with each word of `text`, after cleaning. Words are runs of letters or of
 * digits (`10sim100times` is 10 / sim / 100 / times, `GPT4` is GPT / 4); everything else
 * separates them. A joining prefix arrives glued to its word (`pre-training` → `pretraining`).
 */
export function forEachWord(text: string, visit: (surface: string) => void): void {
  const clean = cleanText(text);
  const n = clean.length;
  let pending: string | null = null;
  let pendingEnd = 0;
  let i = 0;
  while (i < n) {
    const first = clean.charCodeAt(i);
    const kind = first < 128 ? (ASCII_KIND[first] ?? SEPARATOR) : kindAt(clean, i);
    if (kind === SEPARATOR) {
      i++;
      continue;
    }
    const start = i;
    for (; i < n; i++) {
      const code = clean.charCodeAt(i);
      if ((code < 128 ? ASCII_KIND[code] : kindAt(clean, i)) !== kind) break;
    }
    let surface = clean.slice(start, i);
    if (pending !== null) {
      if (kind === LETTERS && start - pendingEnd <= 2 && isJoinGap(clean, pendingEnd, start)) surface = pending + surface;
      else visit(pending);
      pending = null;
    }
    if (kind === LETTERS && surface.length <= 5 && JOINING_INITIAL[first] === 1 && JOINING_PREFIXES.has(surface.toLowerCase())) {
      pending = surface;
      pendingEnd = i;
      continue;
    }
    visit(surface);
  }
  if (pending !== null) visit(pending);
}

/** The `[key, exact key]` of one word. */
export function wordKeys(surface: string): [string, string | undefined] {
  const lower = surface.toLowerCase();
  // A lone capital (the D of 3D, a sentence-initial A) says nothing about case-sensitivity.
  if (lower === surface || surface.length < 2) return [stem(lower), undefined];
  return [stem(lower), `=${surface.endsWith('s') ? surface.replace(ACRONYM_PLURAL, '$1') : surface}`];
}

/** The key sequence a taxonomy phrase is matched by: exact keys for words with a capital. */
export function phraseKeys(phrase: string): string[] {
  const keys: string[] = [];
  forEachWord(phrase, (surface) => {
    const [key, exact] = wordKeys(surface);
    keys.push(exact ?? key);
  });
  return keys;
}

/** The class of a non-ASCII character (the ASCII ones are looked up in ASCII_KIND inline). */
function kindAt(text: string, i: number): number {
  return LETTER.test(text.charAt(i)) ? LETTERS : SEPARATOR;
}

function cleanText(text: string): string {
  let clean = stripUrls(text);
  if (clean.includes('\\')) {
    // Accent commands glue to their letter (Schr\"odinger); named commands (\em, \tt) are noise.
    clean = clean.replace(/\\["'`^~=.]/g, '').replace(/\\[a-zA-Z]+/g, ' ');
  }
  if (/[^\x00-\x7f]/.test(clean)) {
    clean = clean.normalize('NFKD').replace(/\p{M}+/gu, '');
    if (/[^\x00-\x7f]/.test(clean)) return clean;
  }
  // V8 stores a string two bytes per character when its source had any wide character (a
  // whole listing file with one ö), and a scan loop fed both kinds runs a third slower.
  // ASCII text is copied into the one-byte kind, so the loop only ever sees that.
  return Buffer.from(clean, 'latin1').toString('latin1');
}

function stripUrls(text: string): string {
  if (!text.includes('/') && !text.includes('www.')) return text;
  // Parts joined at the end give a flat string; `+=` would give a rope, slow to scan by index.
  const parts: string[] = [];
  let from = 0;
  for (let at = nextUrlMarker(text, 0); at >= 0; at = nextUrlMarker(text, from)) {
    let start = at;
    while (start > from && !isSpace(text.charCodeAt(start - 1))) start--;
    let end = at;
    while (end < text.length && !isSpace(text.charCodeAt(end))) end++;
    parts.push(text.slice(from, start));
    from = end;
  }
  if (parts.length === 0) return text;
  parts.push(text.slice(from));
  return parts.join(' ');
}

function nextUrlMarker(text: string, from: number): number {
  let first = -1;
  for (const marker of URL_MARKERS) {
    const at = text.indexOf(marker, from);
    if (at >= 0 && (first < 0 || at < first)) first = at;
  }
  return first;
}

function isSpace(code: number): boolean {
  return code === 32 || code === 10 || code === 9 || code === 13;
}

function isJoinGap(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text[i];
    if (c !== '-' && c !== ' ' && c !== '\u2010' && c !== '\u2011') return false;
  }
  return true;
}

/**
 * Words kept as they are: their stem is a taxonomy word they do not mean. `coding` (gradient
 * coding, video coding, coding schemes) is not `code`; `coding agent` is a phrase of its own.
 */
const UNSTEMMED = new Set(['coding', 'coded']);

/**
 * A light Porter-style stemmer: plurals, -ing/-ed (undoubling `planned`, restoring the e of
 * `coding`), a final e on long stems, and British -ise spellings. It needs only to send the
 * forms of one word to one key; the key need not be a real word.
 */
export function stem(word: string): string {
  if (word.length <= 3 || !ASCII_LOWER.test(word) || UNSTEMMED.has(word)) return word;
  let s = word;
  if (s.length > 5) s = s.replace(/is(e|es|ed|ing|ation|ations|er|ers)$/, 'iz$1').replace(/ys(e|es|ed|ing)$/, 'yz$1');
  if (s.endsWith('sses')) s = s.slice(0, -2);
  else if (s.endsWith('ies') && s.length > 4) s = `${s.slice(0, -3)}y`;
  else if (s.endsWith('s') && !/(?:ss|us|is)$/.test(s)) s = s.slice(0, -1);

  if (s.endsWith('ization')) return s.slice(0, -5);
  const base = s.endsWith('ing') ? s.slice(0, -3) : s.endsWith('ed') && !s.endsWith('eed') ? s.slice(0, -2) : null;
  if (base !== null && base.length >= 3 && hasVowel(base)) {
    if (/([bcdfghjklmnpqrtvwxy])\1$/.test(base)) return base.slice(0, -1);
    return measure(base) === 1 && endsCvc(base) ? `${base}e` : base;
  }
  if (s.endsWith('e')) {
    const bare = s.slice(0, -1);
    const m = measure(bare);
    if (m > 1 || (m === 1 && !endsCvc(bare))) return bare;
  }
  return s;
}

function isConsonant(word: string, i: number): boolean {
  const c = word[i];
  if (c === 'a' || c === 'e' || c === 'i' || c === 'o' || c === 'u') return false;
  if (c === 'y') return i === 0 || !isConsonant(word, i - 1);
  return true;
}

function hasVowel(word: string): boolean {
  for (let i = 0; i < word.length; i++) if (!isConsonant(word, i)) return true;
  return false;
}

/** Porter's m: the number of vowel-consonant sequences. */
function measure(word: string): number {
  let m = 0;
  let previousVowel = false;
  for (let i = 0; i < word.length; i++) {
    const vowel = !isConsonant(word, i);
    if (!vowel && previousVowel) m++;
    previousVowel = vowel;
  }
  return m;
}

/** Consonant-vowel-consonant at the end, the last not w/x/y: `cod`, `prun`, `scal`. */
function endsCvc(word: string): boolean {
  const n = word.length;
  if (n < 3) return false;
  const last = word[n - 1];
  return isConsonant(word, n - 3) && !isConsonant(word, n - 2) && isConsonant(word, n - 1) && last !== 'w' && last !== 'x' && last !== 'y';
}
