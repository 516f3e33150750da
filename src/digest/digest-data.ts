import type { PaperRecord } from '../model/paper.ts';

/**
 * The plain data one digest is rendered from. Selection produces it; rendering reads it.
 * Every string here is raw (unescaped) text: escaping is the renderer's job.
 */
export interface DigestData {
  recipient: { email: string; name: string | null };
  /** `daily` or `weekly`: used in the subject line and the "why you get this" footer. */
  frequency: 'daily' | 'weekly';
  /** When the digest was assembled, ISO 8601; shown as the digest's date. */
  generatedAt: string;
  sections: DigestSection[];
  /** Papers selected across all sections (after caps). */
  paperCount: number;
  /** Papers that matched but were left out by the per-topic or per-digest cap. */
  omittedCount: number;
  links: DigestLinks;
}

export interface DigestSection {
  topic: { id: string; name: string };
  papers: DigestPaper[];
  /** Papers of this topic left out by the per-topic cap ("N more"). */
  moreCount: number;
}

export interface DigestPaper
  extends Pick<PaperRecord, 'title' | 'abstract' | 'authors' | 'authorCount' | 'organization' | 'publishedOn' | 'upvotes' | 'comments'> {
  id: string;
  /** Link for the title: arXiv abs page when the id is known, else a Hugging Face papers search. */
  url: string;
}

export interface DigestLinks {
  preferences: string;
  unsubscribe: string;
  /** Where "all of today's papers" lives; the Hugging Face Daily Papers page by default. */
  archive: string;
}
