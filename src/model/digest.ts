import type { CandidateRow } from './paper.ts';

/**
 * The record of one queued digest: every paper that matched for the subscriber, in the order
 * the digest ranked them, and whether it fitted into the mail. The web view and the public
 * archive read it; selection never does (what was delivered is the deliveries' business).
 */

export interface DigestEntry {
  paperId: number;
  /** The topic the paper was shown under. */
  topicId: string;
  /** In the mail (true), or only on the web view (did not fit). */
  fitted: boolean;
  /** Matched an earlier digest of this subscriber but did not fit it. */
  carried: boolean;
  /** The ranking score it had in this digest. */
  score: number;
}

export interface NewDigestRecord {
  /** Random, unguessable on its own; the web view token binds it to the subscriber. */
  key: string;
  subscriberId: number;
  createdAt: string;
  /** Ranked order within each topic. */
  entries: DigestEntry[];
}

export type DigestPaperRow = Pick<
  CandidateRow,
  'paperId' | 'key' | 'arxivId' | 'title' | 'abstract' | 'authors' | 'authorCount' | 'organization' | 'publishedOn' | 'upvotes' | 'comments' | 'links'
> &
  Omit<DigestEntry, 'paperId'>;

/** A stored digest with its papers, in the order they were recorded. */
export interface StoredDigest {
  key: string;
  subscriberId: number;
  createdAt: string;
  papers: DigestPaperRow[];
}

/** One paper in the public archive of a topic: the first digest that carried it. */
export type ArchivedPaper = Omit<DigestPaperRow, 'fitted' | 'carried' | 'score'> & { digestedOn: string };

export interface ArchiveTopic {
  topicId: string;
  papers: number;
  latest: string;
}
