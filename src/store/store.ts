import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { PaperboyError } from '../errors.ts';
import type { PaperFields } from '../ingest/merge.ts';
import type { ListingFormat, ParseWarning } from '../ingest/records.ts';
import type { Subscriber, SubscriberInput, SubscriberStatus } from '../subscribers/subscriber.ts';
import type { ClassifiableText } from '../topics/classify.ts';
import { MIGRATIONS } from './migrations.ts';

/**
 * The one module that owns SQL. Every statement is prepared when the store opens, so a
 * typo fails at start, not halfway through a run (as listmonk does with its queries).
 */

export interface StoredPaper extends PaperFields {
  id: number;
  firstSeen: string;
  lastSeen: string;
  /** Null until the classifier has filed the paper. */
  primaryTopic: string | null;
}

export interface AssignedTopic {
  topicId: string;
  score: number;
  evidence: string[];
}

export interface PaperListItem extends StoredPaper {
  /** Paths of the listings the paper appeared in, oldest first. */
  sources: string[];
  /** The topics the paper is filed under, primary first. */
  topics: AssignedTopic[];
}

export interface PaperToClassify extends ClassifiableText {
  id: number;
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

export interface ListingRow {
  id: number;
  path: string;
  contentHash: string;
  format: ListingFormat | null;
  listedOn: string | null;
  ingestedAt: string;
  status: 'ingested' | 'failed';
  error: string | null;
  paperCount: number;
  newCount: number;
  updatedCount: number;
}

export interface NewListing {
  path: string;
  contentHash: string;
  format: ListingFormat;
  listedOn: string | null;
  ingestedAt: string;
}

export interface ListingOutcome {
  paperCount: number;
  newCount: number;
  updatedCount: number;
  warnings: ParseWarning[];
}

/** A paper a subscriber could be sent, with one of the topics it is filed under. */
export interface CandidateRow
  extends Pick<PaperFields, 'key' | 'arxivId' | 'title' | 'abstract' | 'authors' | 'authorCount' | 'organization' | 'publishedOn' | 'upvotes' | 'comments'> {
  paperId: number;
  firstSeen: string;
  topicId: string;
  /** 0 for the paper's primary topic, 1–2 for secondaries. */
  topicRank: number;
  topicScore: number;
}

export type OutboxStatus = 'queued' | 'sent' | 'failed';
export type RunTrigger = 'scheduled' | 'manual' | 'start' | 'catch-up';
export type RunStatus = 'running' | 'done' | 'paused' | 'failed' | 'interrupted';

export interface NewOutboxMessage {
  runId: number | null;
  subscriberId: number;
  kind: 'digest' | 'empty';
  messageId: string;
  recipient: string;
  recipientName: string | null;
  subject: string;
  /** The complete RFC 5322 message, as handed to SMTP. */
  raw: Buffer;
  /** Its HTML part, for the file outbox's browser view. */
  html: string;
  unsubscribeUrl: string;
  windowSince: string | null;
  now: string;
}

export interface OutboxRow extends Omit<NewOutboxMessage, 'now'> {
  id: number;
  status: OutboxStatus;
  attempts: number;
  nextAttemptAt: string;
  lastError: string | null;
  createdAt: string;
  sentAt: string | null;
}

export type OutboxProblem = Pick<OutboxRow, 'id' | 'recipient' | 'subject' | 'status' | 'attempts' | 'nextAttemptAt' | 'lastError' | 'createdAt'>;

export interface RunRow {
  id: number;
  trigger: RunTrigger;
  startedAt: string;
  finishedAt: string | null;
  status: RunStatus;
  ingested: number;
  due: number;
  queued: number;
  sent: number;
  failed: number;
  deferred: number;
  error: string | null;
}

type Row = Record<string, unknown>;

const PAPER_COLUMNS = `id, key, arxiv_id, title_key, title, abstract, authors, author_count, organization,
  published_on, upvotes, comments, keywords, categories, links, first_seen, last_seen, primary_topic`;

function prepareAll(db: Database.Database) {
  const prepare = (sql: string) => db.prepare(sql);
  return {
    listingByHash: prepare(`SELECT * FROM listings WHERE content_hash = ?`),
    insertListing: prepare(`
      INSERT INTO listings (path, content_hash, format, listed_on, ingested_at, status)
      VALUES (@path, @contentHash, @format, @listedOn, @ingestedAt, 'ingested')`),
    finishListing: prepare(`
      UPDATE listings SET paper_count = @paperCount, new_count = @newCount, updated_count = @updatedCount,
        warnings = @warnings WHERE id = @id`),
    recordFailedListing: prepare(`
      INSERT INTO listings (path, content_hash, format, ingested_at, status, error)
      VALUES (@path, @contentHash, @format, @ingestedAt, 'failed', @error)
      ON CONFLICT (content_hash) DO UPDATE SET path = excluded.path, ingested_at = excluded.ingested_at,
        error = excluded.error WHERE listings.status = 'failed'`),
    deleteFailedListing: prepare(`DELETE FROM listings WHERE content_hash = ? AND status = 'failed'`),
    recentListings: prepare(`SELECT * FROM listings ORDER BY id DESC LIMIT ?`),
    paperByArxivId: prepare(`SELECT ${PAPER_COLUMNS} FROM papers WHERE arxiv_id = ?`),
    paperByKey: prepare(`SELECT ${PAPER_COLUMNS} FROM papers WHERE key = ?`),
    untaggedPaperByTitleKey: prepare(`SELECT ${PAPER_COLUMNS} FROM papers WHERE title_key = ? AND arxiv_id IS NULL ORDER BY id LIMIT 1`),
    anyPaperByTitleKey: prepare(`SELECT ${PAPER_COLUMNS} FROM papers WHERE title_key = ? ORDER BY id LIMIT 1`),
    insertPaper: prepare(`
      INSERT INTO papers (key, arxiv_id, title_key, title, abstract, authors, author_count, organization,
        published_on, upvotes, comments, keywords, categories, links, first_seen, last_seen, updated_at)
      VALUES (@key, @arxivId, @titleKey, @title, @abstract, @authors, @authorCount, @organization,
        @publishedOn, @upvotes, @comments, @keywords, @categories, @links, @now, @now, @now)`),
    updatePaper: prepare(`
      UPDATE papers SET key = @key, arxiv_id = @arxivId, title = @title, abstract = @abstract, authors = @authors,
        author_count = @authorCount, organization = @organization, published_on = @publishedOn, upvotes = @upvotes,
        comments = @comments, keywords = @keywords, categories = @categories, links = @links,
        last_seen = @now, updated_at = @now, topics_version = NULL
      WHERE id = @id`),
    touchPaper: prepare(`UPDATE papers SET last_seen = ? WHERE id = ?`),
    linkPaper: prepare(`INSERT OR IGNORE INTO paper_listings (paper_id, listing_id, position) VALUES (?, ?, ?)`),
    listPapers: prepare(`
      SELECT ${PAPER_COLUMNS},
        (SELECT json_group_array(path) FROM (
           SELECT l.path FROM paper_listings pl JOIN listings l ON l.id = pl.listing_id
           WHERE pl.paper_id = p.id ORDER BY l.id)) AS sources,
        (SELECT json_group_array(json_object('topicId', topic_id, 'score', score, 'evidence', json(evidence))) FROM (
           SELECT * FROM paper_topics WHERE paper_id = p.id ORDER BY rank)) AS topics
      FROM papers p
      WHERE (@since IS NULL OR p.first_seen >= @since)
        AND (@topic IS NULL OR EXISTS (SELECT 1 FROM paper_topics t WHERE t.topic_id = @topic AND t.paper_id = p.id AND t.rank = 0))
      ORDER BY p.first_seen DESC, p.id DESC
      LIMIT @limit`),
    papersToClassify: prepare(`
      SELECT id, title, abstract, keywords, categories FROM papers
      WHERE topics_version IS NULL OR topics_version <> ? ORDER BY id LIMIT ?`),
    deletePaperTopics: prepare(`DELETE FROM paper_topics WHERE paper_id = ?`),
    insertPaperTopic: prepare(`INSERT INTO paper_topics (paper_id, topic_id, rank, score, evidence) VALUES (?, ?, ?, ?, ?)`),
    markClassified: prepare(`UPDATE papers SET topics_version = ?, primary_topic = ? WHERE id = ?`),
    topicCounts: prepare(`
      SELECT pt.topic_id AS topic_id,
        sum(pt.rank = 0) AS papers,
        sum(pt.rank > 0) AS secondary,
        (SELECT json_group_array(title) FROM (
           SELECT p.title FROM paper_topics t JOIN papers p ON p.id = t.paper_id
           WHERE t.topic_id = pt.topic_id AND t.rank = 0 ORDER BY p.first_seen DESC, p.id DESC LIMIT @examples)) AS examples
      FROM paper_topics pt GROUP BY pt.topic_id`),
    countPapers: prepare(`SELECT count(*) AS n FROM papers`),
    insertSubscriber: prepare(`
      INSERT INTO subscribers (email, name, status, topics, frequency, weekday, created_at, confirmed_at)
      VALUES (@email, @name, @status, @topics, @frequency, @weekday, @now, CASE WHEN @status = 'active' THEN @now END)
      ON CONFLICT (email) DO NOTHING`),
    subscriberByEmail: prepare(`SELECT * FROM subscribers WHERE email = ?`),
    subscriberById: prepare(`SELECT * FROM subscribers WHERE id = ?`),
    deleteSubscriber: prepare(`DELETE FROM subscribers WHERE id = ?`),
    listSubscribers: prepare(`
      SELECT * FROM subscribers WHERE (@status IS NULL OR status = @status) AND id > @after ORDER BY id LIMIT @limit`),
    countSubscribers: prepare(`SELECT status, count(*) AS n FROM subscribers GROUP BY status`),
    resubscribe: prepare(`
      UPDATE subscribers SET status = 'pending', name = @name, topics = @topics, frequency = @frequency, weekday = @weekday,
        created_at = @now, confirmed_at = NULL, unsubscribed_at = NULL
      WHERE id = @id`),
    confirmSubscriber: prepare(`
      UPDATE subscribers SET status = 'active', confirmed_at = @now WHERE id = @id AND status = 'pending'`),
    unsubscribe: prepare(`
      UPDATE subscribers SET status = 'unsubscribed', unsubscribed_at = @now WHERE id = @id AND status IN ('pending', 'active')`),
    expirePending: prepare(`DELETE FROM subscribers WHERE status = 'pending' AND created_at < ?`),
    updatePreferences: prepare(`
      UPDATE subscribers SET name = @name, topics = @topics, frequency = @frequency, weekday = @weekday WHERE id = @id`),
    digestCandidates: prepare(`
      SELECT p.id AS paper_id, p.key, p.arxiv_id, p.title, p.abstract, p.authors, p.author_count, p.organization,
        p.published_on, p.upvotes, p.comments, p.first_seen, pt.topic_id, pt.rank AS topic_rank, pt.score AS topic_score
      FROM papers p JOIN paper_topics pt ON pt.paper_id = p.id
      WHERE p.first_seen > @since
        AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.subscriber_id = @subscriberId AND d.paper_id = p.id)
        AND NOT EXISTS (
          SELECT 1 FROM outbox_papers op JOIN outbox o ON o.id = op.outbox_id
          WHERE op.subscriber_id = @subscriberId AND op.paper_id = p.id AND o.status = 'queued')`),
    insertOutbox: prepare(`
      INSERT INTO outbox (run_id, subscriber_id, kind, message_id, recipient, recipient_name, subject,
        unsubscribe_url, window_since, status, next_attempt_at, created_at)
      VALUES (@runId, @subscriberId, @kind, @messageId, @recipient, @recipientName, @subject,
        @unsubscribeUrl, @windowSince, 'queued', @now, @now)`),
    insertOutboxBody: prepare(`INSERT INTO outbox_bodies (outbox_id, raw, html) VALUES (?, ?, ?)`),
    reservePaper: prepare(`INSERT INTO outbox_papers (subscriber_id, paper_id, outbox_id) VALUES (?, ?, ?)`),
    advanceWindow: prepare(`UPDATE subscribers SET last_digest_at = ? WHERE id = ?`),
    dueOutbox: prepare(`
      SELECT o.*, b.raw, b.html FROM outbox o JOIN subscribers s ON s.id = o.subscriber_id JOIN outbox_bodies b ON b.outbox_id = o.id
      WHERE o.status = 'queued' AND o.next_attempt_at <= ? AND s.status = 'active'
      ORDER BY o.next_attempt_at, o.id LIMIT ?`),
    pruneBodies: prepare(`DELETE FROM outbox_bodies WHERE outbox_id IN (SELECT id FROM outbox WHERE status <> 'queued')`),
    nextRetryAt: prepare(`SELECT min(next_attempt_at) AS at FROM outbox WHERE status = 'queued'`),
    markSent: prepare(`UPDATE outbox SET status = 'sent', sent_at = @now, attempts = attempts + 1, last_error = NULL WHERE id = @id AND status = 'queued'`),
    deliverReserved: prepare(`
      INSERT OR IGNORE INTO deliveries (subscriber_id, paper_id, message_id, delivered_at)
      SELECT op.subscriber_id, op.paper_id, @messageId, @now FROM outbox_papers op WHERE op.outbox_id = @id`),
    markRetry: prepare(`UPDATE outbox SET attempts = attempts + 1, next_attempt_at = @nextAt, last_error = @error WHERE id = @id AND status = 'queued'`),
    markFailed: prepare(`UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = @error WHERE id = @id AND status = 'queued'`),
    restoreWindow: prepare(`
      UPDATE subscribers SET last_digest_at = (SELECT window_since FROM outbox WHERE id = @id)
      WHERE id = (SELECT subscriber_id FROM outbox WHERE id = @id) AND last_digest_at = (SELECT created_at FROM outbox WHERE id = @id)`),
    failQueuedOf: prepare(`UPDATE outbox SET status = 'failed', last_error = @error WHERE subscriber_id = @subscriberId AND status = 'queued'`),
    hardBounce: prepare(`
      UPDATE subscribers SET hard_bounces = hard_bounces + 1,
        status = CASE WHEN hard_bounces + 1 >= @limit AND status = 'active' THEN 'bounced' ELSE status END
      WHERE id = @id RETURNING status`),
    subscribersWithQueued: prepare(`SELECT DISTINCT subscriber_id FROM outbox WHERE status = 'queued'`),
    sentSince: prepare(`SELECT count(*) AS n FROM outbox WHERE sent_at >= ?`),
    outboxCounts: prepare(`SELECT status, count(*) AS n FROM outbox GROUP BY status`),
    outboxProblems: prepare(`
      SELECT id, recipient, subject, status, attempts, next_attempt_at, last_error, created_at FROM outbox
      WHERE status = 'failed' OR (status = 'queued' AND attempts > 0)
      ORDER BY id DESC LIMIT ?`),
    outboxById: prepare(`SELECT o.*, b.raw, b.html FROM outbox o JOIN outbox_bodies b ON b.outbox_id = o.id WHERE o.id = ?`),
    insertRun: prepare(`INSERT INTO runs (trigger, started_at, status) VALUES (?, ?, 'running')`),
    updateRun: prepare(`
      UPDATE runs SET status = @status, finished_at = @finishedAt, ingested = @ingested, due = @due, queued = @queued,
        sent = @sent, failed = @failed, deferred = @deferred, error = @error WHERE id = @id`),
    interruptRuns: prepare(`UPDATE runs SET status = 'interrupted', finished_at = ? WHERE status = 'running'`),
    recentRuns: prepare(`SELECT * FROM runs ORDER BY id DESC LIMIT ?`),
    acquireLease: prepare(`
      INSERT INTO leases (name, holder, expires_at) VALUES (@name, @holder, @expiresAt)
      ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
      WHERE leases.holder = excluded.holder OR leases.expires_at <= @now OR leases.holder = @staleHolder`),
    leaseByName: prepare(`SELECT * FROM leases WHERE name = ?`),
    releaseLease: prepare(`DELETE FROM leases WHERE name = ? AND holder = ?`),
    getState: prepare(`SELECT value FROM state WHERE key = ?`),
    setState: prepare(`INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`),
    countPaperListings: prepare(`SELECT count(*) AS n FROM paper_listings`),
  };
}

export type Statements = ReturnType<typeof prepareAll>;

export class Store {
  readonly db: Database.Database;
  private readonly sql: Statements;

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    // Papers are text-heavy rows (~1.5 KB abstracts): 16 KB pages halve ingest time against
    // the 4 KB default (scripts/bench-ingest.ts). Takes effect only on a new database.
    this.db.pragma('page_size = 16384');
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    // WAL makes NORMAL durable against process crashes; only an OS crash can lose the last commit.
    this.db.pragma('synchronous = NORMAL');
    // Ingest and selection walk indexes on text keys; a 64 MB page cache keeps them in memory.
    this.db.pragma('cache_size = -65536');
    this.db.pragma('temp_store = MEMORY');
    migrate(this.db);
    this.sql = prepareAll(this.db);
  }

  close(): void {
    this.db.close();
  }

  /** Runs `work` in one transaction: all of it is stored, or none of it. */
  transaction<T>(work: () => T): T {
    return this.db.transaction(work).immediate();
  }

  schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  listingByHash(contentHash: string): ListingRow | undefined {
    return getOne(this.sql.listingByHash, toListing, contentHash);
  }

  insertListing(listing: NewListing): number {
    this.sql.deleteFailedListing.run(listing.contentHash);
    return Number(this.sql.insertListing.run(listing).lastInsertRowid);
  }

  finishListing(id: number, outcome: ListingOutcome): void {
    this.sql.finishListing.run({ id, ...outcome, warnings: JSON.stringify(outcome.warnings) });
  }

  /** Keeps a record of a file that could not be ingested; a later good ingest replaces it. */
  recordFailedListing(failure: { path: string; contentHash: string; format: ListingFormat | null; ingestedAt: string; error: string }): void {
    this.sql.recordFailedListing.run(failure);
  }

  recentListings(limit: number): ListingRow[] {
    return (this.sql.recentListings.all(limit) as Row[]).map(toListing);
  }

  /**
   * The stored paper a listing entry is, if any: by arXiv id; failing that, by title key
   * (a paper known only by title may be matched by one that now brings its arXiv id).
   */
  findPaperFor(arxivId: string | null, titleKey: string): StoredPaper | undefined {
    const row = arxivId
      ? ((this.sql.paperByArxivId.get(arxivId) ?? this.sql.untaggedPaperByTitleKey.get(titleKey)) as Row | undefined)
      : (this.sql.anyPaperByTitleKey.get(titleKey) as Row | undefined);
    return row && toPaper(row);
  }

  paperByKey(key: string): StoredPaper | undefined {
    return getOne(this.sql.paperByKey, toPaper, key);
  }

  paperByTitleKey(titleKey: string): StoredPaper | undefined {
    return getOne(this.sql.anyPaperByTitleKey, toPaper, titleKey);
  }

  insertPaper(fields: PaperFields, now: string): number {
    return Number(this.sql.insertPaper.run(paperParams(fields, now)).lastInsertRowid);
  }

  updatePaper(id: number, fields: PaperFields, now: string): void {
    this.sql.updatePaper.run({ id, ...paperParams(fields, now) });
  }

  touchPaper(id: number, now: string): void {
    this.sql.touchPaper.run(now, id);
  }

  linkPaperToListing(paperId: number, listingId: number, position: number): void {
    this.sql.linkPaper.run(paperId, listingId, position);
  }

  listPapers(options: { since?: string | null; limit?: number | null; topic?: string | null }): PaperListItem[] {
    const rows = this.sql.listPapers.all({ since: options.since ?? null, limit: options.limit ?? -1, topic: options.topic ?? null }) as Row[];
    return rows.map((row) => ({
      ...toPaper(row),
      sources: JSON.parse(row.sources as string) as string[],
      topics: JSON.parse(row.topics as string) as AssignedTopic[],
    }));
  }

  /** Papers never classified, changed since, or classified by another taxonomy version. */
  papersToClassify(taxonomyVersion: string, limit: number): PaperToClassify[] {
    return (this.sql.papersToClassify.all(taxonomyVersion, limit) as Row[]).map((row) => ({
      id: row.id as number,
      title: row.title as string,
      abstract: row.abstract as string,
      keywords: JSON.parse(row.keywords as string) as string[],
      categories: JSON.parse(row.categories as string) as string[],
    }));
  }

  /** Replaces a paper's topics with `topics` (primary first) and records the taxonomy version. */
  saveClassification(paperId: number, taxonomyVersion: string, topics: AssignedTopic[]): void {
    this.sql.deletePaperTopics.run(paperId);
    topics.forEach((topic, rank) => this.sql.insertPaperTopic.run(paperId, topic.topicId, rank, topic.score, JSON.stringify(topic.evidence)));
    this.sql.markClassified.run(taxonomyVersion, topics[0]?.topicId ?? null, paperId);
  }

  topicCounts(examples: number): TopicCount[] {
    return (this.sql.topicCounts.all({ examples }) as Row[]).map((row) => ({
      topicId: row.topic_id as string,
      papers: row.papers as number,
      secondary: row.secondary as number,
      examples: JSON.parse(row.examples as string) as string[],
    }));
  }

  /** Adds a subscriber; null when the address is already subscribed (in any status). */
  insertSubscriber(input: SubscriberInput, status: SubscriberStatus, now: string): Subscriber | null {
    const result = this.sql.insertSubscriber.run({ ...input, topics: input.topics && JSON.stringify(input.topics), status, now });
    return result.changes === 0 ? null : this.subscriberById(Number(result.lastInsertRowid))!;
  }

  subscriberByEmail(email: string): Subscriber | undefined {
    return getOne(this.sql.subscriberByEmail, toSubscriber, email);
  }

  subscriberById(id: number): Subscriber | undefined {
    return getOne(this.sql.subscriberById, toSubscriber, id);
  }

  /** Removes the subscriber and, with them, the record of what they were sent. */
  deleteSubscriber(id: number): void {
    this.sql.deleteSubscriber.run(id);
  }

  /** Keyset pagination: subscribers with id > `after`, in id order. */
  listSubscribers(options: { status?: SubscriberStatus | null; after?: number; limit?: number }): Subscriber[] {
    const rows = this.sql.listSubscribers.all({ status: options.status ?? null, after: options.after ?? 0, limit: options.limit ?? -1 }) as Row[];
    return rows.map(toSubscriber);
  }

  subscriberCounts(): Record<SubscriberStatus, number> {
    const counts: Record<SubscriberStatus, number> = { pending: 0, active: 0, unsubscribed: 0, bounced: 0 };
    for (const row of this.sql.countSubscribers.all() as { status: SubscriberStatus; n: number }[]) counts[row.status] = row.n;
    return counts;
  }

  /** An unsubscribed (or still pending) address signs up again: pending, with the new choices, until confirmed. */
  resubscribe(id: number, input: Omit<SubscriberInput, 'email'>, now: string): void {
    this.sql.resubscribe.run({ id, ...input, topics: input.topics && JSON.stringify(input.topics), now });
  }

  /** pending → active; false if the subscriber was not pending (already confirmed, or gone). */
  confirmSubscriber(id: number, now: string): boolean {
    return this.sql.confirmSubscriber.run({ id, now }).changes === 1;
  }

  /** Idempotent: an unsubscribed or bounced subscriber stays as they are. */
  unsubscribe(id: number, now: string): boolean {
    return this.transaction(() => {
      const changed = this.sql.unsubscribe.run({ id, now }).changes === 1;
      // Mail queued before they left is not sent after it.
      if (changed) this.sql.failQueuedOf.run({ subscriberId: id, error: 'subscriber unsubscribed' });
      return changed;
    });
  }

  /** Forgets sign-ups never confirmed since `before`; returns how many. */
  expirePending(before: string): number {
    return this.sql.expirePending.run(before).changes;
  }

  updatePreferences(id: number, input: Omit<SubscriberInput, 'email'>): void {
    this.sql.updatePreferences.run({ id, ...input, topics: input.topics && JSON.stringify(input.topics) });
  }

  /**
   * Papers first seen after `since` that were never delivered to the subscriber, one row per
   * (paper, topic it is filed under). Uses the first_seen index and the deliveries primary key.
   */
  digestCandidates(subscriberId: number, since: string): CandidateRow[] {
    return (this.sql.digestCandidates.all({ subscriberId, since }) as Row[]).map((row) => ({
      ...(camelCase(row) as Omit<CandidateRow, 'authors'>),
      authors: JSON.parse(row.authors as string) as string[],
    }));
  }

  /**
   * Queues a rendered digest: the outbox row, the reservation of its papers, and the
   * subscriber's next window start, all in the caller's transaction.
   */
  queueMessage(message: NewOutboxMessage, paperIds: readonly number[]): number {
    const { raw, html, ...state } = message;
    const id = Number(this.sql.insertOutbox.run(state).lastInsertRowid);
    this.sql.insertOutboxBody.run(id, raw, html);
    for (const paperId of paperIds) this.sql.reservePaper.run(message.subscriberId, paperId, id);
    this.sql.advanceWindow.run(message.now, message.subscriberId);
    return id;
  }

  /** Queued messages whose time has come, for subscribers still active. */
  dueOutbox(now: string, limit: number): OutboxRow[] {
    return (this.sql.dueOutbox.all(now, limit) as Row[]).map(toOutbox);
  }

  /** The newest messages that failed, or wait for a retry, with their last error. */
  outboxProblems(limit: number): OutboxProblem[] {
    return (this.sql.outboxProblems.all(limit) as Row[]).map((row) => camelCase(row) as unknown as OutboxProblem);
  }

  outboxById(id: number): OutboxRow | undefined {
    return getOne(this.sql.outboxById, toOutbox, id);
  }

  /** Bodies are needed only while queued; a run drops the rest (~110 KB a digest) at its end. */
  pruneOutboxBodies(): number {
    return this.sql.pruneBodies.run().changes;
  }

  nextRetryAt(): string | null {
    return (this.sql.nextRetryAt.get() as { at: string | null }).at;
  }

  /** After the server's 250: the message is sent and its papers delivered, in one transaction. */
  markSent(id: number, messageId: string, now: string): void {
    this.transaction(() => {
      if (this.sql.markSent.run({ id, now }).changes === 1) this.sql.deliverReserved.run({ id, messageId, now });
    });
  }

  markRetry(id: number, nextAt: string, error: string): void {
    this.sql.markRetry.run({ id, nextAt, error });
  }

  /** For good: the papers are released and the subscriber's window goes back to where it was. */
  markFailed(id: number, error: string): void {
    this.transaction(() => {
      if (this.sql.markFailed.run({ id, error }).changes === 1) this.sql.restoreWindow.run({ id });
    });
  }

  /** Counts a hard bounce; at `limit` the subscriber is bounced and their queued mail failed. Returns the status. */
  recordHardBounce(subscriberId: number, limit: number): SubscriberStatus {
    return this.transaction(() => {
      const { status } = this.sql.hardBounce.get({ id: subscriberId, limit }) as { status: SubscriberStatus };
      if (status === 'bounced') this.sql.failQueuedOf.run({ subscriberId, error: 'subscriber bounced' });
      return status;
    });
  }

  subscribersWithQueuedMail(): Set<number> {
    return new Set((this.sql.subscribersWithQueued.all() as { subscriber_id: number }[]).map((row) => row.subscriber_id));
  }

  sentSince(since: string): number {
    return (this.sql.sentSince.get(since) as { n: number }).n;
  }

  outboxCounts(): Record<OutboxStatus, number> {
    const counts: Record<OutboxStatus, number> = { queued: 0, sent: 0, failed: 0 };
    for (const row of this.sql.outboxCounts.all() as { status: OutboxStatus; n: number }[]) counts[row.status] = row.n;
    return counts;
  }

  insertRun(trigger: RunTrigger, now: string): number {
    return Number(this.sql.insertRun.run(trigger, now).lastInsertRowid);
  }

  updateRun(run: RunRow): void {
    this.sql.updateRun.run(run);
  }

  /** Runs still marked running when a new run takes the lease died with their process. */
  interruptRuns(now: string): number {
    return this.sql.interruptRuns.run(now).changes;
  }

  recentRuns(limit: number): RunRow[] {
    return (this.sql.recentRuns.all(limit) as Row[]).map(toRun);
  }

  /**
   * Takes (or renews) a lease unless someone else holds it unexpired. `staleHolder` names a
   * holder known to be dead (its process is gone), whose lease may be taken at once.
   */
  acquireLease(name: string, holder: string, now: string, expiresAt: string, staleHolder: string | null = null): boolean {
    return this.transaction(() => {
      this.sql.acquireLease.run({ name, holder, now, expiresAt, staleHolder });
      return (this.sql.leaseByName.get(name) as { holder: string }).holder === holder;
    });
  }

  leaseHolder(name: string): { holder: string; expiresAt: string } | undefined {
    const row = this.sql.leaseByName.get(name) as Row | undefined;
    return row && { holder: row.holder as string, expiresAt: row.expires_at as string };
  }

  releaseLease(name: string, holder: string): void {
    this.sql.releaseLease.run(name, holder);
  }

  getState(key: string): string | undefined {
    return (this.sql.getState.get(key) as { value: string } | undefined)?.value;
  }

  setState(key: string, value: string): void {
    this.sql.setState.run(key, value);
  }

  counts(): { papers: number; paperListings: number } {
    const count = (statement: Database.Statement) => (statement.get() as { n: number }).n;
    return { papers: count(this.sql.countPapers), paperListings: count(this.sql.countPaperListings) };
  }
}

function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new PaperboyError(
      'STORE_SCHEMA',
      `${db.name}: schema version ${current} is newer than this Paperboy knows (${MIGRATIONS.length}); upgrade Paperboy`,
    );
  }
  MIGRATIONS.slice(current).forEach((sql, offset) => {
    db.transaction(() => {
      db.exec(sql);
      db.pragma(`user_version = ${current + offset + 1}`);
    }).immediate();
  });
}

function paperParams(fields: PaperFields, now: string) {
  return {
    ...fields,
    authors: JSON.stringify(fields.authors),
    keywords: JSON.stringify(fields.keywords),
    categories: JSON.stringify(fields.categories),
    links: JSON.stringify(fields.links),
    now,
  };
}

/** One row through its mapper, or undefined. */
function getOne<T>(statement: Database.Statement, map: (row: Row) => T, ...params: unknown[]): T | undefined {
  const row = statement.get(...params) as Row | undefined;
  return row && map(row);
}

/** `first_seen` → `firstSeen`: rows become the camelCase objects the rest of the code reads. */
function camelCase(row: Row): Row {
  return Object.fromEntries(Object.entries(row).map(([name, value]) => [name.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase()), value]));
}

function toPaper(row: Row): StoredPaper {
  const { sources: _sources, topics: _topics, ...columns } = camelCase(row);
  return {
    ...(columns as unknown as StoredPaper),
    authors: JSON.parse(row.authors as string) as string[],
    keywords: JSON.parse(row.keywords as string) as string[],
    categories: JSON.parse(row.categories as string) as string[],
    links: JSON.parse(row.links as string) as PaperFields['links'],
  };
}

function toSubscriber(row: Row): Subscriber {
  return { ...(camelCase(row) as unknown as Subscriber), topics: row.topics === null ? null : (JSON.parse(row.topics as string) as string[]) };
}

const toOutbox = (row: Row) => camelCase(row) as unknown as OutboxRow;
const toRun = (row: Row) => camelCase(row) as unknown as RunRow;
const toListing = (row: Row) => {
  const { warnings: _warnings, ...columns } = camelCase(row);
  return columns as unknown as ListingRow;
};
