import { hash } from 'node:crypto';
import { titleKey } from './identity.ts';
import type { PaperFields, PaperRecord } from '../model/paper.ts';

export function titleKeyedId(key: string): string {
  // The one-shot hash: a Hash object per paper cost more than the digest itself.
  return `title-${hash('sha1', key, 'hex').slice(0, 10)}`;
}

export function fieldsFromRecord(record: PaperRecord, key = titleKey(record.title)): PaperFields {
  // Field by field, not a rest copy of the record: ingest builds one per new paper.
  return {
    arxivId: record.arxivId,
    title: record.title,
    abstract: record.abstract,
    authors: record.authors,
    authorCount: record.authorCount,
    organization: record.organization,
    publishedOn: record.publishedOn,
    upvotes: record.upvotes,
    comments: record.comments,
    keywords: record.keywords,
    categories: record.categories,
    links: record.links,
    key: record.arxivId ?? titleKeyedId(key),
    titleKey: key,
  };
}

/**
 * A paper seen again: the newer listing's text and counts win where it has them (a revised
 * abstract replaces the old one), and what only the older source knew is kept. A partial
 * abstract from a truncated dump never replaces a whole one. A title-keyed paper that now
 * arrives with an arXiv id takes that id as its key.
 */
export function mergePaper(existing: PaperFields, record: PaperRecord): { fields: PaperFields; changed: boolean } {
  const arxivId = existing.arxivId ?? record.arxivId;
  const keepAbstract = record.abstract === '' || (record.truncated && existing.abstract !== '');
  const fields: PaperFields = {
    key: arxivId ?? existing.key,
    arxivId,
    // Lookups by title must keep finding this paper, so its first title key stays.
    titleKey: existing.titleKey,
    title: record.title || existing.title,
    abstract: keepAbstract ? existing.abstract : record.abstract,
    authors: record.authors.length > 0 ? record.authors : existing.authors,
    authorCount: record.authorCount ?? existing.authorCount,
    organization: record.organization ?? existing.organization,
    publishedOn: record.publishedOn ?? existing.publishedOn,
    upvotes: record.upvotes ?? existing.upvotes,
    comments: record.comments ?? existing.comments,
    keywords: record.keywords.length > 0 ? record.keywords : existing.keywords,
    categories: record.categories.length > 0 ? record.categories : existing.categories,
    links: { ...existing.links, ...record.links },
  };
  return { fields, changed: !sameFields(existing, fields) };
}

function sameFields(a: PaperFields, b: PaperFields): boolean {
  return (Object.keys(b) as (keyof PaperFields)[]).every((name) => JSON.stringify(a[name]) === JSON.stringify(b[name]));
}
