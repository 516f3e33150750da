import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { oneLine, PaperboyError } from '../../errors.ts';
import type { FailedListing, ListingOutcome, ListingRow, NewListing } from '../../model/listing.ts';
import { isDigest, type ClaimedMessage, type NewOutboxMessage, type OutboxKind, type OutboxCounts, type OutboxProblem, type RunRecipient, type OutboxState, type OutboxStatus, type OutboxTransition } from '../../model/outbox.ts';
import type { AssignedTopic, CandidateRow, ListingPapers, PaperFields, PaperFiling, PaperListItem, PaperToClassify, StoredPaper, TopicCount, WindowPaper } from '../../model/paper.ts';
import type { ArchivedPaper, ArchiveTopic, NewDigestRecord, StoredDigest } from '../../model/digest.ts';
import type { AdminSession, LeaseHolder, RunRow, RunTrigger } from '../../model/run.ts';
import type { Subscriber, SubscriberInput, SubscriberSearch, SubscriberStatus, Suppression } from '../../model/subscriber.ts';
import type { ClaimOptions, HitWindow, MessageToQueue, Settlement, Store, StoreSession } from '../port.ts';
import { decodeDigestEntries, encodeDigestEntries, encodeEntry, fittedPairs } from '../digest-entries.ts';
import { camelCase, groupHeldPaperIds, groupWindowPapers, hitsGranted, paperParams, toClaimedMessage, toDigestPaper, toListing, toOutbox, toPaper, toPaperToClassify, toRun, toStoredDigest, toSubscriber, type Row, type StoredDigestRow, type WindowPaperRow } from '../rows.ts';
import { MIGRATIONS } from './migrations.ts';
import { openBodySpool, type BodySpool, type SpooledBody } from './spool.ts';
import { prepareStatements, type Statements } from './statements.ts';

/** Runs one synchronous database operation as a promise, under the session's rules. */
type Runner = <T>(operation: () => T) => Promise<T>;

/**
 * The page cache, in KiB. Ingest and selection walk indexes on text keys, which a few tens of
 * megabytes hold for a deployment's papers; more only fills with the pages of queued bodies,
 * written once and never read back by the process that wrote them. With 64 MB a run of 10,000,
 * 30,000 and 100,000 subscribers peaked at 305, 304 and 307 MB RSS; with 32 MB at 272, 273 and
 * 284 MB, in the same wall time (scripts/bench-scale.ts).
 */
export const SQLITE_CACHE_KIB = 32_768;

/**
 * The SQLite adapter (better-sqlite3, the embedded default). better-sqlite3 is synchronous,
 * so every method is a synchronous operation handed back as a promise. What makes that safe
 * with async callers: `withTransaction` holds the connection for as long as its callback
 * runs, and anything else asked of this store meanwhile waits in one chain per connection
 * (as pg-boss's sqlite adapter does), so no outside statement lands inside a transaction.
 */
export function openSqliteStore(path: string): Store {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  // Papers are text-heavy rows (~1.5 KB abstracts): 16 KB pages halve ingest time against
  // the 4 KB default (scripts/bench-ingest.ts). Takes effect only on a new database.
  db.pragma('page_size = 16384');
  // Only a new database (no tables, not yet in WAL mode) can take it: bodies of queued
  // messages come and go by the tens of megabytes, and their pages go back to the file
  // system after each run instead of staying as the file's high-water mark.
  if ((db.prepare(`SELECT count(*) AS n FROM sqlite_schema`).get() as { n: number }).n === 0) db.pragma('auto_vacuum = INCREMENTAL');
  db.pragma('journal_mode = WAL');
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  // WAL makes NORMAL durable against process crashes; only an OS crash can lose the last commit.
  db.pragma('synchronous = NORMAL');
  db.pragma(`cache_size = -${SQLITE_CACHE_KIB}`);
  db.pragma('temp_store = MEMORY');
  registerMigrationFunctions(db);
  migrate(db);
  // Opened and migrated: from here a busy database is waited out on a timer, never inside a call (ConnectionGate).
  db.pragma('busy_timeout = 0');
  db.pragma('foreign_keys = ON');
  // An in-memory database keeps its messages' bytes in its rows: there is no folder beside it.
  return new SqliteStore(db, prepareStatements(db), path === ':memory:' ? null : openBodySpool(path));
}

/** Migration 11 packs the digest records of older databases with the adapter's own encoder. */
export function registerMigrationFunctions(db: Database.Database): void {
  const packEntry = (packed: Buffer[], paperId: number, topicIndex: number, flags: number, score: number) => void packed.push(encodeEntry(paperId, topicIndex, flags, score));
  db.aggregate('paperboy_digest_entries', {
    start: () => [] as Buffer[],
    // The typings know one-argument steps only; SQLite passes the four columns.
    step: packEntry as unknown as (packed: Buffer[], next: Buffer) => void,
    result: (packed: Buffer[]) => Buffer.concat(packed),
  });
}

class SqliteSession implements StoreSession {
  constructor(
    protected readonly db: Database.Database,
    protected readonly sql: Statements,
    protected readonly spool: BodySpool | null,
    protected readonly run: Runner,
    /** Inside a transaction: fails it, so that it can only roll back. Absent on the store itself. */
    private readonly failTransaction?: (error: unknown) => void,
  ) {}

  /** Spool files named by the bodies of settled messages: those no row names any more go once what settled them is committed. */
  private spentFiles = new Set<string>();

  /** A multi-statement operation that must be atomic on its own (a savepoint inside a transaction). */
  protected atomic<T>(operation: () => T): Promise<T> {
    return this.run(() => this.db.transaction(operation).immediate());
  }

  /**
   * `atomic`, then the spooled bodies of the messages it settled are deleted: after the commit,
   * so a rollback never leaves a queued row without its bytes. Inside a longer transaction they
   * stay for the next prune, which sees what that transaction committed.
   */
  private atomicSettling<T>(operation: () => T): Promise<T> {
    return this.run(() => {
      try {
        let unused: string[] = [];
        const result = this.db.transaction(() => {
          const settled = operation();
          // A segment holds a page of messages: it goes with the last of them.
          unused = [...this.spentFiles].filter((file) => this.sql.spoolFileInUse.get(file) === undefined);
          return settled;
        }).immediate();
        if (this.spool && !this.db.inTransaction) this.spool.remove(unused);
        return result;
      } finally {
        this.spentFiles.clear();
      }
    });
  }

  /**
   * Atomic as `atomic` is, but inside a transaction without a savepoint: a failure fails the
   * whole transaction instead (it can then only roll back). Within a savepoint SQLite copies
   * every existing page an operation changes into its sub-journal first, which made ingest's
   * writes a third slower than the same inserts without one (scripts/bench-ingest.ts).
   */
  protected atomicOrFailTransaction<T>(operation: () => T): Promise<T> {
    const failTransaction = this.failTransaction;
    if (!failTransaction) return this.atomic(operation);
    return this.run(() => {
      try {
        return operation();
      } catch (error) {
        failTransaction(error);
        throw error;
      }
    });
  }

  listingByHash(contentHash: string): Promise<ListingRow | undefined> {
    return this.run(() => getOne(this.sql.listingByHash, toListing, contentHash));
  }

  insertListing(listing: NewListing): Promise<number> {
    return this.atomic(() => {
      this.sql.deleteFailedListing.run(listing.contentHash);
      return Number(this.sql.insertListing.run(listing).lastInsertRowid);
    });
  }

  finishListing(id: number, outcome: ListingOutcome): Promise<void> {
    return this.run(() => void this.sql.finishListing.run({ id, ...outcome, warnings: JSON.stringify(outcome.warnings) }));
  }

  recordFailedListing(failure: FailedListing): Promise<void> {
    return this.run(() => void this.sql.recordFailedListing.run(failure));
  }

  recentListings(limit: number): Promise<ListingRow[]> {
    return this.run(() => (this.sql.recentListings.all(limit) as Row[]).map(toListing));
  }

  papersMatching(identities: { arxivIds: readonly string[]; titleKeys: readonly string[] }): Promise<StoredPaper[]> {
    return this.run(() =>
      (this.sql.papersMatching.all({ arxivIds: JSON.stringify(identities.arxivIds), titleKeys: JSON.stringify(identities.titleKeys) }) as Row[]).map(toPaper),
    );
  }

  saveListingPapers(listingId: number, papers: ListingPapers, now: string): Promise<void> {
    return this.atomicOrFailTransaction(() => {
      const insertedIds = papers.inserts.map((fields) => Number(this.sql.insertPaper.run(paperParams(fields, now)).lastInsertRowid));
      for (const { id, fields } of papers.updates) this.sql.updatePaper.run({ id, ...paperParams(fields, now) });
      for (const id of papers.touches) this.sql.touchPaper.run(now, id);
      for (const { paper, position } of papers.links) {
        this.sql.linkPaper.run('id' in paper ? paper.id : insertedIds[paper.inserted], listingId, position);
      }
    });
  }

  paperByKey(key: string): Promise<StoredPaper | undefined> {
    return this.run(() => getOne(this.sql.paperByKey, toPaper, key));
  }

  paperListingPlace(paperId: number): Promise<{ listedOn: string | null; position: number | null }> {
    return this.run(() => {
      const row = this.sql.paperListingPlace.get(paperId) as { listed_on: string | null; position: number | null } | undefined;
      return { listedOn: row?.listed_on ?? null, position: row?.position ?? null };
    });
  }

  paperByTitleKey(titleKey: string): Promise<StoredPaper | undefined> {
    return this.run(() => getOne(this.sql.anyPaperByTitleKey, toPaper, titleKey));
  }

  listPapers(options: { since?: string | null; limit?: number | null; topic?: string | null }): Promise<PaperListItem[]> {
    return this.run(() =>
      (this.sql.listPapers.all({ since: options.since ?? null, limit: options.limit ?? -1, topic: options.topic ?? null }) as Row[]).map((row) => ({
        ...toPaper(row),
        sources: JSON.parse(row.sources as string) as string[],
        topics: JSON.parse(row.topics as string) as AssignedTopic[],
      })),
    );
  }

  countPapers(): Promise<{ papers: number; paperListings: number }> {
    return this.run(() => ({ papers: count(this.sql.countPapers), paperListings: count(this.sql.countPaperListings) }));
  }

  papersToClassify(taxonomyVersion: string, limit: number): Promise<PaperToClassify[]> {
    return this.run(() =>
      (this.sql.papersToClassify.all(taxonomyVersion, limit) as Row[]).map(toPaperToClassify),
    );
  }

  saveFilings(taxonomyVersion: string, filings: readonly PaperFiling[]): Promise<void> {
    return this.atomic(() => {
      for (const { paperId, topics } of filings) {
        this.sql.deletePaperTopics.run(paperId);
        topics.forEach((topic, rank) => this.sql.insertPaperTopic.run(paperId, topic.topicId, rank, topic.score, JSON.stringify(topic.evidence)));
        this.sql.markClassified.run(taxonomyVersion, topics[0]?.topicId ?? null, paperId);
      }
    });
  }

  topicCounts(examples: number): Promise<TopicCount[]> {
    return this.run(() =>
      (this.sql.topicCounts.all({ examples }) as Row[]).map((row) => ({
        topicId: row.topic_id as string,
        papers: row.papers as number,
        secondary: row.secondary as number,
        examples: JSON.parse(row.examples as string) as string[],
      })),
    );
  }

  insertSubscriber(input: SubscriberInput, status: SubscriberStatus, now: string): Promise<Subscriber | null> {
    return this.atomic(() => {
      const result = this.sql.insertSubscriber.run({ ...input, topics: input.topics && JSON.stringify(input.topics), status, now });
      return result.changes === 0 ? null : getOne(this.sql.subscriberById, toSubscriber, Number(result.lastInsertRowid))!;
    });
  }

  subscriberByEmail(email: string): Promise<Subscriber | undefined> {
    return this.run(() => getOne(this.sql.subscriberByEmail, toSubscriber, email));
  }

  subscriberById(id: number): Promise<Subscriber | undefined> {
    return this.run(() => getOne(this.sql.subscriberById, toSubscriber, id));
  }

  deleteSubscriber(id: number): Promise<void> {
    return this.run(() => void this.sql.deleteSubscriber.run(id));
  }

  listSubscribers(options: { status?: SubscriberStatus | null; after?: number; limit?: number }): Promise<Subscriber[]> {
    return this.run(() =>
      (this.sql.listSubscribers.all({ status: options.status ?? null, after: options.after ?? 0, limit: options.limit ?? -1 }) as Row[]).map(toSubscriber),
    );
  }

  searchSubscribers(query: SubscriberSearch): Promise<Subscriber[]> {
    return this.run(() =>
      (this.sql.searchSubscribers.all({ contains: query.emailContains ?? '', status: query.status ?? null, after: query.after ?? 0, limit: query.limit }) as Row[]).map(toSubscriber),
    );
  }

  subscriberCounts(): Promise<Record<SubscriberStatus, number>> {
    return this.run(() => {
      const counts: Record<SubscriberStatus, number> = { pending: 0, active: 0, unsubscribed: 0, bounced: 0 };
      for (const row of this.sql.countSubscribers.all() as { status: SubscriberStatus; n: number }[]) counts[row.status] = row.n;
      return counts;
    });
  }

  resubscribe(id: number, input: Omit<SubscriberInput, 'email'>, now: string): Promise<void> {
    return this.run(() => void this.sql.resubscribe.run({ id, ...input, topics: input.topics && JSON.stringify(input.topics), now }));
  }

  confirmSubscriber(id: number, now: string): Promise<boolean> {
    return this.run(() => this.sql.confirmSubscriber.run({ id, now }).changes === 1);
  }

  unsubscribe(id: number, now: string): Promise<boolean> {
    return this.atomic(() => {
      const changed = this.sql.unsubscribe.run({ id, now }).changes === 1;
      // Mail queued before they left is not sent after it.
      if (changed) this.failQueuedOf(id, 'subscriber unsubscribed');
      return changed;
    });
  }

  reactivateSubscriber(id: number, now: string): Promise<boolean> {
    return this.atomic(() => {
      const changed = this.sql.reactivateSubscriber.run({ id, now }).changes === 1;
      if (changed) this.sql.liftSuppression.run(id);
      return changed;
    });
  }

  suppressionOf(email: string): Promise<Suppression | undefined> {
    return this.run(() => getOne(this.sql.suppressionOf, (row) => camelCase(row) as unknown as Suppression, email));
  }

  expirePending(before: string): Promise<number> {
    return this.run(() => this.sql.expirePending.run(before).changes);
  }

  updatePreferences(id: number, input: Omit<SubscriberInput, 'email'>): Promise<void> {
    return this.run(() => void this.sql.updatePreferences.run({ id, ...input, topics: input.topics && JSON.stringify(input.topics) }));
  }

  digestCandidates(subscriberId: number, since: string): Promise<CandidateRow[]> {
    return this.run(() =>
      (this.sql.digestCandidates.all({ subscriberId, since }) as Row[]).map((row) => toDigestPaper(row) as unknown as CandidateRow),
    );
  }

  windowPapers(since: string): Promise<WindowPaper[]> {
    return this.run(() => groupWindowPapers(this.sql.windowPapers.iterate({ since }) as Iterable<WindowPaperRow>));
  }

  heldPaperIds(subscriberIds: readonly number[], since: string): Promise<Map<number, Set<number>>> {
    return this.run(() =>
      groupHeldPaperIds((this.sql.heldPaperIds.raw().all({ subscriberIds: JSON.stringify(subscriberIds), since }) as [number, number][])),
    );
  }

  deliveredPaperIds(subscriberId: number): Promise<number[]> {
    return this.run(() => (this.sql.deliveredPaperIds.all(subscriberId) as { paper_id: number }[]).map((row) => row.paper_id));
  }

  async queueMessage(message: NewOutboxMessage, paperIds: readonly number[], record?: NewDigestRecord): Promise<number | null> {
    const [id] = await this.queueMessages([{ message, paperIds, ...(record ? { record } : {}) }]);
    return id!;
  }

  async queueMessages(messages: readonly MessageToQueue[]): Promise<(number | null)[]> {
    if (messages.length === 0) return [];
    // Written before the transaction, outside the write lock (src/store/sqlite/spool.ts).
    const segment = this.spool?.write(messages.map(({ message }) => message.raw)) ?? null;
    let ids: (number | null)[];
    try {
      // One savepoint for the page, not one per message: each copies the pages it changes.
      ids = await this.atomic(() => {
        const archive = new ArchivedPairs();
        const queued = messages.map(({ message, paperIds, record }, index) => this.queueOne(message, paperIds, record, segment && { file: segment.file, offset: segment.offsets[index]! }, archive));
        if (archive.size > 0) this.sql.archiveFitted.run(archive.json());
        return queued;
      });
    } catch (error) {
      if (segment) this.spool!.remove([segment.file]);
      throw error;
    }
    // Every digest refused (another producer queued them): no row names the segment.
    if (segment && ids.every((id) => id === null)) this.spool!.remove([segment.file]);
    return ids;
  }

  private queueOne(
    message: NewOutboxMessage,
    paperIds: readonly number[],
    record: NewDigestRecord | undefined,
    spooled: { file: string; offset: number } | null,
    archive: ArchivedPairs,
  ): number | null {
    if (isDigest(message.kind) && !this.sql.digestQueueable.get({ subscriberId: message.subscriberId, windowSince: message.windowSince })) return null;
    const { raw, html, ...state } = message;
    const id = Number(this.sql.insertOutbox.run(state).lastInsertRowid);
    if (spooled) this.sql.insertOutboxBody.run(id, null, spooled.file, spooled.offset, raw.length, html);
    else this.sql.insertOutboxBody.run(id, raw, null, null, null, html);
    if (paperIds.length > 0) this.sql.reservePapers.run({ subscriberId: message.subscriberId, outboxId: id, paperIds: JSON.stringify(paperIds) });
    if (isDigest(message.kind)) this.sql.advanceWindow.run(message.now, message.subscriberId);
    if (record) {
      this.sql.insertDigest.run({ key: record.key, subscriberId: record.subscriberId, outboxId: id, createdAt: record.createdAt, ...encodeDigestEntries(record.entries) });
      archive.add(record.entries, record.createdAt);
    }
    return id;
  }

  digestByKey(key: string): Promise<StoredDigest | undefined> {
    return this.run(() => {
      const digest = this.sql.digestByKey.get(key) as StoredDigestRow | undefined;
      if (!digest) return undefined;
      const entries = decodeDigestEntries(digest.topics, digest.entries);
      return toStoredDigest(digest, entries, this.sql.digestPapers.all(JSON.stringify(entries.map((entry) => entry.paperId))) as Row[]);
    });
  }

  archiveTopics(): Promise<ArchiveTopic[]> {
    return this.run(() => (this.sql.archiveTopics.all() as Row[]).map((row) => camelCase(row) as unknown as ArchiveTopic));
  }

  archivedPapers(topicId: string, limit: number): Promise<ArchivedPaper[]> {
    return this.run(() => (this.sql.archivedPapers.all({ topicId, limit }) as Row[]).map((row) => toDigestPaper(row) as unknown as ArchivedPaper));
  }

  subscribersWithQueuedMail(): Promise<Set<number>> {
    return this.run(() => new Set((this.sql.subscribersWithQueued.all() as { subscriber_id: number }[]).map((row) => row.subscriber_id)));
  }

  claimDue(worker: string, limit: number, now: string, until: string, kinds?: readonly OutboxKind[], options: ClaimOptions = {}): Promise<ClaimedMessage[]> {
    const unsendable: [ClaimedMessage, string][] = [];
    return this.atomicSettling(() => {
      const ids = (this.sql.claimDue.all({ worker, limit, now, until, kinds: kinds ? JSON.stringify(kinds) : null }) as { id: number }[]).map((row) => row.id);
      if (ids.length === 0) return [];
      const claimed: ClaimedMessage[] = [];
      const rows = this.sql.claimedMessages.all({ ids: JSON.stringify(ids), worker, html: options.html === false ? 0 : 1 }) as Row[];
      const spooled = rows.filter((row) => row.raw === null);
      // One open per segment for the whole batch.
      const read = this.spool?.readMany(spooled.map(spooledBodyOf)) ?? [];
      const bytes = new Map(spooled.map((row, index) => [row, read[index]]));
      for (const row of rows) {
        const message = toClaimedMessage(row);
        if (row.raw === null) {
          const body = bytes.get(row) ?? `message ${message.id}: its bytes are in a spool file and an in-memory database has no folder`;
          // A body that cannot be sent whole fails its message now (its papers come in the next
          // digest); the others of the batch go on.
          if (typeof body === 'string') {
            if (this.settleOne(message, worker, { status: 'failed', attempts: message.attempts, error: body, hardBounce: false, bounceSubscriber: false, deliveryError: false }, now)) unsendable.push([message, body]);
            continue;
          }
          message.raw = body;
        }
        claimed.push(message);
      }
      return claimed;
    }).then((claimed) => {
      // Told once the failures are committed.
      for (const [message, error] of unsendable) options.onUnsendable?.(message, error);
      return claimed;
    });
  }

  claimHolders(): Promise<string[]> {
    return this.run(() => (this.sql.claimHolders.all() as { claimed_by: string }[]).map((row) => row.claimed_by));
  }

  extendClaims(worker: string, until: string): Promise<number> {
    return this.run(() => this.sql.extendClaims.run({ worker, until }).changes);
  }

  releaseClaims(worker: string): Promise<number> {
    return this.run(() => this.sql.releaseClaims.run(worker).changes);
  }

  settle(message: Pick<ClaimedMessage, 'id' | 'subscriberId' | 'messageId'>, worker: string, transition: OutboxTransition, now: string): Promise<boolean> {
    return this.atomicSettling(() => this.settleOne(message, worker, transition, now));
  }

  settleMany(settlements: readonly Settlement[], worker: string, now: string): Promise<boolean[]> {
    return this.atomicSettling(() => settlements.map(({ message, transition }) => this.settleOne(message, worker, transition, now)));
  }

  private settleOne(message: Pick<ClaimedMessage, 'id' | 'subscriberId' | 'messageId'>, worker: string, transition: OutboxTransition, now: string): boolean {
    const { id, subscriberId, messageId } = message;
    switch (transition.status) {
      case 'sent': {
        if (this.sql.markSent.run({ id, worker, attempts: transition.attempts, sentAt: transition.sentAt }).changes === 0) return false;
        // Its papers were recorded as its deliveries when it was queued: nothing to move.
        // A settled message is never sent again: its ~70 KB body goes now, not at the run's end.
        this.dropBody(message);
        return true;
      }
      case 'queued':
        return this.sql.markRetry.run({ id, worker, attempts: transition.attempts, nextAttemptAt: transition.nextAttemptAt, error: transition.error }).changes === 1;
      case 'failed': {
        if (this.sql.markFailed.run({ id, worker, attempts: transition.attempts, error: transition.error }).changes === 0) return false;
        this.sql.restoreWindow.run({ id });
        this.sql.releaseReservation.run({ id, subscriberId });
        this.dropBody(message);
        if (transition.hardBounce) this.sql.hardBounce.run({ id: subscriberId, bounce: transition.bounceSubscriber ? 1 : 0 });
        if (transition.bounceSubscriber) {
          this.failQueuedOf(subscriberId, 'subscriber bounced');
          this.sql.suppress.run({ subscriberId, reason: transition.error, messageId, now });
        }
        return true;
      }
    }
  }

  private dropBody(message: { id: number }): void {
    const file = this.sql.dropBody.get(message.id) as string | null | undefined;
    if (file) this.spentFiles.add(file);
  }

  /** Fails what is still queued for a subscriber, and gives back the papers it held. */
  private failQueuedOf(subscriberId: number, error: string): void {
    this.sql.releaseQueuedReservations.run({ subscriberId });
    this.sql.failQueuedOf.run({ subscriberId, error });
  }

  nextRetryAt(kinds?: readonly OutboxKind[]): Promise<string | null> {
    return this.run(() => (this.sql.nextRetryAt.get({ kinds: kinds ? JSON.stringify(kinds) : null }) as { at: string | null }).at);
  }

  sentSince(since: string): Promise<number> {
    return this.run(() => (this.sql.sentSince.get(since) as { n: number }).n);
  }

  outboxCounts(): Promise<OutboxCounts> {
    return this.run(() => {
      const counts: OutboxCounts = { queued: 0, sent: 0, failed: 0 };
      for (const row of this.sql.outboxCounts.all() as { status: OutboxStatus; n: number }[]) counts[row.status] = row.n;
      return counts;
    });
  }

  outboxProblems(limit: number): Promise<OutboxProblem[]> {
    return this.run(() => (this.sql.outboxProblems.all(limit) as Row[]).map((row) => camelCase(row) as unknown as OutboxProblem));
  }

  outboxById(id: number): Promise<OutboxState | undefined> {
    return this.run(() => getOne(this.sql.outboxById, toOutbox, id));
  }

  pruneOutboxBodies(): Promise<number> {
    return this.run(() => {
      // Under the write lock: no message is being queued (its file written) meanwhile.
      const pruned = this.db.transaction(() => {
        const rows = this.sql.pruneBodies.run().changes;
        this.spool?.prune(this.sql.spoolFiles.all() as string[]);
        return rows;
      }).immediate();
      // Give the freed pages back to the file system (a new database is made with incremental
      // auto-vacuum), so the bodies of a run do not stay as the file's high-water mark.
      this.db.pragma('incremental_vacuum');
      return pruned;
    });
  }

  insertRun(trigger: RunTrigger, now: string): Promise<number> {
    return this.run(() => Number(this.sql.insertRun.run(trigger, now).lastInsertRowid));
  }

  updateRun(run: RunRow): Promise<void> {
    return this.run(() => void this.sql.updateRun.run(run));
  }

  interruptRuns(now: string): Promise<number> {
    return this.run(() => this.sql.interruptRuns.run(now).changes);
  }

  recentRuns(limit: number): Promise<RunRow[]> {
    return this.run(() => (this.sql.recentRuns.all(limit) as Row[]).map(toRun));
  }

  runById(id: number): Promise<RunRow | undefined> {
    return this.run(() => getOne(this.sql.runById, toRun, id));
  }

  runRecipients(runId: number): Promise<RunRecipient[]> {
    return this.run(() => (this.sql.runRecipients.all(runId) as Row[]).map((row) => camelCase(row) as unknown as RunRecipient));
  }

  createAdminSession(session: AdminSession): Promise<void> {
    return this.run(() => {
      this.sql.insertAdminSession.run(session);
    });
  }

  adminSession(idHash: string, now: string): Promise<AdminSession | undefined> {
    return this.run(() => getOne(this.sql.adminSession, (row) => camelCase(row) as unknown as AdminSession, idHash, now));
  }

  deleteAdminSession(idHash: string): Promise<void> {
    return this.run(() => {
      this.sql.deleteAdminSession.run(idHash);
    });
  }

  expireAdminSessions(now: string): Promise<number> {
    return this.run(() => this.sql.expireAdminSessions.run(now).changes);
  }

  acquireLease(name: string, holder: string, now: string, expiresAt: string, staleHolder: string | null = null): Promise<boolean> {
    return this.atomic(() => {
      this.sql.acquireLease.run({ name, holder, now, expiresAt, staleHolder });
      return (this.sql.leaseByName.get(name) as { holder: string }).holder === holder;
    });
  }

  leaseHolder(name: string): Promise<LeaseHolder | undefined> {
    return this.run(() => {
      const row = this.sql.leaseByName.get(name) as Row | undefined;
      return row && { holder: row.holder as string, expiresAt: row.expires_at as string };
    });
  }

  releaseLease(name: string, holder: string): Promise<void> {
    return this.run(() => void this.sql.releaseLease.run(name, holder));
  }

  takeHits(window: HitWindow, wanted: number, limit: number | null, now: string, since: string = window.windowStart): Promise<number> {
    return this.atomic(() => {
      this.sql.dropExpiredCounters.run(now);
      const used = limit === null ? 0 : (this.sql.countHits.get(window.key, since) as { n: number }).n;
      const granted = hitsGranted(wanted, limit, used);
      if (granted !== 0) this.sql.addHits.run({ ...window, hits: granted });
      return granted;
    });
  }

  countHits(key: string, since: string): Promise<number> {
    return this.run(() => (this.sql.countHits.get(key, since) as { n: number }).n);
  }

  getState(key: string): Promise<string | undefined> {
    return this.run(() => (this.sql.getState.get(key) as { value: string } | undefined)?.value);
  }

  setState(key: string, value: string): Promise<void> {
    return this.run(() => void this.sql.setState.run(key, value));
  }
}

/**
 * One connection's queue: outside a transaction an operation runs at once (it is
 * synchronous: nothing can come between its statements); while a transaction is open,
 * everything else waits for the connection in one chain.
 *
 * An operation that finds another connection writing (SQLITE_BUSY: it wrote nothing) is
 * tried again every millisecond, on a timer, until BUSY_TIMEOUT_MS have passed on the clock.
 * SQLite's own busy timeout sleeps inside the call instead: a delivery worker waiting out a
 * run's page commit stopped feeding its SMTP connections for the whole wait, and its backed-off
 * sleeps (1, 2, 5, 10, 15 … 100 ms) overslept the commit (23% of the worker's time in a 10k
 * run, against the run's ~2.2 s of commits); signals also cut those sleeps short (--cpu-prof).
 */
class ConnectionGate {
  private chain: Promise<unknown> = Promise.resolve();
  private readonly waiting = new Set<Promise<unknown>>();
  inTransaction = false;

  constructor(private readonly db: Database.Database) {}

  run<T>(operation: () => T, deadline = Date.now() + BUSY_TIMEOUT_MS): Promise<T> {
    if (this.inTransaction) return this.enqueue(async () => operation());
    try {
      return Promise.resolve(operation());
    } catch (error) {
      if (!isBusy(error) || this.db.inTransaction || Date.now() >= deadline) return Promise.reject(error as Error);
      // Tried again through the gate: a transaction opened meanwhile is waited for, not joined.
      const retry = busyPause().then(() => this.run(operation, deadline));
      this.waiting.add(retry);
      void retry.catch(() => {}).finally(() => this.waiting.delete(retry));
      return retry;
    }
  }

  enqueue<T>(operation: () => Promise<T>): Promise<T> {
    const next = this.chain.then(operation, operation);
    this.chain = next.catch(() => {});
    return next;
  }

  async idle(): Promise<unknown> {
    while (this.waiting.size > 0) await Promise.allSettled([...this.waiting]);
    return this.chain;
  }
}

const isBusy = (error: unknown) => (error as { code?: unknown }).code === 'SQLITE_BUSY';
const busyPause = () => new Promise<void>((resolve) => setTimeout(resolve, 1));

class SqliteStore extends SqliteSession implements Store {
  readonly description: string;
  private readonly gate: ConnectionGate;

  constructor(db: Database.Database, sql: Statements, spool: BodySpool | null) {
    const gate = new ConnectionGate(db);
    super(db, sql, spool, (operation) => gate.run(operation));
    this.gate = gate;
    this.description = db.name;
  }

  withTransaction<T>(work: (tx: StoreSession) => Promise<T>): Promise<T> {
    return this.gate.enqueue(async () => {
      let open = true;
      let failure: { error: unknown } | null = null;
      const tx = new SqliteSession(
        this.db,
        this.sql,
        this.spool,
        (operation) => {
          if (!open) return Promise.reject(new Error('this transaction has ended; use the store it came from'));
          if (failure) return Promise.reject(new Error(`this transaction failed (${oneLine(failure.error)}) and can only roll back`));
          return settled(operation);
        },
        (error) => (failure ??= { error }),
      );
      // Waits out another connection's write as any operation does; nothing of this store's
      // can slip in meanwhile but a single operation outside any transaction.
      await this.gate.run(() => void this.db.exec('BEGIN IMMEDIATE'));
      this.gate.inTransaction = true;
      try {
        const result = await work(tx);
        // The callback caught a failure that left the transaction half-written: nothing of it is kept.
        if (failure) throw (failure as { error: unknown }).error;
        this.db.exec('COMMIT');
        return result;
      } catch (error) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw error;
      } finally {
        open = false;
        this.gate.inTransaction = false;
      }
    });
  }

  ping(): Promise<number> {
    return this.run(() => this.db.pragma('user_version', { simple: true }) as number);
  }

  async close(): Promise<void> {
    await this.gate.idle();
    this.db.close();
  }
}

/** How long a write waits for another connection's transaction before failing. */
const BUSY_TIMEOUT_MS = 5000;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * SQLite's busy timeout adds up the sleeps it asked for, not the time that passed, and a
 * signal cuts each sleep short: under `node --cpu-prof` (a sample every millisecond) its
 * 5 s ran out after about 70 ms while a run committed a page of digests, and the delivery
 * worker beside it died. An operation that found the database busy outside a transaction
 * wrote nothing, so it is tried again until the same 5 s have passed on the clock. Used while
 * a store opens (migrations); an open store waits on a timer instead (ConnectionGate).
 */
function untilNotBusy<T>(db: Database.Database, operation: () => T): T {
  const deadline = Date.now() + BUSY_TIMEOUT_MS;
  for (;;) {
    try {
      return operation();
    } catch (error) {
      if (!isBusy(error) || db.inTransaction || Date.now() >= deadline) throw error;
      Atomics.wait(sleeper, 0, 0, 5);
    }
  }
}

/** The (topic, paper) pairs a page of digests sent out, each with the first and last time one of them did. */
class ArchivedPairs {
  private readonly pairs = new Map<string, [topicId: string, paperId: number, first: string, last: string]>();

  get size(): number {
    return this.pairs.size;
  }

  add(entries: NewDigestRecord['entries'], at: string): void {
    const { topicIds, paperIds } = fittedPairs(entries);
    for (const [index, topicId] of topicIds.entries()) {
      const key = `${topicId}\u0000${paperIds[index]}`;
      const pair = this.pairs.get(key);
      if (!pair) this.pairs.set(key, [topicId, paperIds[index]!, at, at]);
      else {
        if (at < pair[2]) pair[2] = at;
        if (at > pair[3]) pair[3] = at;
      }
    }
  }

  json(): string {
    return JSON.stringify([...this.pairs.values()]);
  }
}

/** Where a row's spooled bytes are. */
export function spooledBodyOf(row: Row): SpooledBody {
  return { file: row.spool_file as string, offset: row.spool_offset as number | null, bytes: row.spooled_bytes as number };
}

function settled<T>(operation: () => T): Promise<T> {
  try {
    return Promise.resolve(operation());
  } catch (error) {
    return Promise.reject(error as Error);
  }
}

/**
 * Brings the schema up to date, one migration per transaction. The version is read inside
 * each `BEGIN IMMEDIATE`, so processes opening a new database at once take turns instead of
 * both creating its tables.
 */
function migrate(db: Database.Database): void {
  db.pragma('foreign_keys = OFF');
  for (;;) {
    untilNotBusy(db, () => db.exec('BEGIN IMMEDIATE'));
    try {
      const current = db.pragma('user_version', { simple: true }) as number;
      if (current > MIGRATIONS.length) {
        throw new PaperboyError('STORE_SCHEMA', `${db.name}: schema version ${current} is newer than this Paperboy knows (${MIGRATIONS.length}); upgrade Paperboy`);
      }
      if (current === MIGRATIONS.length) {
        db.exec('COMMIT');
        return;
      }
      db.exec(MIGRATIONS[current]!);
      const broken = db.pragma('foreign_key_check') as unknown[];
      if (broken.length > 0) throw new PaperboyError('STORE_SCHEMA', `${db.name}: migration ${current + 1} left ${broken.length} rows with broken references`);
      db.pragma(`user_version = ${current + 1}`);
      db.exec('COMMIT');
    } catch (error) {
      if (db.inTransaction) db.exec('ROLLBACK');
      throw error;
    }
  }
}

function count(statement: Database.Statement): number {
  return (statement.get() as { n: number }).n;
}

/** One row through its mapper, or undefined. */
function getOne<T>(statement: Database.Statement, map: (row: Row) => T, ...params: unknown[]): T | undefined {
  const row = statement.get(...params) as Row | undefined;
  return row && map(row);
}
