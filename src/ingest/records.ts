import type { PaperRecord } from '../model/paper.ts';

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
