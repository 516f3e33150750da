import type { DigestEntry, DigestPaperRow, StoredDigest } from '../model/digest.ts';
import type { ListingRow } from '../model/listing.ts';
import type { ClaimedMessage, OutboxKind, OutboxState, OutboxStatus } from '../model/outbox.ts';
import type { PaperFields, PaperToClassify, StoredPaper, WindowPaper } from '../model/paper.ts';
import type { RunRow } from '../model/run.ts';
import type { Subscriber } from '../model/subscriber.ts';

/** Row mapping shared by the SQLite and PostgreSQL adapters (both keep JSON columns as text). */
export type Row = Record<string, unknown>;

/** A paper's statement parameters, named one by one (not a spread copy: ingest builds one per paper). */
export function paperParams(fields: PaperFields, now: string) {
  return {
    key: fields.key,
    arxivId: fields.arxivId,
    titleKey: fields.titleKey,
    title: fields.title,
    abstract: fields.abstract,
    authorCount: fields.authorCount,
    organization: fields.organization,
    publishedOn: fields.publishedOn,
    upvotes: fields.upvotes,
    comments: fields.comments,
    authors: JSON.stringify(fields.authors),
    keywords: JSON.stringify(fields.keywords),
    categories: JSON.stringify(fields.categories),
    links: JSON.stringify(fields.links),
    now,
  };
}

/** `first_seen` → `firstSeen`: rows become the camelCase objects the rest of the code reads. */
export function camelCase(row: Row): Row {
  return Object.fromEntries(Object.entries(row).map(([name, value]) => [name.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase()), value]));
}

export function toPaper(row: Row): StoredPaper {
  const { sources: _sources, topics: _topics, ...columns } = camelCase(row);
  return {
    ...(columns as unknown as StoredPaper),
    authors: JSON.parse(row.authors as string) as string[],
    keywords: JSON.parse(row.keywords as string) as string[],
    categories: JSON.parse(row.categories as string) as string[],
    links: JSON.parse(row.links as string) as PaperFields['links'],
  };
}

/** A paper as a digest's web view or the archive reads it (JSON columns decoded). */
export function toDigestPaper(row: Row): Row {
  return { ...camelCase(row), authors: JSON.parse(row.authors as string) as string[], links: JSON.parse(row.links as string) as PaperFields['links'] };
}

/** A `digests` row as digestByKey reads it: the record packed in `topics` and `entries`. */
export interface StoredDigestRow {
  key: string;
  subscriber_id: number;
  created_at: string;
  topics: string;
  entries: Uint8Array;
}

/**
 * A digest's entries with the papers they name (rows of DIGEST_PAPER_COLUMNS, any order), in
 * entry order; an entry whose paper is gone is left out, as a row of it would have gone with it.
 */
export function toStoredDigest(digest: StoredDigestRow, entries: readonly DigestEntry[], paperRows: readonly Row[]): StoredDigest {
  const papers = new Map(paperRows.map((row) => [row.paper_id as number, row]));
  return {
    key: digest.key,
    subscriberId: digest.subscriber_id,
    createdAt: digest.created_at,
    papers: entries.flatMap(({ paperId, ...entry }) => {
      const row = papers.get(paperId);
      return row ? [{ ...(toDigestPaper(row) as unknown as DigestPaperRow), ...entry }] : [];
    }),
  };
}

export function toSubscriber(row: Row): Subscriber {
  return { ...(camelCase(row) as unknown as Subscriber), topics: row.topics === null ? null : (JSON.parse(row.topics as string) as string[]) };
}

export const toOutbox = (row: Row) => camelCase(row) as unknown as OutboxState;
export const toRun = (row: Row) => camelCase(row) as unknown as RunRow;
export const toListing = (row: Row) => {
  const { warnings: _warnings, ...columns } = camelCase(row);
  return columns as unknown as ListingRow;
};

/** A paper as the classifier reads it: its text and the lists stored as JSON. */
export function toPaperToClassify(row: Row): PaperToClassify {
  return {
    id: row.id as number,
    title: row.title as string,
    abstract: row.abstract as string,
    keywords: JSON.parse(row.keywords as string) as string[],
    categories: JSON.parse(row.categories as string) as string[],
  };
}

/** How many of `wanted` hits a counter grants when `used` are taken of `limit` (null: no limit, and a negative `wanted` gives hits back). */
export function hitsGranted(wanted: number, limit: number | null, used: number): number {
  if (limit === null) return wanted;
  return Math.max(0, Math.min(wanted, limit - used));
}

/** One (paper, topic) row of a run's window, as both adapters' queries name the columns. */
export interface WindowPaperRow {
  paper_id: number;
  key: string;
  arxiv_id: string | null;
  title: string;
  abstract: string;
  authors: string;
  author_count: number | null;
  organization: string | null;
  published_on: string | null;
  upvotes: number | null;
  comments: number | null;
  links: string;
  first_seen: string;
  listed_on: string | null;
  listing_position: number | null;
  topic_id: string;
  topic_rank: number;
  topic_score: number;
}

/**
 * (paper, topic) rows in paper order → one window paper each, its topics in row order.
 * Named columns, no generic mapper: a run's window is read once but holds every paper.
 */
export function groupWindowPapers(rows: Iterable<WindowPaperRow>): WindowPaper[] {
  const papers: WindowPaper[] = [];
  let last: WindowPaper | undefined;
  for (const row of rows) {
    if (last?.paperId !== row.paper_id) {
      last = {
        paperId: row.paper_id,
        key: row.key,
        arxivId: row.arxiv_id,
        title: row.title,
        abstract: row.abstract,
        authors: JSON.parse(row.authors) as string[],
        authorCount: row.author_count,
        organization: row.organization,
        publishedOn: row.published_on,
        upvotes: row.upvotes,
        comments: row.comments,
        links: JSON.parse(row.links) as PaperFields['links'],
        firstSeen: row.first_seen,
        listedOn: row.listed_on,
        listingPosition: row.listing_position,
        topics: [],
      };
      papers.push(last);
    }
    last.topics.push({ topicId: row.topic_id, rank: row.topic_rank, score: row.topic_score });
  }
  return papers;
}

/** (subscriber id, paper id) pairs → each subscriber's set of paper ids. */
export function groupHeldPaperIds(pairs: Iterable<readonly [number, number]>): Map<number, Set<number>> {
  const held = new Map<number, Set<number>>();
  for (const [subscriberId, paperId] of pairs) {
    let ids = held.get(subscriberId);
    if (!ids) held.set(subscriberId, (ids = new Set()));
    ids.add(paperId);
  }
  return held;
}

/** A claimed outbox row (with its body and the recipient's bounces), column by column: delivery reads one per message. */
export function toClaimedMessage(row: Row): ClaimedMessage {
  return {
    id: row.id as number,
    runId: row.run_id as number | null,
    subscriberId: row.subscriber_id as number,
    kind: row.kind as OutboxKind,
    messageId: row.message_id as string,
    recipient: row.recipient as string,
    recipientName: row.recipient_name as string | null,
    subject: row.subject as string,
    raw: row.raw as Buffer,
    html: row.html as string | null,
    unsubscribeUrl: row.unsubscribe_url as string,
    windowSince: row.window_since as string | null,
    status: row.status as OutboxStatus,
    attempts: row.attempts as number,
    nextAttemptAt: row.next_attempt_at as string,
    lastError: row.last_error as string | null,
    createdAt: row.created_at as string,
    sentAt: row.sent_at as string | null,
    claimedBy: row.claimed_by as string,
    claimExpiresAt: row.claim_expires_at as string,
    hardBounces: row.hard_bounces as number,
  };
}
