/** What a parser reads out of one listing entry: plain data, no identity decided yet. */
export interface PaperRecord {
  /** arXiv id without version (`2410.17243`, `quant-ph/0210005`), when the source names one. */
  arxivId: string | null;
  title: string;
  abstract: string;
  /** Author names when the source lists them; empty when only a count is known. */
  authors: string[];
  /** Author count when known (from the names, or a dump's "• 5 authors" line). */
  authorCount: number | null;
  /** Organization shown instead of authors (HF dumps, HF API `organization`). */
  organization: string | null;
  /** Publication date, `YYYY-MM-DD`. */
  publishedOn: string | null;
  upvotes: number | null;
  comments: number | null;
  /** Source keywords used as classifier evidence: HF `ai_keywords`. */
  keywords: string[];
  /** arXiv categories, primary first. */
  categories: string[];
  links: PaperLinks;
  /** True when the entry was cut off (last block of a truncated dump): its abstract is partial. */
  truncated: boolean;
}

export interface PaperLinks {
  github?: string;
  project?: string;
  pdf?: string;
}

export type ListingFormat = 'hf-dump' | 'hf-api' | 'arxiv-atom';

export interface ParseWarning {
  /** 1-based line in the source file where the problem starts, when known. */
  line?: number;
  message: string;
}

export interface ParsedListing {
  format: ListingFormat;
  /** The listing's own date, `YYYY-MM-DD`, when the format states one. */
  listedOn: string | null;
  papers: PaperRecord[];
  warnings: ParseWarning[];
}

/** A record with only a title: parsers fill in what their format knows. */
export function emptyRecord(title: string): PaperRecord {
  return {
    arxivId: null,
    title,
    abstract: '',
    authors: [],
    authorCount: null,
    organization: null,
    publishedOn: null,
    upvotes: null,
    comments: null,
    keywords: [],
    categories: [],
    links: {},
    truncated: false,
  };
}
