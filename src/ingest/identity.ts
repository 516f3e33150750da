/**
 * Paper identity (FORMATS.md): the arXiv id without version when known, otherwise a
 * normalized title key. Both live in one namespace: `arxiv:<id>` / `title:<key>`.
 */

const NEW_STYLE_ID = /^(\d{4}\.\d{4,5})(v\d+)?$/;
const ASCII_ONLY = /^[\x00-\x7f]*$/;
const OLD_STYLE_ID = /^([a-z-]+(?:\.[A-Z]{2})?\/\d{7})(v\d+)?$/;

/** `2401.01234v2` → `2401.01234`; `quant-ph/0210005v1` → `quant-ph/0210005`; else null. */
export function normalizeArxivId(raw: string): string | null {
  const text = raw.trim();
  const match = NEW_STYLE_ID.exec(text) ?? OLD_STYLE_ID.exec(text);
  return match?.[1] ?? null;
}

/** The arXiv id in an abs/pdf URL such as `http://arxiv.org/abs/2202.12139v1`. */
export function arxivIdFromUrl(url: string): string | null {
  const match = /arxiv\.org\/(?:abs|pdf)\/(.+?)(?:\.pdf)?\/?$/i.exec(url.trim());
  return match?.[1] ? normalizeArxivId(match[1]) : null;
}

/**
 * NFKC, case-folded, every run of non-letter/non-digit characters collapsed to one space,
 * so `Socratic-Zero : X` and `Socratic-Zero: X` meet.
 */
export function titleKey(title: string): string {
  // In plain ASCII, NFKC changes nothing and the letters and digits are a-z and 0-9 once
  // lowercased: a byte-class pattern then does what the Unicode one does, several times faster.
  if (ASCII_ONLY.test(title)) return title.toLowerCase().replace(/[^a-z0-9]+/g, ' ').trim();
  return title
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

export function paperId(arxivId: string | null, title: string): string {
  return arxivId ? `arxiv:${arxivId}` : `title:${titleKey(title)}`;
}
