import type Database from 'better-sqlite3';

/**
 * Every SQL statement of the SQLite adapter, prepared once when the store opens, so a typo
 * fails at start, not halfway through a run (as listmonk does with its queries).
 */

const PAPER_COLUMNS = `id, key, arxiv_id, title_key, title, abstract, authors, author_count, organization,
  published_on, upvotes, comments, keywords, categories, links, first_seen, last_seen, primary_topic`;

/** What a digest's web view and the archive show of each paper. */
const DIGEST_PAPER_COLUMNS = `p.key, p.arxiv_id, p.title, p.abstract, p.authors, p.author_count, p.organization,
  p.published_on, p.upvotes, p.comments, p.links`;

/**
 * One row per (paper, topic) with the paper's place in its newest listing, as digest
 * candidates and a run's window both read them (each adds its own WHERE).
 */
const PAPER_TOPIC_ROWS = `
      SELECT p.id AS paper_id, p.key, p.arxiv_id, p.title, p.abstract, p.authors, p.author_count, p.organization,
        p.published_on, p.upvotes, p.comments, p.links, p.first_seen, pt.topic_id, pt.rank AS topic_rank, pt.score AS topic_score,
        (SELECT l.listed_on FROM paper_listings pl JOIN listings l ON l.id = pl.listing_id
         WHERE pl.paper_id = p.id ORDER BY l.listed_on DESC, l.id DESC LIMIT 1) AS listed_on,
        (SELECT pl.position FROM paper_listings pl JOIN listings l ON l.id = pl.listing_id
         WHERE pl.paper_id = p.id ORDER BY l.listed_on DESC, l.id DESC LIMIT 1) AS listing_position
      FROM papers p JOIN paper_topics pt ON pt.paper_id = p.id
`;

export function prepareStatements(db: Database.Database) {
  const prepare = (sql: string) => db.prepare(sql);
  return {
    listingByHash: prepare(`SELECT * FROM listings WHERE content_hash = ?`),
    insertListing: prepare(`
      INSERT INTO listings (origin, content_hash, format, listed_on, ingested_at, status)
      VALUES (@origin, @contentHash, @format, @listedOn, @ingestedAt, 'ingested')`),
    finishListing: prepare(`
      UPDATE listings SET paper_count = @paperCount, new_count = @newCount, updated_count = @updatedCount,
        warnings = @warnings WHERE id = @id`),
    recordFailedListing: prepare(`
      INSERT INTO listings (origin, content_hash, format, ingested_at, status, error)
      VALUES (@origin, @contentHash, @format, @ingestedAt, 'failed', @error)
      ON CONFLICT (content_hash) DO UPDATE SET origin = excluded.origin, ingested_at = excluded.ingested_at,
        error = excluded.error WHERE listings.status = 'failed'`),
    deleteFailedListing: prepare(`DELETE FROM listings WHERE content_hash = ? AND status = 'failed'`),
    recentListings: prepare(`SELECT * FROM listings ORDER BY id DESC LIMIT ?`),
    papersMatching: prepare(`
      SELECT ${PAPER_COLUMNS} FROM papers WHERE arxiv_id IN (SELECT value FROM json_each(@arxivIds))
      UNION SELECT ${PAPER_COLUMNS} FROM papers WHERE title_key IN (SELECT value FROM json_each(@titleKeys))
      ORDER BY id`),
    paperByKey: prepare(`SELECT ${PAPER_COLUMNS} FROM papers WHERE key = ?`),
    paperListingPlace: prepare(`
      SELECT l.listed_on, pl.position FROM paper_listings pl JOIN listings l ON l.id = pl.listing_id
      WHERE pl.paper_id = ? ORDER BY l.listed_on DESC, l.id DESC LIMIT 1`),
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
        (SELECT json_group_array(origin) FROM (
           SELECT l.origin FROM paper_listings pl JOIN listings l ON l.id = pl.listing_id
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
      INSERT INTO subscribers (email, name, status, topics, frequency, weekday, created_at, confirmed_at, token_key)
      VALUES (@email, @name, @status, @topics, @frequency, @weekday, @now, CASE WHEN @status = 'active' THEN @now END, lower(hex(randomblob(16))))
      ON CONFLICT (email) DO NOTHING`),
    subscriberByEmail: prepare(`SELECT * FROM subscribers WHERE email = ?`),
    subscriberById: prepare(`SELECT * FROM subscribers WHERE id = ?`),
    deleteSubscriber: prepare(`DELETE FROM subscribers WHERE id = ?`),
    listSubscribers: prepare(`
      SELECT * FROM subscribers WHERE (@status IS NULL OR status = @status) AND id > @after ORDER BY id LIMIT @limit`),
    // instr, not LIKE: the admin's text is matched literally, % and _ included.
    searchSubscribers: prepare(`
      SELECT * FROM subscribers
      WHERE instr(lower(email), lower(@contains)) > 0 AND (@status IS NULL OR status = @status) AND id > @after
      ORDER BY id LIMIT @limit`),
    countSubscribers: prepare(`SELECT status, count(*) AS n FROM subscribers GROUP BY status`),
    resubscribe: prepare(`
      UPDATE subscribers SET status = 'pending', name = @name, topics = @topics, frequency = @frequency, weekday = @weekday,
        created_at = @now, confirmed_at = NULL, unsubscribed_at = NULL, token_key = lower(hex(randomblob(16)))
      WHERE id = @id`),
    reactivateSubscriber: prepare(`
      UPDATE subscribers SET status = 'active', hard_bounces = 0, unsubscribed_at = NULL, confirmed_at = coalesce(confirmed_at, @now)
      WHERE id = @id AND status IN ('bounced', 'unsubscribed')`),
    liftSuppression: prepare(`DELETE FROM suppressions WHERE email = (SELECT email FROM subscribers WHERE id = ?)`),
    suppress: prepare(`
      INSERT INTO suppressions (email, reason, message_id, bounced_at) SELECT email, @reason, @messageId, @now FROM subscribers WHERE id = @subscriberId
      ON CONFLICT (email) DO UPDATE SET reason = excluded.reason, message_id = excluded.message_id, bounced_at = excluded.bounced_at`),
    suppressionOf: prepare(`SELECT * FROM suppressions WHERE email = ?`),
    confirmSubscriber: prepare(`
      UPDATE subscribers SET status = 'active', confirmed_at = @now WHERE id = @id AND status = 'pending'`),
    unsubscribe: prepare(`
      UPDATE subscribers SET status = 'unsubscribed', unsubscribed_at = @now WHERE id = @id AND status IN ('pending', 'active')`),
    expirePending: prepare(`DELETE FROM subscribers WHERE status = 'pending' AND created_at < ?`),
    updatePreferences: prepare(`
      UPDATE subscribers SET name = @name, topics = @topics, frequency = @frequency, weekday = @weekday WHERE id = @id`),
    digestCandidates: prepare(`
${PAPER_TOPIC_ROWS}      WHERE p.first_seen > @since
        AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.subscriber_id = @subscriberId AND d.paper_id = p.id)`),
    // One row per (paper, topic), papers in id order and each paper's topics primary first,
    // so the adapter groups them in one pass.
    windowPapers: prepare(`
${PAPER_TOPIC_ROWS}      WHERE p.first_seen > @since
      ORDER BY p.id, pt.rank`),
    // Each subscriber's primary-key range of deliveries (sent or still queued), kept to the
    // window. CROSS JOIN fixes the order (subscribers first).
    heldPaperIds: prepare(`
      SELECT d.subscriber_id, d.paper_id
      FROM json_each(@subscriberIds) j CROSS JOIN deliveries d ON d.subscriber_id = j.value CROSS JOIN papers p ON p.id = d.paper_id
      WHERE p.first_seen > @since`),
    insertOutbox: prepare(`
      INSERT INTO outbox (run_id, subscriber_id, kind, message_id, recipient, recipient_name, subject,
        unsubscribe_url, window_since, status, next_attempt_at, created_at)
      VALUES (@runId, @subscriberId, @kind, @messageId, @recipient, @recipientName, @subject,
        @unsubscribeUrl, @windowSince, 'queued', @now, @now)`),
    insertOutboxBody: prepare(`INSERT INTO outbox_bodies (outbox_id, raw, spool_file, spool_offset, spooled_bytes, html) VALUES (?, ?, ?, ?, ?, ?)`),
    // A digest's papers and record entries go in one statement each (a JSON array), not one per row.
    reservePapers: prepare(`INSERT OR IGNORE INTO deliveries (subscriber_id, paper_id, outbox_id) SELECT @subscriberId, value, @outboxId FROM json_each(@paperIds)`),
    insertDigest: prepare(`
      INSERT INTO digests (key, subscriber_id, outbox_id, created_at, topics, entries) VALUES (@key, @subscriberId, @outboxId, @createdAt, @topics, @entries)`),
    // The (topic, paper) pairs a page of digests sent out, each with the first and last time
    // it was digested in the page: one statement per page (a JSON array of 4-tuples), not one
    // per digest, which rewrote the same archive rows for every reader (1.7 s of a 10k run).
    archiveFitted: prepare(`
      INSERT INTO topic_archive (topic_id, paper_id, first_digested_at, last_digested_at)
      SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), json_extract(value, '$[3]') FROM json_each(?) WHERE true
      ON CONFLICT (topic_id, paper_id) DO UPDATE SET first_digested_at = min(first_digested_at, excluded.first_digested_at),
        last_digested_at = max(last_digested_at, excluded.last_digested_at)
      WHERE excluded.first_digested_at < first_digested_at OR excluded.last_digested_at > last_digested_at`),
    digestByKey: prepare(`SELECT key, subscriber_id, created_at, topics, entries FROM digests WHERE key = ?`),
    digestPapers: prepare(`SELECT p.id AS paper_id, ${DIGEST_PAPER_COLUMNS} FROM papers p WHERE p.id IN (SELECT value FROM json_each(?))`),
    archiveTopics: prepare(`
      SELECT topic_id, count(*) AS papers, max(last_digested_at) AS latest FROM topic_archive GROUP BY topic_id ORDER BY topic_id`),
    archivedPapers: prepare(`
      SELECT p.id AS paper_id, ${DIGEST_PAPER_COLUMNS}, a.topic_id, a.first_digested_at AS digested_on
      FROM topic_archive a JOIN papers p ON p.id = a.paper_id
      WHERE a.topic_id = @topicId ORDER BY a.first_digested_at DESC, p.id DESC LIMIT @limit`),
    advanceWindow: prepare(`UPDATE subscribers SET last_digest_at = ? WHERE id = ?`),
    // A digest is queued only against the window it was selected for, and never beside another
    // queued digest: two producers can never queue the same subscriber twice.
    digestQueueable: prepare(`
      SELECT 1 FROM subscribers s
      WHERE s.id = @subscriberId AND s.last_digest_at IS @windowSince
        AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.subscriber_id = s.id AND o.status = 'queued' AND o.kind IN ('digest', 'empty'))`),
    claimDue: prepare(`
      UPDATE outbox SET claimed_by = @worker, claim_expires_at = @until
      WHERE id IN (
        SELECT o.id FROM outbox o JOIN subscribers s ON s.id = o.subscriber_id
        WHERE o.status = 'queued' AND o.next_attempt_at <= @now
          AND (s.status = 'active' OR (o.kind = 'confirmation' AND s.status = 'pending'))
          AND (@kinds IS NULL OR o.kind IN (SELECT value FROM json_each(@kinds)))
          AND (o.claimed_by IS NULL OR o.claim_expires_at <= @now)
        ORDER BY o.next_attempt_at, o.id LIMIT @limit)
      RETURNING id`),
    claimedMessages: prepare(`
      SELECT o.*, b.raw, b.spool_file, b.spool_offset, b.spooled_bytes, CASE WHEN @html THEN b.html END AS html, s.hard_bounces FROM outbox o
        JOIN outbox_bodies b ON b.outbox_id = o.id JOIN subscribers s ON s.id = o.subscriber_id
      WHERE o.id IN (SELECT value FROM json_each(@ids)) AND o.claimed_by = @worker
      ORDER BY o.next_attempt_at, o.id`),
    claimHolders: prepare(`SELECT DISTINCT claimed_by FROM outbox WHERE claimed_by IS NOT NULL AND status = 'queued'`),
    extendClaims: prepare(`UPDATE outbox SET claim_expires_at = @until WHERE claimed_by = @worker AND status = 'queued'`),
    releaseClaims: prepare(`UPDATE outbox SET claimed_by = NULL, claim_expires_at = NULL WHERE claimed_by = ? AND status = 'queued'`),
    pruneBodies: prepare(`DELETE FROM outbox_bodies WHERE outbox_id IN (SELECT id FROM outbox WHERE status <> 'queued')`),
    spoolFiles: prepare(`SELECT DISTINCT spool_file FROM outbox_bodies WHERE spool_file IS NOT NULL`).pluck(),
    spoolFileInUse: prepare(`SELECT 1 FROM outbox_bodies WHERE spool_file = ? LIMIT 1`).pluck(),
    nextRetryAt: prepare(`SELECT min(max(next_attempt_at, coalesce(claim_expires_at, next_attempt_at))) AS at FROM outbox WHERE status = 'queued' AND (@kinds IS NULL OR kind IN (SELECT value FROM json_each(@kinds)))`),
    markSent: prepare(`
      UPDATE outbox SET status = 'sent', sent_at = @sentAt, attempts = @attempts, last_error = NULL, claimed_by = NULL, claim_expires_at = NULL
      WHERE id = @id AND status = 'queued' AND claimed_by = @worker`),
    markRetry: prepare(`
      UPDATE outbox SET attempts = @attempts, next_attempt_at = @nextAttemptAt, last_error = @error, claimed_by = NULL, claim_expires_at = NULL
      WHERE id = @id AND status = 'queued' AND claimed_by = @worker`),
    markFailed: prepare(`
      UPDATE outbox SET status = 'failed', attempts = @attempts, last_error = @error, claimed_by = NULL, claim_expires_at = NULL
      WHERE id = @id AND status = 'queued' AND claimed_by = @worker`),
    releaseReservation: prepare(`DELETE FROM deliveries WHERE subscriber_id = @subscriberId AND outbox_id = @id`),
    // A message still queued holds its papers but has not delivered them.
    deliveredPaperIds: prepare(`
      SELECT d.paper_id FROM deliveries d LEFT JOIN outbox o ON o.id = d.outbox_id
      WHERE d.subscriber_id = ? AND (o.status IS NULL OR o.status = 'sent') ORDER BY d.paper_id`),
    restoreWindow: prepare(`
      UPDATE subscribers SET last_digest_at = (SELECT window_since FROM outbox WHERE id = @id)
      WHERE id = (SELECT subscriber_id FROM outbox WHERE id = @id) AND last_digest_at = (SELECT created_at FROM outbox WHERE id = @id)`),
    releaseQueuedReservations: prepare(`
      DELETE FROM deliveries WHERE subscriber_id = @subscriberId
        AND outbox_id IN (SELECT id FROM outbox WHERE subscriber_id = @subscriberId AND status = 'queued')`),
    failQueuedOf: prepare(`UPDATE outbox SET status = 'failed', last_error = @error WHERE subscriber_id = @subscriberId AND status = 'queued'`),
    hardBounce: prepare(`
      UPDATE subscribers SET hard_bounces = hard_bounces + 1,
        status = CASE WHEN @bounce AND status = 'active' THEN 'bounced' ELSE status END
      WHERE id = @id`),
    subscribersWithQueued: prepare(`SELECT DISTINCT subscriber_id FROM outbox WHERE status = 'queued' AND kind IN ('digest', 'empty')`),
    sentSince: prepare(`SELECT count(*) AS n FROM outbox WHERE sent_at >= ?`),
    outboxCounts: prepare(`SELECT status, count(*) AS n FROM outbox GROUP BY status`),
    outboxProblems: prepare(`
      SELECT id, recipient, subject, status, attempts, next_attempt_at, last_error, created_at FROM outbox
      WHERE status = 'failed' OR (status = 'queued' AND attempts > 0)
      ORDER BY id DESC LIMIT ?`),
    outboxById: prepare(`SELECT * FROM outbox WHERE id = ?`),
    dropBody: prepare(`DELETE FROM outbox_bodies WHERE outbox_id = ? RETURNING spool_file`).pluck(),
    insertRun: prepare(`INSERT INTO runs (trigger, started_at, status) VALUES (?, ?, 'running')`),
    updateRun: prepare(`
      UPDATE runs SET status = @status, finished_at = @finishedAt, ingested = @ingested, due = @due, queued = @queued,
        sent = @sent, failed = @failed, deferred = @deferred, retried = @retried, bounced = @bounced, error = @error WHERE id = @id`),
    interruptRuns: prepare(`UPDATE runs SET status = 'interrupted', finished_at = ? WHERE status = 'running'`),
    recentRuns: prepare(`SELECT * FROM runs ORDER BY id DESC LIMIT ?`),
    runById: prepare(`SELECT * FROM runs WHERE id = ?`),
    runRecipients: prepare(`
      SELECT id, subscriber_id, kind, recipient, subject, status, attempts, last_error, created_at, sent_at FROM outbox
      WHERE run_id = ? ORDER BY id`),
    insertAdminSession: prepare(`
      INSERT INTO admin_sessions (id_hash, csrf, created_at, expires_at) VALUES (@idHash, @csrf, @createdAt, @expiresAt)`),
    adminSession: prepare(`SELECT * FROM admin_sessions WHERE id_hash = ? AND expires_at > ?`),
    deleteAdminSession: prepare(`DELETE FROM admin_sessions WHERE id_hash = ?`),
    expireAdminSessions: prepare(`DELETE FROM admin_sessions WHERE expires_at <= ?`),
    acquireLease: prepare(`
      INSERT INTO leases (name, holder, expires_at) VALUES (@name, @holder, @expiresAt)
      ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
      WHERE leases.holder = excluded.holder OR leases.expires_at <= @now OR leases.holder = @staleHolder`),
    leaseByName: prepare(`SELECT * FROM leases WHERE name = ?`),
    releaseLease: prepare(`DELETE FROM leases WHERE name = ? AND holder = ?`),
    dropExpiredCounters: prepare(`DELETE FROM counters WHERE expires_at <= ?`),
    countHits: prepare(`SELECT coalesce(sum(hits), 0) AS n FROM counters WHERE key = ? AND window_start >= ?`),
    addHits: prepare(`
      INSERT INTO counters (key, window_start, expires_at, hits) VALUES (@key, @windowStart, @expiresAt, max(0, @hits))
      ON CONFLICT (key, window_start) DO UPDATE SET hits = max(0, counters.hits + @hits), expires_at = excluded.expires_at`),
    getState: prepare(`SELECT value FROM state WHERE key = ?`),
    setState: prepare(`INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`),
    countPaperListings: prepare(`SELECT count(*) AS n FROM paper_listings`),
  };
}

export type Statements = ReturnType<typeof prepareStatements>;
