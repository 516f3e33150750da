import type { FailedListing, ListingOutcome, ListingRow, NewListing } from '../model/listing.ts';
import type { ArchivedPaper, ArchiveTopic, NewDigestRecord, StoredDigest } from '../model/digest.ts';
import type { ClaimedMessage, NewOutboxMessage, OutboxKind, OutboxState, OutboxCounts, OutboxProblem, OutboxRow, RunRecipient, OutboxTransition } from '../model/outbox.ts';
import type { CandidateRow, ListingPapers, PaperFiling, PaperListItem, PaperToClassify, StoredPaper, TopicCount, WindowPaper } from '../model/paper.ts';
import type { AdminSession, LeaseHolder, RunRow, RunTrigger } from '../model/run.ts';
import type { Subscriber, SubscriberInput, SubscriberSearch, SubscriberStatus, Suppression } from '../model/subscriber.ts';

/**
 * The store port: what the stages need of persistence, split by aggregate and named for what
 * the domain does. Every method is async so that an adapter may talk to a server; each one
 * is atomic on its own. Stages declare the slice they use (`Pick<…>` of these interfaces),
 * and only the composition root knows which adapter is behind it.
 */

export interface ListingRepository {
  listingByHash(contentHash: string): Promise<ListingRow | undefined>;
  /** A new listing row (replacing a failed attempt at the same content); returns its id. */
  insertListing(listing: NewListing): Promise<number>;
  finishListing(id: number, outcome: ListingOutcome): Promise<void>;
  /** Keeps a record of a listing that could not be ingested; a later good ingest replaces it. */
  recordFailedListing(failure: FailedListing): Promise<void>;
  recentListings(limit: number): Promise<ListingRow[]>;
}

export interface PaperRepository {
  /** Every stored paper with one of these arXiv ids or title keys, in id order. */
  papersMatching(identities: { arxivIds: readonly string[]; titleKeys: readonly string[] }): Promise<StoredPaper[]>;
  /**
   * Writes what one listing does to the papers (inserts, updates, touches, links) in one call.
   * Inside a transaction a failure may fail the whole transaction (SQLite writes it without a
   * savepoint): let it roll back, do not carry on in it.
   */
  saveListingPapers(listingId: number, papers: ListingPapers, now: string): Promise<void>;
  paperByKey(key: string): Promise<StoredPaper | undefined>;
  paperByTitleKey(titleKey: string): Promise<StoredPaper | undefined>;
  /** The day and 0-based place of the paper in its newest listing (as digest candidates rank it); nulls when unlisted. */
  paperListingPlace(paperId: number): Promise<{ listedOn: string | null; position: number | null }>;
  listPapers(options: { since?: string | null; limit?: number | null; topic?: string | null }): Promise<PaperListItem[]>;
  countPapers(): Promise<{ papers: number; paperListings: number }>;
}

export interface TopicRepository {
  /** Papers never filed, changed since, or filed by another taxonomy version. */
  papersToClassify(taxonomyVersion: string, limit: number): Promise<PaperToClassify[]>;
  /** Replaces each paper's topics (primary first) and records the taxonomy version. */
  saveFilings(taxonomyVersion: string, filings: readonly PaperFiling[]): Promise<void>;
  topicCounts(examples: number): Promise<TopicCount[]>;
}

export interface SubscriberRepository {
  /** Adds a subscriber; null when the address is already subscribed (in any status). */
  insertSubscriber(input: SubscriberInput, status: SubscriberStatus, now: string): Promise<Subscriber | null>;
  subscriberByEmail(email: string): Promise<Subscriber | undefined>;
  subscriberById(id: number): Promise<Subscriber | undefined>;
  /** Removes the subscriber and, with them, the record of what they were sent (the public archive keeps its papers). */
  deleteSubscriber(id: number): Promise<void>;
  /** Keyset pagination: subscribers with id > `after`, in id order. */
  listSubscribers(options: { status?: SubscriberStatus | null; after?: number; limit?: number }): Promise<Subscriber[]>;
  /**
   * The admin's search, done by the store however many subscribers there are: addresses
   * containing `emailContains` (case-insensitive, taken literally: no wildcards), of `status`
   * when given; keyset pagination like listSubscribers.
   */
  searchSubscribers(query: SubscriberSearch): Promise<Subscriber[]>;
  subscriberCounts(): Promise<Record<SubscriberStatus, number>>;
  /** An unsubscribed (or still pending) address signs up again: pending, with the new choices. */
  resubscribe(id: number, input: Omit<SubscriberInput, 'email'>, now: string): Promise<void>;
  /** pending → active; false if the subscriber was not pending. */
  confirmSubscriber(id: number, now: string): Promise<boolean>;
  /** Idempotent; mail queued before they left fails instead of going out. */
  unsubscribe(id: number, now: string): Promise<boolean>;
  /** An admin takes a bounced or unsubscribed address back: active, bounces forgotten, suppression lifted. */
  reactivateSubscriber(id: number, now: string): Promise<boolean>;
  /** Why and when an address bounced, if it did. */
  suppressionOf(email: string): Promise<Suppression | undefined>;
  /** Forgets sign-ups never confirmed since `before`; returns how many. */
  expirePending(before: string): Promise<number>;
  updatePreferences(id: number, input: Omit<SubscriberInput, 'email'>): Promise<void>;
}

export interface OutboxRepository {
  /**
   * Papers first seen after `since` that were neither delivered to the subscriber nor
   * reserved by a message still queued for them; one row per (paper, topic it is filed under).
   */
  digestCandidates(subscriberId: number, since: string): Promise<CandidateRow[]>;
  /**
   * Every filed paper first seen after `since`, with its topics (primary first), in id
   * order: a run reads its window once and selects every subscriber's digest from it.
   */
  windowPapers(since: string): Promise<WindowPaper[]>;
  /**
   * For each of these subscribers, the ids of papers first seen after `since` that were
   * delivered to them or are reserved by a message still queued for them (what
   * `digestCandidates` leaves out); a subscriber with none is absent from the map.
   */
  heldPaperIds(subscriberIds: readonly number[], since: string): Promise<Map<number, Set<number>>>;
  /** Ids of the papers delivered to a subscriber (the "previously sent" record). */
  deliveredPaperIds(subscriberId: number): Promise<number[]>;
  /**
   * Queues a rendered message, atomically with, for a digest, the reservation of its papers,
   * the move of the subscriber's window and (when given) the digest's record. A digest is
   * queued only if the subscriber's window is still `message.windowSince` and no other digest
   * is queued for them; otherwise nothing is written and the answer is null (another
   * producer got there first).
   */
  queueMessage(message: NewOutboxMessage, paperIds: readonly number[], digest?: NewDigestRecord): Promise<number | null>;
  /**
   * Queues a page of messages as `queueMessage` would queue each in turn (the same checks, so a
   * second digest for one subscriber in the page is refused), in one unit: all or none written.
   * The answers are in the page's order.
   */
  queueMessages(messages: readonly MessageToQueue[]): Promise<(number | null)[]>;
  subscribersWithQueuedMail(): Promise<Set<number>>;
  /**
   * Claims up to `limit` queued messages whose time has come (for active subscribers, not
   * held by an unexpired claim) for `worker` until `until`. Each message is claimed by one
   * worker at a time; an expired claim is claimable again.
   */
  claimDue(worker: string, limit: number, now: string, until: string, kinds?: readonly OutboxKind[], options?: ClaimOptions): Promise<ClaimedMessage[]>;
  /** Workers holding claims on queued messages now. */
  claimHolders(): Promise<string[]>;
  /** Pushes back the expiry of every claim `worker` holds; returns how many. */
  extendClaims(worker: string, until: string): Promise<number>;
  /** Gives back the claims `worker` holds without changing the messages (a shutdown). */
  releaseClaims(worker: string): Promise<number>;
  /**
   * Persists a decided transition for a message `worker` still holds; false (nothing
   * written) when the claim was lost or the message is no longer queued.
   */
  settle(message: Pick<ClaimedMessage, 'id' | 'subscriberId' | 'messageId'>, worker: string, transition: OutboxTransition, now: string): Promise<boolean>;
  /**
   * `settle` for many messages in one transaction (one commit for a batch of answers): each
   * answer says whether that message's transition was written, in the order given.
   */
  settleMany(settlements: readonly Settlement[], worker: string, now: string): Promise<boolean[]>;
  /**
   * When the next queued message (of these kinds, when given) may be claimed: its retry time,
   * or, while another worker holds it, when that claim expires; null when nothing is queued.
   */
  nextRetryAt(kinds?: readonly OutboxKind[]): Promise<string | null>;
  sentSince(since: string): Promise<number>;
  outboxCounts(): Promise<OutboxCounts>;
  /** The newest messages that failed, or wait for a retry, with their last error. */
  outboxProblems(limit: number): Promise<OutboxProblem[]>;
  outboxById(id: number): Promise<OutboxState | undefined>;
  /** Bodies are needed only while queued: drops the rest; returns how many. */
  pruneOutboxBodies(): Promise<number>;
}

export interface ClaimOptions {
  /** Read each message's HTML copy (default true); false leaves `html` null. */
  html?: boolean;
  /**
   * Told of each claimed message whose bytes cannot be read whole (a spool file gone or cut
   * short): the store has failed it for good already, and it is not among those returned.
   */
  onUnsendable?: (message: Pick<ClaimedMessage, 'id' | 'recipient' | 'messageId'>, error: string) => void;
}

/** One message for `queueMessages`: what `queueMessage` takes. */
export interface MessageToQueue {
  message: NewOutboxMessage;
  paperIds: readonly number[];
  record?: NewDigestRecord;
}

/** One message's decided transition, for `settleMany`. */
export interface Settlement {
  message: Pick<ClaimedMessage, 'id' | 'subscriberId' | 'messageId'>;
  transition: OutboxTransition;
}

/** The records of queued digests, written by `queueMessage`: the web view and the public archive. */
export interface DigestRepository {
  /** A digest with every paper it recorded (fitted or not), in recorded order. */
  digestByKey(key: string): Promise<StoredDigest | undefined>;
  /** Topics with at least one paper that went out in a digest, by topic id. */
  archiveTopics(): Promise<ArchiveTopic[]>;
  /** The papers that went out under a topic, each with the first digest that carried it, the most recent first. */
  archivedPapers(topicId: string, limit: number): Promise<ArchivedPaper[]>;
}

export interface RunRepository {
  insertRun(trigger: RunTrigger, now: string): Promise<number>;
  updateRun(run: RunRow): Promise<void>;
  /** Runs still marked running when a new run takes the lease died with their process. */
  interruptRuns(now: string): Promise<number>;
  recentRuns(limit: number): Promise<RunRow[]>;
  runById(id: number): Promise<RunRow | undefined>;
  /** Every message a run queued, in queued order, with its outcome and the relay's last answer. */
  runRecipients(runId: number): Promise<RunRecipient[]>;
}

/** Admin console sessions: in the store, so every web replica knows every session. */
export interface AdminSessionRepository {
  createAdminSession(session: AdminSession): Promise<void>;
  /** The session with this id hash, if it has not expired by `now`. */
  adminSession(idHash: string, now: string): Promise<AdminSession | undefined>;
  deleteAdminSession(idHash: string): Promise<void>;
  /** Drops sessions expired by `now`; returns how many. */
  expireAdminSessions(now: string): Promise<number>;
}

export interface LeaseRepository {
  /**
   * Takes (or renews) a lease unless someone else holds it unexpired. `staleHolder` names a
   * holder known to be dead, whose lease may be taken at once.
   */
  acquireLease(name: string, holder: string, now: string, expiresAt: string, staleHolder?: string | null): Promise<boolean>;
  leaseHolder(name: string): Promise<LeaseHolder | undefined>;
  releaseLease(name: string, holder: string): Promise<void>;
}

/** One counter window: what is counted, the window it counts in, and when its row may go. */
export interface HitWindow {
  /** What is counted (a client, an address, delivery attempts); callers hash anything personal. */
  key: string;
  windowStart: string;
  /** Once past, the row is dropped by any later call. */
  expiresAt: string;
}

/**
 * Counters shared by every process on the store: the web's sign-up limits and delivery's
 * run-wide limits. Each call is atomic across processes, so two web replicas or several
 * delivery workers count together.
 */
export interface CounterRepository {
  /**
   * Adds up to `wanted` hits to `window`, as many as `limit` still allows over the windows of
   * its key that start at or after `since` (this window alone when absent); returns how many
   * were added (0 when full). `limit` null counts without limit, and a negative `wanted` then
   * gives hits back. Windows expired by `now` are dropped.
   */
  takeHits(window: HitWindow, wanted: number, limit: number | null, now: string, since?: string): Promise<number>;
  /** The hits of `key` over windows starting at or after `since`. */
  countHits(key: string, since: string): Promise<number>;
}

/** Small facts that must survive restarts (the last scheduled run). */
export interface StateRepository {
  getState(key: string): Promise<string | undefined>;
  setState(key: string, value: string): Promise<void>;
}

/** Everything a transaction can do: the same methods, all inside one transaction. */
export interface StoreSession
  extends ListingRepository,
    PaperRepository,
    TopicRepository,
    SubscriberRepository,
    OutboxRepository,
    DigestRepository,
    RunRepository,
    AdminSessionRepository,
    LeaseRepository,
    CounterRepository,
    StateRepository {}

export interface Transactional {
  /**
   * Runs `work` in one transaction on a transaction-scoped session: all of it is stored, or
   * none of it (it throws → rolled back). Transactions on one store never interleave.
   */
  withTransaction<T>(work: (tx: StoreSession) => Promise<T>): Promise<T>;
}

export interface Store extends StoreSession, Transactional {
  /** Where the data lives, for logs and errors (a path, or a URL without credentials). */
  readonly description: string;
  /** Answers when the store is reachable and its schema current (health checks). */
  ping(): Promise<number>;
  close(): Promise<void>;
}
