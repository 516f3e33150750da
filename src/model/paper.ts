/**
 * Papers as every stage sees them: what a parser reads out of a listing entry, what the
 * store keeps, and what selection reads. Plain data, no behaviour.
 */

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

/** The stored description of one paper, whatever listings it came from. */
export interface PaperFields extends Omit<PaperRecord, 'truncated'> {
  /** Public id: the arXiv id when known, else `title-` and a hash of the title key. */
  key: string;
  titleKey: string;
}

export interface StoredPaper extends PaperFields {
  id: number;
  firstSeen: string;
  lastSeen: string;
  /** Null until the classifier has filed the paper. */
  primaryTopic: string | null;
}

/**
 * What one listing does to the papers table, decided by ingest and written by the store in
 * one call: new papers, changed ones, ones merely seen again, and the listing's order.
 */
export interface ListingPapers {
  inserts: PaperFields[];
  updates: { id: number; fields: PaperFields }[];
  /** Stored papers seen again unchanged: only their `last_seen` moves. */
  touches: number[];
  /** Every entry in listing order: a stored paper's id, or the index of one in `inserts`. */
  links: { paper: { id: number } | { inserted: number }; position: number }[];
}

/** The text the classifier reads. */
export interface ClassifiableText {
  title: string;
  abstract: string;
  /** HF `ai_keywords`: each keyword is matched on its own, never across two keywords. */
  keywords: string[];
  /** arXiv categories, primary first. */
  categories: string[];
}

export interface PaperToClassify extends ClassifiableText {
  id: number;
}

export interface AssignedTopic {
  topicId: string;
  score: number;
  evidence: string[];
}

/** One paper's topics as the classifier filed them. */
export interface PaperFiling {
  paperId: number;
  /** Primary first. */
  topics: AssignedTopic[];
}

export interface PaperListItem extends StoredPaper {
  /** Origins of the listings the paper appeared in, oldest first. */
  sources: string[];
  /** The topics the paper is filed under, primary first. */
  topics: AssignedTopic[];
}

export interface TopicCount {
  topicId: string;
  /** Papers whose primary topic this is. */
  papers: number;
  /** Papers that carry it as a secondary topic. */
  secondary: number;
  /** Newest titles filed under it. */
  examples: string[];
}

/** A paper a subscriber could be sent, with one of the topics it is filed under. */
export interface CandidateRow
  extends Pick<PaperFields, 'key' | 'arxivId' | 'title' | 'abstract' | 'authors' | 'authorCount' | 'organization' | 'publishedOn' | 'upvotes' | 'comments' | 'links'> {
  paperId: number;
  firstSeen: string;
  /** Day (`YYYY-MM-DD`) of the newest listing the paper appeared in, when that listing has one. */
  listedOn: string | null;
  /** The paper's place (0 = first) in that newest listing. */
  listingPosition: number | null;
  topicId: string;
  /** 0 for the paper's primary topic, 1–2 for secondaries. */
  topicRank: number;
  topicScore: number;
}

/** One topic a window paper is filed under. */
export interface WindowPaperTopic {
  topicId: string;
  /** 0 for the paper's primary topic, 1–2 for secondaries. */
  rank: number;
  score: number;
}

/**
 * A paper of a run's window (first seen after its start), read once for every subscriber
 * the run selects for: what a digest shows of it, with every topic it is filed under.
 */
export interface WindowPaper extends Omit<CandidateRow, 'topicId' | 'topicRank' | 'topicScore'> {
  /** Primary first. */
  topics: WindowPaperTopic[];
}
