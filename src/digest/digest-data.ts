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
  /** Papers in this digest that matched an earlier one but did not fit it. */
  carriedCount: number;
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
  /** Link for the title: the first of `links`, else a Hugging Face papers search by title. */
  url: string;
  /** Where readers go: Hugging Face page, arXiv abstract, PDF, code, project page, as known. */
  links: PaperLink[];
}

export interface PaperLink {
  label: 'Hugging Face' | 'arXiv' | 'PDF' | 'Code' | 'Project page';
  url: string;
}

export interface DigestLinks {
  preferences: string;
  unsubscribe: string;
  /** This digest on Paperboy's server, everything that did not fit included ("View in browser"). */
  view: string;
  /** The public archive of past digests by topic. */
  archive: string;
}
