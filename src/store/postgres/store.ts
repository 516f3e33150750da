import { isUtf8 } from 'node:buffer';
import postgres from 'postgres';
import { PaperboyError } from '../../errors.ts';
import type { FailedListing, ListingOutcome, ListingRow, NewListing } from '../../model/listing.ts';
import { isDigest, type ClaimedMessage, type NewOutboxMessage, type OutboxKind, type OutboxCounts, type OutboxProblem, type OutboxState, type OutboxStatus, type OutboxTransition, type RunRecipient } from '../../model/outbox.ts';
import type { AssignedTopic, CandidateRow, ListingPapers, PaperFiling, PaperListItem, PaperToClassify, StoredPaper, TopicCount, WindowPaper } from '../../model/paper.ts';
import type { ArchivedPaper, ArchiveTopic, NewDigestRecord, StoredDigest } from '../../model/digest.ts';
import type { AdminSession, LeaseHolder, RunRow, RunTrigger } from '../../model/run.ts';
import type { Subscriber, SubscriberInput, SubscriberSearch, SubscriberStatus, Suppression } from '../../model/subscriber.ts';
import type { ClaimOptions, HitWindow, MessageToQueue, Settlement, Store, StoreSession } from '../port.ts';
import { decodeDigestEntries, encodeDigestEntries, fittedPairs } from '../digest-entries.ts';
import { camelCase, groupHeldPaperIds, groupWindowPapers, hitsGranted, paperParams, toClaimedMessage, toDigestPaper, toListing, toOutbox, toPaper, toPaperToClassify, toRun, toStoredDigest, toSubscriber, type Row, type StoredDigestRow, type WindowPaperRow } from '../rows.ts';
import { PG_MIGRATIONS } from './migrations.ts';

/** Any postgres.js handle: the pool, a transaction, or a savepoint inside one. */
type Sql = postgres.Sql | postgres.TransactionSql;

export interface PostgresOptions {
  url: string;
  /** Connections in the pool (PAPERBOY_DATABASE_POOL). */
  pool?: number;
  /** disable | require | verify-full (PAPERBOY_DATABASE_SSL), with an optional CA bundle (PEM text). */
  ssl?: 'disable' | 'require' | 'verify-full';
  ca?: string | null;
  /** A schema to work in (search_path); the tests give each store a fresh one. */
  schema?: string | null;
}

const BODIES_PER_STATEMENT = 10;
const PAPER_COLUMNS = `id, key, arxiv_id, title_key, title, abstract, authors, author_count, organization,
  published_on, upvotes, comments, keywords, categories, links, first_seen, last_seen, primary_topic`;
const DIGEST_PAPER_COLUMNS = `p.key, p.arxiv_id, p.title, p.abstract, p.authors, p.author_count, p.organization,
  p.published_on, p.upvotes, p.comments, p.links`;
/** Serializes the migrations of processes opening one database at once. */
const MIGRATION_LOCK = 7_316_004_211;
/** The advisory-lock class of counter keys (two-key form, apart from MIGRATION_LOCK). */
const COUNTER_LOCK_CLASS = 7316;

/** The URL without its password, for logs and errors. */
export function describeDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    return parsed.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

/**
 * The PostgreSQL adapter (postgres.js): the shared store for several delivery workers and web
 * replicas. Each method is one statement or one transaction; `withTransaction` runs its work
 * on one pooled connection inside `BEGIN … COMMIT`, where a method that needs several
 * statements takes a savepoint. Claims use `FOR UPDATE SKIP LOCKED`, so workers never wait
 * on each other's rows.
 */
export async function openPostgresStore(options: PostgresOptions): Promise<Store> {
  const ssl =
    options.ssl === 'require' ? { rejectUnauthorized: false } : options.ssl === 'verify-full' ? { rejectUnauthorized: true, ...(options.ca ? { ca: options.ca } : {}) } : false;
  const sql = postgres(options.url, {
    max: options.pool ?? 10,
    ssl,
    onnotice: () => {},
    transform: { undefined: null },
    connection: options.schema ? { search_path: options.schema } : {},
  });
  const description = describeDatabaseUrl(options.url) + (options.schema ? ` (schema ${options.schema})` : '');
  try {
    await migrate(sql, description);
  } catch (error) {
    await sql.end({ timeout: 1 });
    if (error instanceof PaperboyError) throw error;
    throw new PaperboyError('STORE_SCHEMA', `${description}: cannot open the database: ${(error as Error).message}`);
  }
  return new PostgresStore(sql, description);
}

async function migrate(sql: postgres.Sql, description: string): Promise<void> {
  for (;;) {
    const done = await sql.begin(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`;
      await tx`CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`;
      const rows = await tx`SELECT version FROM schema_version`;
      const current = rows.length === 0 ? 0 : (rows[0]!.version as number);
      if (current > PG_MIGRATIONS.length) {
        throw new PaperboyError('STORE_SCHEMA', `${description}: schema version ${current} is newer than this Paperboy knows (${PG_MIGRATIONS.length}); upgrade Paperboy`);
      }
      if (current === PG_MIGRATIONS.length) return true;
      await tx.unsafe(PG_MIGRATIONS[current]!);
      if (rows.length === 0) await tx`INSERT INTO schema_version (version) VALUES (${current + 1})`;
      else await tx`UPDATE schema_version SET version = ${current + 1}`;
      return false;
    });
    if (done) return;
  }
}

const n = (rows: Row[]) => Number(rows[0]?.n ?? 0);

class PostgresSession implements StoreSession {
  constructor(
    private readonly handle: Sql,
    protected readonly inTransaction: boolean,
    private readonly scope: { open: boolean } = { open: true },
  ) {}

  /** The connection; a transaction's session refuses to run anything once the transaction has ended. */
  protected get sql(): Sql {
    if (!this.scope.open) throw new Error('this transaction has ended; use the store it came from');
    return this.handle;
  }

  /** Several statements as one: a transaction of their own, or a savepoint inside the caller's. */
  protected async atomic<T>(work: (q: postgres.TransactionSql) => Promise<T>): Promise<T> {
    if (this.inTransaction) return (this.sql as postgres.TransactionSql).savepoint(work) as Promise<T>;
    return (this.sql as postgres.Sql).begin(work) as Promise<T>;
  }

  async listingByHash(contentHash: string): Promise<ListingRow | undefined> {
    const [row] = await this.sql`SELECT * FROM listings WHERE content_hash = ${contentHash}`;
    return row && toListing(row);
  }

  insertListing(listing: NewListing): Promise<number> {
    return this.atomic(async (q) => {
      await q`DELETE FROM listings WHERE content_hash = ${listing.contentHash} AND status = 'failed'`;
      const [row] = await q`
        INSERT INTO listings (origin, content_hash, format, listed_on, ingested_at, status)
        VALUES (${listing.origin}, ${listing.contentHash}, ${listing.format}, ${listing.listedOn}, ${listing.ingestedAt}, 'ingested') RETURNING id`;
      return row!.id as number;
    });
  }

  async finishListing(id: number, outcome: ListingOutcome): Promise<void> {
    await this.sql`
      UPDATE listings SET paper_count = ${outcome.paperCount}, new_count = ${outcome.newCount}, updated_count = ${outcome.updatedCount},
        warnings = ${JSON.stringify(outcome.warnings)} WHERE id = ${id}`;
  }

  async recordFailedListing(f: FailedListing): Promise<void> {
    await this.sql`
      INSERT INTO listings (origin, content_hash, format, ingested_at, status, error)
      VALUES (${f.origin}, ${f.contentHash}, ${f.format}, ${f.ingestedAt}, 'failed', ${f.error})
      ON CONFLICT (content_hash) DO UPDATE SET origin = excluded.origin, ingested_at = excluded.ingested_at,
        error = excluded.error WHERE listings.status = 'failed'`;
  }

  async recentListings(limit: number): Promise<ListingRow[]> {
    return (await this.sql`SELECT * FROM listings ORDER BY id DESC LIMIT ${limit}`).map(toListing);
  }

  async papersMatching(identities: { arxivIds: readonly string[]; titleKeys: readonly string[] }): Promise<StoredPaper[]> {
    const rows = await this.sql`
      SELECT ${this.sql.unsafe(PAPER_COLUMNS)} FROM papers
      WHERE arxiv_id = ANY(${this.sql.array([...identities.arxivIds])}::text[]) OR title_key = ANY(${this.sql.array([...identities.titleKeys])}::text[])
      ORDER BY id`;
    return rows.map(toPaper);
  }

  saveListingPapers(listingId: number, papers: ListingPapers, now: string): Promise<void> {
    return this.atomic(async (q) => {
      const insertedIds: number[] = [];
      for (const fields of papers.inserts) {
        const p = paperParams(fields, now);
        const [row] = await q`
          INSERT INTO papers (key, arxiv_id, title_key, title, abstract, authors, author_count, organization,
            published_on, upvotes, comments, keywords, categories, links, first_seen, last_seen, updated_at)
          VALUES (${p.key}, ${p.arxivId}, ${p.titleKey}, ${p.title}, ${p.abstract}, ${p.authors}, ${p.authorCount}, ${p.organization},
            ${p.publishedOn}, ${p.upvotes}, ${p.comments}, ${p.keywords}, ${p.categories}, ${p.links}, ${now}, ${now}, ${now}) RETURNING id`;
        insertedIds.push(row!.id as number);
      }
      for (const { id, fields } of papers.updates) {
        const p = paperParams(fields, now);
        await q`
          UPDATE papers SET key = ${p.key}, arxiv_id = ${p.arxivId}, title = ${p.title}, abstract = ${p.abstract}, authors = ${p.authors},
            author_count = ${p.authorCount}, organization = ${p.organization}, published_on = ${p.publishedOn}, upvotes = ${p.upvotes},
            comments = ${p.comments}, keywords = ${p.keywords}, categories = ${p.categories}, links = ${p.links},
            last_seen = ${now}, updated_at = ${now}, topics_version = NULL
          WHERE id = ${id}`;
      }
      for (const id of papers.touches) await q`UPDATE papers SET last_seen = ${now} WHERE id = ${id}`;
      for (const { paper, position } of papers.links) {
        const paperId = 'id' in paper ? paper.id : insertedIds[paper.inserted];
        await q`INSERT INTO paper_listings (paper_id, listing_id, position) VALUES (${paperId!}, ${listingId}, ${position}) ON CONFLICT DO NOTHING`;
      }
    });
  }

  async paperByKey(key: string): Promise<StoredPaper | undefined> {
    const [row] = await this.sql`SELECT ${this.sql.unsafe(PAPER_COLUMNS)} FROM papers WHERE key = ${key}`;
    return row && toPaper(row);
  }

  async paperByTitleKey(titleKey: string): Promise<StoredPaper | undefined> {
    const [row] = await this.sql`SELECT ${this.sql.unsafe(PAPER_COLUMNS)} FROM papers WHERE title_key = ${titleKey} ORDER BY id LIMIT 1`;
    return row && toPaper(row);
  }

  async listPapers(options: { since?: string | null; limit?: number | null; topic?: string | null }): Promise<PaperListItem[]> {
    const since = options.since ?? null;
    const topic = options.topic ?? null;
    const rows = await this.sql`
      SELECT ${this.sql.unsafe(PAPER_COLUMNS.replace(/(^|, |\n\s*)(\w+)/g, '$1p.$2'))},
        (SELECT coalesce(json_agg(l.origin ORDER BY l.id), '[]')::text FROM paper_listings pl JOIN listings l ON l.id = pl.listing_id
         WHERE pl.paper_id = p.id) AS sources,
        (SELECT coalesce(json_agg(json_build_object('topicId', t.topic_id, 'score', t.score, 'evidence', t.evidence::json) ORDER BY t.rank), '[]')::text
         FROM paper_topics t WHERE t.paper_id = p.id) AS topics
      FROM papers p
      WHERE (${since}::text IS NULL OR p.first_seen >= ${since}::text)
        AND (${topic}::text IS NULL OR EXISTS (SELECT 1 FROM paper_topics t WHERE t.topic_id = ${topic}::text AND t.paper_id = p.id AND t.rank = 0))
      ORDER BY p.first_seen DESC, p.id DESC
      LIMIT ${options.limit ?? null}`;
    return rows.map((row) => ({
      ...toPaper(row),
      sources: JSON.parse(row.sources as string) as string[],
      topics: JSON.parse(row.topics as string) as AssignedTopic[],
    }));
  }

  async paperListingPlace(paperId: number): Promise<{ listedOn: string | null; position: number | null }> {
    const [row] = await this.sql`
      SELECT l.listed_on, pl.position FROM paper_listings pl JOIN listings l ON l.id = pl.listing_id
      WHERE pl.paper_id = ${paperId} ORDER BY l.listed_on DESC, l.id DESC LIMIT 1`;
    return { listedOn: (row?.listed_on as string | null | undefined) ?? null, position: (row?.position as number | null | undefined) ?? null };
  }

  async countPapers(): Promise<{ papers: number; paperListings: number }> {
    const [row] = await this.sql`SELECT (SELECT count(*) FROM papers)::int AS papers, (SELECT count(*) FROM paper_listings)::int AS paper_listings`;
    return { papers: row!.papers as number, paperListings: row!.paper_listings as number };
  }

  async papersToClassify(taxonomyVersion: string, limit: number): Promise<PaperToClassify[]> {
    const rows = await this.sql`
      SELECT id, title, abstract, keywords, categories FROM papers
      WHERE topics_version IS NULL OR topics_version <> ${taxonomyVersion} ORDER BY id LIMIT ${limit}`;
    return rows.map(toPaperToClassify);
  }

  saveFilings(taxonomyVersion: string, filings: readonly PaperFiling[]): Promise<void> {
    return this.atomic(async (q) => {
      for (const { paperId, topics } of filings) {
        await q`DELETE FROM paper_topics WHERE paper_id = ${paperId}`;
        for (const [rank, topic] of topics.entries()) {
          await q`INSERT INTO paper_topics (paper_id, topic_id, rank, score, evidence)
            VALUES (${paperId}, ${topic.topicId}, ${rank}, ${topic.score}, ${JSON.stringify(topic.evidence)})`;
        }
        await q`UPDATE papers SET topics_version = ${taxonomyVersion}, primary_topic = ${topics[0]?.topicId ?? null} WHERE id = ${paperId}`;
      }
    });
  }

  async topicCounts(examples: number): Promise<TopicCount[]> {
    const rows = await this.sql`
      SELECT pt.topic_id,
        (count(*) FILTER (WHERE pt.rank = 0))::int AS papers,
        (count(*) FILTER (WHERE pt.rank > 0))::int AS secondary,
        (SELECT coalesce(json_agg(x.title), '[]')::text FROM (
           SELECT p.title FROM paper_topics t JOIN papers p ON p.id = t.paper_id
           WHERE t.topic_id = pt.topic_id AND t.rank = 0 ORDER BY p.first_seen DESC, p.id DESC LIMIT ${examples}) x) AS examples
      FROM paper_topics pt GROUP BY pt.topic_id`;
    return rows.map((row) => ({
      topicId: row.topic_id as string,
      papers: row.papers as number,
      secondary: row.secondary as number,
      examples: JSON.parse(row.examples as string) as string[],
    }));
  }

  async insertSubscriber(input: SubscriberInput, status: SubscriberStatus, now: string): Promise<Subscriber | null> {
    const [row] = await this.sql`
      INSERT INTO subscribers (email, name, status, topics, frequency, weekday, created_at, confirmed_at, token_key)
      VALUES (${input.email}, ${input.name}, ${status}, ${input.topics ? JSON.stringify(input.topics) : null}, ${input.frequency}, ${input.weekday},
        ${now}, ${status === 'active' ? now : null}, replace(gen_random_uuid()::text, '-', ''))
      ON CONFLICT (email) DO NOTHING RETURNING *`;
    return row ? toSubscriber(row) : null;
  }

  async subscriberByEmail(email: string): Promise<Subscriber | undefined> {
    const [row] = await this.sql`SELECT * FROM subscribers WHERE email = ${email}`;
    return row && toSubscriber(row);
  }

  async subscriberById(id: number): Promise<Subscriber | undefined> {
    const [row] = await this.sql`SELECT * FROM subscribers WHERE id = ${id}`;
    return row && toSubscriber(row);
  }

  async deleteSubscriber(id: number): Promise<void> {
    await this.sql`DELETE FROM subscribers WHERE id = ${id}`;
  }

  async listSubscribers(options: { status?: SubscriberStatus | null; after?: number; limit?: number }): Promise<Subscriber[]> {
    const status = options.status ?? null;
    const rows = await this.sql`
      SELECT * FROM subscribers WHERE (${status}::text IS NULL OR status = ${status}::text) AND id > ${options.after ?? 0}
      ORDER BY id LIMIT ${options.limit ?? null}`;
    return rows.map(toSubscriber);
  }

  async searchSubscribers(query: SubscriberSearch): Promise<Subscriber[]> {
    const status = query.status ?? null;
    // strpos, not LIKE: the admin's text is matched literally, % and _ included.
    const rows = await this.sql`
      SELECT * FROM subscribers
      WHERE strpos(lower(email), lower(${query.emailContains ?? ''}::text)) > 0 AND (${status}::text IS NULL OR status = ${status}::text) AND id > ${query.after ?? 0}
      ORDER BY id LIMIT ${query.limit}`;
    return rows.map(toSubscriber);
  }

  async subscriberCounts(): Promise<Record<SubscriberStatus, number>> {
    const counts: Record<SubscriberStatus, number> = { pending: 0, active: 0, unsubscribed: 0, bounced: 0 };
    for (const row of await this.sql`SELECT status, count(*)::int AS n FROM subscribers GROUP BY status`) counts[row.status as SubscriberStatus] = row.n as number;
    return counts;
  }

  async resubscribe(id: number, input: Omit<SubscriberInput, 'email'>, now: string): Promise<void> {
    await this.sql`
      UPDATE subscribers SET status = 'pending', name = ${input.name}, topics = ${input.topics ? JSON.stringify(input.topics) : null},
        frequency = ${input.frequency}, weekday = ${input.weekday}, created_at = ${now}, confirmed_at = NULL, unsubscribed_at = NULL,
        token_key = replace(gen_random_uuid()::text, '-', '')
      WHERE id = ${id}`;
  }

  async confirmSubscriber(id: number, now: string): Promise<boolean> {
    return (await this.sql`UPDATE subscribers SET status = 'active', confirmed_at = ${now} WHERE id = ${id} AND status = 'pending'`).count === 1;
  }

  unsubscribe(id: number, now: string): Promise<boolean> {
    return this.atomic(async (q) => {
      const changed = (await q`UPDATE subscribers SET status = 'unsubscribed', unsubscribed_at = ${now} WHERE id = ${id} AND status IN ('pending', 'active')`).count === 1;
      // Mail queued before they left is not sent after it.
      if (changed) await failQueuedOf(q, id, 'subscriber unsubscribed');
      return changed;
    });
  }

  reactivateSubscriber(id: number, now: string): Promise<boolean> {
    return this.atomic(async (q) => {
      const changed =
        (
          await q`UPDATE subscribers SET status = 'active', hard_bounces = 0, unsubscribed_at = NULL, confirmed_at = coalesce(confirmed_at, ${now})
            WHERE id = ${id} AND status IN ('bounced', 'unsubscribed')`
        ).count === 1;
      if (changed) await q`DELETE FROM suppressions WHERE email = (SELECT email FROM subscribers WHERE id = ${id})`;
      return changed;
    });
  }

  async suppressionOf(email: string): Promise<Suppression | undefined> {
    const [row] = await this.sql`SELECT * FROM suppressions WHERE email = ${email}`;
    return row && (camelCase(row) as unknown as Suppression);
  }

  async expirePending(before: string): Promise<number> {
    return (await this.sql`DELETE FROM subscribers WHERE status = 'pending' AND created_at < ${before}`).count;
  }

  async updatePreferences(id: number, input: Omit<SubscriberInput, 'email'>): Promise<void> {
    await this.sql`
      UPDATE subscribers SET name = ${input.name}, topics = ${input.topics ? JSON.stringify(input.topics) : null},
        frequency = ${input.frequency}, weekday = ${input.weekday} WHERE id = ${id}`;
  }

  /**
   * One row per (paper, topic) with the paper's place in its newest listing, as digest
   * candidates and a run's window both read them (each adds its own WHERE): a fragment.
   */
  private paperTopicRows() {
    return this.sql`
      SELECT p.id AS paper_id, p.key, p.arxiv_id, p.title, p.abstract, p.authors, p.author_count, p.organization,
        p.published_on, p.upvotes, p.comments, p.links, p.first_seen, pt.topic_id, pt.rank AS topic_rank, pt.score AS topic_score,
        latest.listed_on, latest.listing_position
      FROM papers p JOIN paper_topics pt ON pt.paper_id = p.id
        LEFT JOIN LATERAL (
          SELECT l.listed_on, pl.position AS listing_position FROM paper_listings pl JOIN listings l ON l.id = pl.listing_id
          WHERE pl.paper_id = p.id ORDER BY l.listed_on DESC NULLS LAST, l.id DESC LIMIT 1) latest ON true`;
  }

  async digestCandidates(subscriberId: number, since: string): Promise<CandidateRow[]> {
    const rows = await this.sql`
      ${this.paperTopicRows()}
      WHERE p.first_seen > ${since}
        AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.subscriber_id = ${subscriberId} AND d.paper_id = p.id)`;
    return rows.map((row) => toDigestPaper(row) as unknown as CandidateRow);
  }

  async windowPapers(since: string): Promise<WindowPaper[]> {
    const rows = await this.sql`
      ${this.paperTopicRows()}
      WHERE p.first_seen > ${since}
      ORDER BY p.id, pt.rank`;
    return groupWindowPapers(rows as unknown as WindowPaperRow[]);
  }

  async heldPaperIds(subscriberIds: readonly number[], since: string): Promise<Map<number, Set<number>>> {
    const ids = this.sql.array([...subscriberIds]);
    const rows = await this.sql`
      SELECT d.subscriber_id, d.paper_id FROM deliveries d JOIN papers p ON p.id = d.paper_id
      WHERE d.subscriber_id = ANY(${ids}::int[]) AND p.first_seen > ${since}`.values();
    return groupHeldPaperIds(rows as unknown as [number, number][]);
  }

  async deliveredPaperIds(subscriberId: number): Promise<number[]> {
    // A message still queued holds its papers but has not delivered them.
    const rows = await this.sql`
      SELECT d.paper_id FROM deliveries d LEFT JOIN outbox o ON o.id = d.outbox_id
      WHERE d.subscriber_id = ${subscriberId} AND (o.status IS NULL OR o.status = 'sent') ORDER BY d.paper_id`;
    return rows.map((row) => row.paper_id as number);
  }

  async queueMessage(message: NewOutboxMessage, paperIds: readonly number[], record?: NewDigestRecord): Promise<number | null> {
    const [id] = await this.queueMessages([{ message, paperIds, record }]);
    return id!;
  }

  /** One statement per table for the whole page: each statement is a round trip to the server. */
  queueMessages(messages: readonly MessageToQueue[]): Promise<(number | null)[]> {
    if (messages.length === 0) return Promise.resolve([]);
    return this.atomic(async (q) => {
      const accepted = await queueableMessages(q, messages);
      if (accepted.length === 0) return messages.map(() => null);
      const inserted = await q`
        INSERT INTO outbox ${q(
          accepted.map(({ message: m }) => ({
            run_id: m.runId, subscriber_id: m.subscriberId, kind: m.kind, message_id: m.messageId, recipient: m.recipient, recipient_name: m.recipientName,
            subject: m.subject, unsubscribe_url: m.unsubscribeUrl, window_since: m.windowSince, status: 'queued', next_attempt_at: m.now, created_at: m.now,
          })),
        )} RETURNING id, message_id`;
      const idOf = new Map(inserted.map((row) => [row.message_id as string, row.id as number]));
      const queued = accepted.map((entry) => ({ ...entry, id: idOf.get(entry.message.messageId)! }));
      // A few bodies per statement: postgres.js builds each statement in one growing buffer and
      // copies it twice more, so a page's hundred bodies in one would be ~7 MB made three times.
      for (let start = 0; start < queued.length; start += BODIES_PER_STATEMENT) {
        const bodies = queued.slice(start, start + BODIES_PER_STATEMENT).map(({ id, message }) => ({ outbox_id: id, raw: messageText(message), html: message.html }));
        await q`INSERT INTO outbox_bodies ${q(bodies)}`;
      }
      const reserved = queued.flatMap(({ id, message, paperIds }) => paperIds.map((paperId) => [message.subscriberId, paperId, id] as const));
      if (reserved.length > 0) {
        await q`
          INSERT INTO deliveries (subscriber_id, paper_id, outbox_id)
          SELECT * FROM unnest(${q.array(reserved.map((r) => r[0]))}::int[], ${q.array(reserved.map((r) => r[1]))}::int[], ${q.array(reserved.map((r) => r[2]))}::int[])
          ON CONFLICT DO NOTHING`;
      }
      const digests = queued.filter(({ message }) => isDigest(message.kind));
      if (digests.length > 0) {
        await q`
          UPDATE subscribers s SET last_digest_at = v.now
          FROM unnest(${q.array(digests.map(({ message }) => message.subscriberId))}::int[], ${q.array(digests.map(({ message }) => message.now))}::text[]) AS v(id, now)
          WHERE s.id = v.id`;
      }
      const records = queued.flatMap(({ id, record }) => (record ? [{ id, record }] : []));
      if (records.length > 0) {
        await q`
          INSERT INTO digests ${q(
            records.map(({ id, record }) => ({ key: record.key, subscriber_id: record.subscriberId, outbox_id: id, created_at: record.createdAt, ...encodeDigestEntries(record.entries) })),
          )}`;
        const archived = records.flatMap(({ record }) => {
          const { topicIds, paperIds } = fittedPairs(record.entries);
          return topicIds.map((topicId, index) => [topicId, paperIds[index]!, record.createdAt] as const);
        });
        if (archived.length > 0) {
          // Grouped first: one statement may not update the same archive row twice.
          await q`
            INSERT INTO topic_archive (topic_id, paper_id, first_digested_at, last_digested_at)
            SELECT topic_id, paper_id, min(at), max(at)
            FROM unnest(${q.array(archived.map((a) => a[0]))}::text[], ${q.array(archived.map((a) => a[1]))}::int[], ${q.array(archived.map((a) => a[2]))}::text[]) AS e(topic_id, paper_id, at)
            GROUP BY topic_id, paper_id
            ON CONFLICT (topic_id, paper_id) DO UPDATE SET first_digested_at = LEAST(topic_archive.first_digested_at, excluded.first_digested_at),
              last_digested_at = GREATEST(topic_archive.last_digested_at, excluded.last_digested_at)
            WHERE excluded.first_digested_at < topic_archive.first_digested_at OR excluded.last_digested_at > topic_archive.last_digested_at`;
        }
      }
      const idByMessage = new Map(queued.map(({ message, id }) => [message, id]));
      return messages.map(({ message }) => idByMessage.get(message) ?? null);
    });
  }

  async digestByKey(key: string): Promise<StoredDigest | undefined> {
    const [digest] = await this.sql`SELECT key, subscriber_id, created_at, topics, entries FROM digests WHERE key = ${key}`;
    if (!digest) return undefined;
    const entries = decodeDigestEntries(digest.topics as string, digest.entries as Buffer);
    const rows = await this.sql`
      SELECT p.id AS paper_id, ${this.sql.unsafe(DIGEST_PAPER_COLUMNS)} FROM papers p
      WHERE p.id = ANY(${this.sql.array(entries.map((entry) => entry.paperId))}::int[])`;
    return toStoredDigest(digest as unknown as StoredDigestRow, entries, rows);
  }

  async archiveTopics(): Promise<ArchiveTopic[]> {
    const rows = await this.sql`
      SELECT topic_id, count(*)::int AS papers, max(last_digested_at) AS latest FROM topic_archive GROUP BY topic_id ORDER BY topic_id`;
    return rows.map((row) => camelCase(row) as unknown as ArchiveTopic);
  }

  async archivedPapers(topicId: string, limit: number): Promise<ArchivedPaper[]> {
    const rows = await this.sql`
      SELECT p.id AS paper_id, ${this.sql.unsafe(DIGEST_PAPER_COLUMNS)}, a.topic_id, a.first_digested_at AS digested_on
      FROM topic_archive a JOIN papers p ON p.id = a.paper_id
      WHERE a.topic_id = ${topicId} ORDER BY a.first_digested_at DESC, p.id DESC LIMIT ${limit}`;
    return rows.map((row) => toDigestPaper(row) as unknown as ArchivedPaper);
  }

  async subscribersWithQueuedMail(): Promise<Set<number>> {
    const rows = await this.sql`SELECT DISTINCT subscriber_id FROM outbox WHERE status = 'queued' AND kind IN ('digest', 'empty')`;
    return new Set(rows.map((row) => row.subscriber_id as number));
  }

  /**
   * Two round trips: the claim, which returns the claimed rows, then their bodies. The claim
   * is one statement, atomic on its own, so no transaction is needed around it.
   */
  async claimDue(worker: string, limit: number, now: string, until: string, kinds?: readonly OutboxKind[], options: ClaimOptions = {}): Promise<ClaimedMessage[]> {
    const q = this.sql;
    const kindFilter = kinds ? q`AND o.kind = ANY(${q.array([...kinds])}::text[])` : q``;
    const claimed = await q`
      UPDATE outbox o SET claimed_by = ${worker}, claim_expires_at = ${until} FROM subscribers s
      WHERE s.id = o.subscriber_id AND o.id IN (
        SELECT o.id FROM outbox o JOIN subscribers s ON s.id = o.subscriber_id
        WHERE o.status = 'queued' AND o.next_attempt_at <= ${now}
          AND (s.status = 'active' OR (o.kind = 'confirmation' AND s.status = 'pending'))
          ${kindFilter}
          AND (o.claimed_by IS NULL OR o.claim_expires_at <= ${now})
        ORDER BY o.next_attempt_at, o.id LIMIT ${limit}
        FOR UPDATE OF o SKIP LOCKED)
      RETURNING o.*, s.hard_bounces`;
    if (claimed.length === 0) return [];
    // Raw, the bodies arrive as the bytes on the wire, which for a text column are the
    // message itself: parsed as usual, each would become a string first (and, as bytea, a
    // hex string twice its size), about a fifth of a worker's CPU when it was so.
    const bodies = new Map<number, { raw: Buffer; html: string | null }>();
    for (const [id, raw, html] of (await q`
      SELECT outbox_id, raw, ${options.html === false ? q`NULL::text` : q`html`} FROM outbox_bodies
      WHERE outbox_id = ANY(${q.array(claimed.map((row) => row.id as number))}::int[])`.raw()) as unknown as [Buffer, Buffer, Buffer | null][]) {
      bodies.set(Number(id.toString('latin1')), { raw, html: html === null ? null : html.toString('utf8') });
    }
    return (
      claimed
        // A body is gone only if the message settled meanwhile (this claim expired and another worker's did not).
        .filter((row) => bodies.has(row.id as number))
        .map((row) => toClaimedMessage({ ...row, ...bodies.get(row.id as number)! }))
        .sort((a, b) => (a.nextAttemptAt < b.nextAttemptAt ? -1 : a.nextAttemptAt > b.nextAttemptAt ? 1 : a.id - b.id))
    );
  }

  async claimHolders(): Promise<string[]> {
    return (await this.sql`SELECT DISTINCT claimed_by FROM outbox WHERE claimed_by IS NOT NULL AND status = 'queued'`).map((row) => row.claimed_by as string);
  }

  async extendClaims(worker: string, until: string): Promise<number> {
    return (await this.sql`UPDATE outbox SET claim_expires_at = ${until} WHERE claimed_by = ${worker} AND status = 'queued'`).count;
  }

  async releaseClaims(worker: string): Promise<number> {
    return (await this.sql`UPDATE outbox SET claimed_by = NULL, claim_expires_at = NULL WHERE claimed_by = ${worker} AND status = 'queued'`).count;
  }

  settle(message: Pick<ClaimedMessage, 'id' | 'subscriberId' | 'messageId'>, worker: string, transition: OutboxTransition, now: string): Promise<boolean> {
    return this.settleMany([{ message, transition }], worker, now).then(([settled]) => settled!);
  }

  async settleMany(settlements: readonly Settlement[], worker: string, now: string): Promise<boolean[]> {
    // Nearly every settlement is a sent message: a batch of only those is one statement, with
    // no transaction around it (each round trip to the server costs the worker a write).
    if (settlements.every(({ transition }) => transition.status === 'sent')) {
      const sentIds = await settleSent(this.sql, settlements, worker);
      return settlements.map(({ message }) => sentIds.has(message.id));
    }
    return this.atomic(async (q) => {
      const sentIds = await settleSent(q, settlements, worker);
      const settled: boolean[] = [];
      for (const { message, transition } of settlements) {
        settled.push(transition.status === 'sent' ? sentIds.has(message.id) : await settleOne(q, message, worker, transition, now));
      }
      return settled;
    });
  }

  async nextRetryAt(kinds?: readonly OutboxKind[]): Promise<string | null> {
    const kindFilter = kinds ? this.sql`AND kind = ANY(${this.sql.array([...kinds])}::text[])` : this.sql``;
    const [row] = await this.sql`SELECT min(GREATEST(next_attempt_at, coalesce(claim_expires_at, next_attempt_at))) AS at FROM outbox WHERE status = 'queued' ${kindFilter}`;
    return (row!.at as string | null) ?? null;
  }

  async sentSince(since: string): Promise<number> {
    return n(await this.sql`SELECT count(*)::int AS n FROM outbox WHERE sent_at >= ${since}`);
  }

  async outboxCounts(): Promise<OutboxCounts> {
    const counts: OutboxCounts = { queued: 0, sent: 0, failed: 0 };
    for (const row of await this.sql`SELECT status, count(*)::int AS n FROM outbox GROUP BY status`) counts[row.status as OutboxStatus] = row.n as number;
    return counts;
  }

  async outboxProblems(limit: number): Promise<OutboxProblem[]> {
    const rows = await this.sql`
      SELECT id, recipient, subject, status, attempts, next_attempt_at, last_error, created_at FROM outbox
      WHERE status = 'failed' OR (status = 'queued' AND attempts > 0)
      ORDER BY id DESC LIMIT ${limit}`;
    return rows.map((row) => camelCase(row) as unknown as OutboxProblem);
  }

  async outboxById(id: number): Promise<OutboxState | undefined> {
    const [row] = await this.sql`SELECT * FROM outbox WHERE id = ${id}`;
    return row && toOutbox(row);
  }

  async pruneOutboxBodies(): Promise<number> {
    return (await this.sql`DELETE FROM outbox_bodies WHERE outbox_id IN (SELECT id FROM outbox WHERE status <> 'queued')`).count;
  }

  async insertRun(trigger: RunTrigger, now: string): Promise<number> {
    const [row] = await this.sql`INSERT INTO runs (trigger, started_at, status) VALUES (${trigger}, ${now}, 'running') RETURNING id`;
    return row!.id as number;
  }

  async updateRun(run: RunRow): Promise<void> {
    await this.sql`
      UPDATE runs SET status = ${run.status}, finished_at = ${run.finishedAt}, ingested = ${run.ingested}, due = ${run.due}, queued = ${run.queued},
        sent = ${run.sent}, failed = ${run.failed}, deferred = ${run.deferred}, retried = ${run.retried}, bounced = ${run.bounced}, error = ${run.error}
      WHERE id = ${run.id}`;
  }

  async interruptRuns(now: string): Promise<number> {
    return (await this.sql`UPDATE runs SET status = 'interrupted', finished_at = ${now} WHERE status = 'running'`).count;
  }

  async recentRuns(limit: number): Promise<RunRow[]> {
    return (await this.sql`SELECT * FROM runs ORDER BY id DESC LIMIT ${limit}`).map(toRun);
  }

  async runById(id: number): Promise<RunRow | undefined> {
    const [row] = await this.sql`SELECT * FROM runs WHERE id = ${id}`;
    return row && toRun(row);
  }

  async runRecipients(runId: number): Promise<RunRecipient[]> {
    const rows = await this.sql`
      SELECT id, subscriber_id, kind, recipient, subject, status, attempts, last_error, created_at, sent_at FROM outbox
      WHERE run_id = ${runId} ORDER BY id`;
    return rows.map((row) => camelCase(row) as unknown as RunRecipient);
  }

  async createAdminSession(session: AdminSession): Promise<void> {
    await this.sql`
      INSERT INTO admin_sessions (id_hash, csrf, created_at, expires_at)
      VALUES (${session.idHash}, ${session.csrf}, ${session.createdAt}, ${session.expiresAt})`;
  }

  async adminSession(idHash: string, now: string): Promise<AdminSession | undefined> {
    const [row] = await this.sql`SELECT * FROM admin_sessions WHERE id_hash = ${idHash} AND expires_at > ${now}`;
    return row && (camelCase(row) as unknown as AdminSession);
  }

  async deleteAdminSession(idHash: string): Promise<void> {
    await this.sql`DELETE FROM admin_sessions WHERE id_hash = ${idHash}`;
  }

  async expireAdminSessions(now: string): Promise<number> {
    return (await this.sql`DELETE FROM admin_sessions WHERE expires_at <= ${now}`).count;
  }

  async acquireLease(name: string, holder: string, now: string, expiresAt: string, staleHolder: string | null = null): Promise<boolean> {
    const rows = await this.sql`
      INSERT INTO leases (name, holder, expires_at) VALUES (${name}, ${holder}, ${expiresAt})
      ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
      WHERE leases.holder = excluded.holder OR leases.expires_at <= ${now} OR leases.holder = ${staleHolder}::text
      RETURNING holder`;
    return rows.length === 1;
  }

  async leaseHolder(name: string): Promise<LeaseHolder | undefined> {
    const [row] = await this.sql`SELECT * FROM leases WHERE name = ${name}`;
    return row && { holder: row.holder as string, expiresAt: row.expires_at as string };
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    await this.sql`DELETE FROM leases WHERE name = ${name} AND holder = ${holder}`;
  }

  takeHits(window: HitWindow, wanted: number, limit: number | null, now: string, since: string = window.windowStart): Promise<number> {
    return this.atomic(async (q) => {
      // Callers of one key take turns, so the sum they read is still the sum when they add to it.
      await q`SELECT pg_advisory_xact_lock(${COUNTER_LOCK_CLASS}, hashtext(${window.key}))`;
      await q`DELETE FROM counters WHERE expires_at <= ${now}`;
      const used = limit === null ? 0 : n(await q`SELECT coalesce(sum(hits), 0)::int AS n FROM counters WHERE key = ${window.key} AND window_start >= ${since}`);
      const granted = hitsGranted(wanted, limit, used);
      if (granted !== 0) {
        await q`
          INSERT INTO counters (key, window_start, expires_at, hits) VALUES (${window.key}, ${window.windowStart}, ${window.expiresAt}, GREATEST(0, ${granted}::int))
          ON CONFLICT (key, window_start) DO UPDATE SET hits = GREATEST(0, counters.hits + ${granted}::int), expires_at = excluded.expires_at`;
      }
      return granted;
    });
  }

  async countHits(key: string, since: string): Promise<number> {
    return n(await this.sql`SELECT coalesce(sum(hits), 0)::int AS n FROM counters WHERE key = ${key} AND window_start >= ${since}`);
  }

  async getState(key: string): Promise<string | undefined> {
    const [row] = await this.sql`SELECT value FROM state WHERE key = ${key}`;
    return row?.value as string | undefined;
  }

  async setState(key: string, value: string): Promise<void> {
    await this.sql`INSERT INTO state (key, value) VALUES (${key}, ${value}) ON CONFLICT (key) DO UPDATE SET value = excluded.value`;
  }
}

/**
 * The messages of a page that may be queued: every notice, and each digest whose subscriber's
 * window is still where the producer read it and who has no other digest queued, the first one
 * per subscriber. The subscribers' rows are locked first, in id order: two producers queueing
 * for the same subscribers take turns, and the second sees the first one's digests.
 */
async function queueableMessages(q: Sql, messages: readonly MessageToQueue[]): Promise<MessageToQueue[]> {
  const digests = messages.filter(({ message }) => isDigest(message.kind));
  // Each open subscriber with the window a digest must have been selected against (their current one).
  const open = new Map<number, string | null>();
  if (digests.length > 0) {
    const locked = await q`
      SELECT s.id, s.last_digest_at FROM subscribers s
      JOIN unnest(${q.array(digests.map(({ message }) => message.subscriberId))}::int[], ${q.array(digests.map(({ message }) => message.windowSince))}::text[]) AS w(id, since)
        ON s.id = w.id AND s.last_digest_at IS NOT DISTINCT FROM w.since
      ORDER BY s.id FOR UPDATE OF s`;
    for (const row of locked) open.set(row.id as number, row.last_digest_at as string | null);
    if (open.size > 0) {
      const busy = await q`
        SELECT DISTINCT subscriber_id FROM outbox
        WHERE subscriber_id = ANY(${q.array([...open.keys()])}::int[]) AND status = 'queued' AND kind IN ('digest', 'empty')`;
      for (const row of busy) open.delete(row.subscriber_id as number);
    }
  }
  return messages.filter(({ message }) => {
    if (!isDigest(message.kind)) return true;
    if (!open.has(message.subscriberId) || open.get(message.subscriberId) !== (message.windowSince ?? null)) return false;
    // Queued now: the subscriber's window moves and a digest of theirs is queued, so no second one.
    open.delete(message.subscriberId);
    return true;
  });
}

/**
 * Marks the batch's sent messages sent (those this worker still holds) and drops their
 * bodies, in one statement: one round trip, atomic without a transaction of its own. Their
 * papers became deliveries when they were queued; the status is what says they went out.
 * Returns the ids marked.
 */
async function settleSent(q: Sql, settlements: readonly Settlement[], worker: string): Promise<Set<number>> {
  const sent = settlements.flatMap(({ message, transition }) => (transition.status === 'sent' ? [{ id: message.id, ...transition }] : []));
  if (sent.length === 0) return new Set();
  const marked = await q`
    WITH marked AS (
      UPDATE outbox o SET status = 'sent', sent_at = v.sent_at, attempts = v.attempts, last_error = NULL, claimed_by = NULL, claim_expires_at = NULL
      FROM unnest(${q.array(sent.map((m) => m.id))}::int[], ${q.array(sent.map((m) => m.sentAt))}::text[], ${q.array(sent.map((m) => m.attempts))}::int[]) AS v(id, sent_at, attempts)
      WHERE o.id = v.id AND o.status = 'queued' AND o.claimed_by = ${worker}
      RETURNING o.id
    ), dropped AS (
      DELETE FROM outbox_bodies b USING marked m WHERE b.outbox_id = m.id
    )
    SELECT id FROM marked`;
  return new Set(marked.map((row) => row.id as number));
}

/** Settles one message that was not sent (a retry later, or a failure with its bounce); false when the claim was lost. */
async function settleOne(q: Sql, message: Pick<ClaimedMessage, 'id' | 'subscriberId' | 'messageId'>, worker: string, transition: Exclude<OutboxTransition, { status: 'sent' }>, now: string): Promise<boolean> {
  const { id, subscriberId, messageId } = message;
  switch (transition.status) {
    case 'queued':
      return (
        await q`
          UPDATE outbox SET attempts = ${transition.attempts}, next_attempt_at = ${transition.nextAttemptAt}, last_error = ${transition.error},
            claimed_by = NULL, claim_expires_at = NULL
          WHERE id = ${id} AND status = 'queued' AND claimed_by = ${worker}`
      ).count === 1;
    case 'failed': {
      const marked = await q`
        UPDATE outbox SET status = 'failed', attempts = ${transition.attempts}, last_error = ${transition.error}, claimed_by = NULL, claim_expires_at = NULL
        WHERE id = ${id} AND status = 'queued' AND claimed_by = ${worker}`;
      if (marked.count === 0) return false;
      await q`
        UPDATE subscribers s SET last_digest_at = o.window_since FROM outbox o
        WHERE o.id = ${id} AND s.id = o.subscriber_id AND s.last_digest_at = o.created_at`;
      await q`DELETE FROM deliveries WHERE subscriber_id = ${subscriberId} AND outbox_id = ${id}`;
      await q`DELETE FROM outbox_bodies WHERE outbox_id = ${id}`;
      if (transition.hardBounce) {
        await q`
          UPDATE subscribers SET hard_bounces = hard_bounces + 1,
            status = CASE WHEN ${Boolean(transition.bounceSubscriber)}::boolean AND status = 'active' THEN 'bounced' ELSE status END
          WHERE id = ${subscriberId}`;
      }
      if (transition.bounceSubscriber) {
        await failQueuedOf(q, subscriberId, 'subscriber bounced');
        await q`
          INSERT INTO suppressions (email, reason, message_id, bounced_at)
          SELECT email, ${transition.error}, ${messageId}, ${now} FROM subscribers WHERE id = ${subscriberId}
          ON CONFLICT (email) DO UPDATE SET reason = excluded.reason, message_id = excluded.message_id, bounced_at = excluded.bounced_at`;
      }
      return true;
    }
  }
}

/** Fails what is still queued for a subscriber, and gives back the papers it held. */
async function failQueuedOf(q: Sql, subscriberId: number, error: string): Promise<void> {
  await q`
    WITH failed AS (
      UPDATE outbox SET status = 'failed', last_error = ${error} WHERE subscriber_id = ${subscriberId} AND status = 'queued' RETURNING id
    )
    DELETE FROM deliveries WHERE subscriber_id = ${subscriberId} AND outbox_id IN (SELECT id FROM failed)`;
}

class PostgresStore extends PostgresSession implements Store {
  constructor(
    private readonly pool: postgres.Sql,
    readonly description: string,
  ) {
    super(pool, false);
  }

  /** Transactions of one store take turns (as on SQLite); other processes' run beside them. */
  private chain: Promise<unknown> = Promise.resolve();

  withTransaction<T>(work: (tx: StoreSession) => Promise<T>): Promise<T> {
    const run = async () => {
      const scope = { open: true };
      try {
        return (await this.pool.begin((tx) => work(new PostgresSession(tx, true, scope)))) as T;
      } finally {
        scope.open = false;
      }
    };
    const next = this.chain.then(run, run);
    this.chain = next.catch(() => {});
    return next;
  }

  async ping(): Promise<number> {
    const [row] = await this.pool`SELECT version FROM schema_version`;
    return (row?.version as number | undefined) ?? 0;
  }

  async close(): Promise<void> {
    await this.chain;
    await this.pool.end({ timeout: 5 });
  }
}

/**
 * The Postgres store for a synchronous composition root: the pool and its migrations open
 * in the background, and every method waits for them (an opening error is the answer of the
 * first call, and of each one after).
 */
export function openPostgresStoreLazily(options: PostgresOptions): Store {
  const opening = openPostgresStore(options);
  opening.catch(() => {});
  const description = describeDatabaseUrl(options.url);
  return new Proxy({} as Store, {
    get(_target, name) {
      if (name === 'description') return description;
      if (name === 'then') return undefined;
      if (name === 'close') return async () => (await opening.catch(() => null))?.close();
      return async (...args: unknown[]) => {
        const store = (await opening) as unknown as Record<string | symbol, (...a: unknown[]) => unknown>;
        return store[name]!(...args);
      };
    },
  });
}

/**
 * The message as the text its body column holds. Paperboy builds its messages from strings
 * (7-bit MIME, UTF-8 at most in SMTPUTF8 headers), so the text is byte for byte the message;
 * anything else is refused rather than stored altered.
 */
export function messageText(message: Pick<NewOutboxMessage, 'raw' | 'messageId'>): string {
  if (!isUtf8(message.raw) || message.raw.includes(0)) throw new Error(`message ${message.messageId}: its bytes are not UTF-8 text without NUL, which the outbox stores`);
  return message.raw.toString('utf8');
}
