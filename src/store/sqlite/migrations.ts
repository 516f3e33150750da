/**
 * SQLite schema migrations, applied in order and keyed by `PRAGMA user_version`: migration N
 * brings a database from version N-1 to N inside one transaction. Released migrations are
 * never edited; a change is a new migration. They run with foreign keys off (a table rebuild
 * must not cascade), and each is checked with `PRAGMA foreign_key_check` before it commits.
 */
export const MIGRATIONS: readonly string[] = [
  /* 1: listings and deduplicated papers */ `
  CREATE TABLE listings (
    id            INTEGER PRIMARY KEY,
    path          TEXT NOT NULL,
    content_hash  TEXT NOT NULL UNIQUE,
    format        TEXT CHECK (format IN ('hf-dump', 'hf-api', 'arxiv-atom')),
    listed_on     TEXT,
    ingested_at   TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('ingested', 'failed')),
    error         TEXT,
    paper_count   INTEGER NOT NULL DEFAULT 0,
    new_count     INTEGER NOT NULL DEFAULT 0,
    updated_count INTEGER NOT NULL DEFAULT 0,
    warnings      TEXT NOT NULL DEFAULT '[]'
  );

  CREATE TABLE papers (
    id            INTEGER PRIMARY KEY,
    key           TEXT NOT NULL UNIQUE,
    arxiv_id      TEXT,
    title_key     TEXT NOT NULL,
    title         TEXT NOT NULL,
    abstract      TEXT NOT NULL,
    authors       TEXT NOT NULL DEFAULT '[]',
    author_count  INTEGER,
    organization  TEXT,
    published_on  TEXT,
    upvotes       INTEGER,
    comments      INTEGER,
    keywords      TEXT NOT NULL DEFAULT '[]',
    categories    TEXT NOT NULL DEFAULT '[]',
    links         TEXT NOT NULL DEFAULT '{}',
    first_seen    TEXT NOT NULL,
    last_seen     TEXT NOT NULL,
    updated_at    TEXT NOT NULL
  );
  -- Partial: most dump papers have no arXiv id, and NULLs need no index entry.
  CREATE UNIQUE INDEX papers_by_arxiv_id ON papers (arxiv_id) WHERE arxiv_id IS NOT NULL;
  CREATE INDEX papers_by_title_key ON papers (title_key);
  CREATE INDEX papers_by_first_seen ON papers (first_seen);

  CREATE TABLE paper_listings (
    paper_id    INTEGER NOT NULL REFERENCES papers (id) ON DELETE CASCADE,
    listing_id  INTEGER NOT NULL REFERENCES listings (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    PRIMARY KEY (paper_id, listing_id)
  ) WITHOUT ROWID;
  CREATE INDEX paper_listings_by_listing ON paper_listings (listing_id);
  `,
  /* 2: topic assignments, and which taxonomy version made them */ `
  ALTER TABLE papers ADD COLUMN topics_version TEXT;
  ALTER TABLE papers ADD COLUMN primary_topic TEXT;
  CREATE INDEX papers_by_topics_version ON papers (topics_version);

  -- The topics a paper is filed under: rank 0 is the primary, 1 and 2 secondaries.
  CREATE TABLE paper_topics (
    paper_id  INTEGER NOT NULL REFERENCES papers (id) ON DELETE CASCADE,
    topic_id  TEXT NOT NULL,
    rank      INTEGER NOT NULL,
    score     REAL NOT NULL,
    evidence  TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (paper_id, topic_id)
  ) WITHOUT ROWID;
  CREATE INDEX paper_topics_by_topic ON paper_topics (topic_id, paper_id);
  `,
  /* 3: subscribers, and which papers each has been delivered */ `
  CREATE TABLE subscribers (
    id               INTEGER PRIMARY KEY,
    email            TEXT NOT NULL UNIQUE,
    name             TEXT,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'active', 'unsubscribed', 'bounced')),
    -- JSON array of topic ids; NULL means every topic, including ones added later.
    topics           TEXT,
    frequency        TEXT NOT NULL CHECK (frequency IN ('daily', 'weekly')),
    -- Weekly subscribers: 0 = Sunday … 6 = Saturday, in PAPERBOY_TZ.
    weekday          INTEGER CHECK (weekday BETWEEN 0 AND 6),
    created_at       TEXT NOT NULL,
    confirmed_at     TEXT,
    unsubscribed_at  TEXT,
    -- The window of the next digest starts here; NULL until the first digest.
    last_digest_at   TEXT,
    hard_bounces     INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX subscribers_by_status ON subscribers (status, id);

  -- "Previously sent": written only once the SMTP server accepted the message.
  CREATE TABLE deliveries (
    subscriber_id  INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    paper_id       INTEGER NOT NULL REFERENCES papers (id) ON DELETE CASCADE,
    message_id     TEXT NOT NULL,
    delivered_at   TEXT NOT NULL,
    PRIMARY KEY (subscriber_id, paper_id)
  ) WITHOUT ROWID;
  `,
  /* 4: runs, the outbox, and the delivery lease */ `
  CREATE TABLE runs (
    id           INTEGER PRIMARY KEY,
    trigger      TEXT NOT NULL CHECK (trigger IN ('scheduled', 'manual', 'start', 'catch-up')),
    started_at   TEXT NOT NULL,
    finished_at  TEXT,
    status       TEXT NOT NULL CHECK (status IN ('running', 'done', 'paused', 'failed', 'interrupted')),
    ingested     INTEGER NOT NULL DEFAULT 0,
    due          INTEGER NOT NULL DEFAULT 0,
    queued       INTEGER NOT NULL DEFAULT 0,
    sent         INTEGER NOT NULL DEFAULT 0,
    failed       INTEGER NOT NULL DEFAULT 0,
    deferred     INTEGER NOT NULL DEFAULT 0,
    error        TEXT
  );

  -- A message and its state. Written with its body and paper reservations in one
  -- transaction; marked sent with its deliveries in one transaction after the 250.
  CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY,
    run_id           INTEGER REFERENCES runs (id) ON DELETE SET NULL,
    subscriber_id    INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    kind             TEXT NOT NULL CHECK (kind IN ('digest', 'empty')),
    message_id       TEXT NOT NULL UNIQUE,
    recipient        TEXT NOT NULL,
    recipient_name   TEXT,
    subject          TEXT NOT NULL,
    unsubscribe_url  TEXT NOT NULL,
    -- The subscriber's window start before this digest: restored if the message fails.
    window_since     TEXT,
    status           TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    last_error       TEXT,
    created_at       TEXT NOT NULL,
    sent_at          TEXT
  );
  CREATE INDEX outbox_by_status ON outbox (status, next_attempt_at);
  CREATE INDEX outbox_by_subscriber ON outbox (subscriber_id, status);
  CREATE INDEX outbox_by_sent_at ON outbox (sent_at) WHERE sent_at IS NOT NULL;

  -- The message exactly as it is sent (built once, when queued: a resend is the same bytes),
  -- and its HTML part for the file outbox. Apart from the state row, so that updating the
  -- state rewrites a small row, not ~70 KB of message.
  CREATE TABLE outbox_bodies (
    outbox_id  INTEGER PRIMARY KEY REFERENCES outbox (id) ON DELETE CASCADE,
    raw        BLOB NOT NULL,
    html       TEXT NOT NULL
  );

  -- Papers a queued message carries: reserved, so no other digest selects them meanwhile.
  CREATE TABLE outbox_papers (
    subscriber_id  INTEGER NOT NULL,
    paper_id       INTEGER NOT NULL,
    outbox_id      INTEGER NOT NULL REFERENCES outbox (id) ON DELETE CASCADE,
    PRIMARY KEY (subscriber_id, paper_id, outbox_id)
  ) WITHOUT ROWID;
  CREATE INDEX outbox_papers_by_outbox ON outbox_papers (outbox_id);

  -- One row per lease name: who may deliver now, and until when.
  CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    expires_at  TEXT NOT NULL
  );

  -- Small facts that must survive restarts (the last scheduled run).
  CREATE TABLE state (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
  );
  `,
  /* 5: the ports reshape. A listing's format is the open set of registered parsers (no CHECK)
     and its path becomes its origin (a file or a URL); outbox messages are claimed by a
     delivery worker until an expiry. SQLite cannot drop a CHECK: the table is rebuilt. */ `
  CREATE TABLE listings_v5 (
    id            INTEGER PRIMARY KEY,
    origin        TEXT NOT NULL,
    content_hash  TEXT NOT NULL UNIQUE,
    format        TEXT,
    listed_on     TEXT,
    ingested_at   TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('ingested', 'failed')),
    error         TEXT,
    paper_count   INTEGER NOT NULL DEFAULT 0,
    new_count     INTEGER NOT NULL DEFAULT 0,
    updated_count INTEGER NOT NULL DEFAULT 0,
    warnings      TEXT NOT NULL DEFAULT '[]'
  );
  INSERT INTO listings_v5 (id, origin, content_hash, format, listed_on, ingested_at, status, error, paper_count, new_count, updated_count, warnings)
    SELECT id, path, content_hash, format, listed_on, ingested_at, status, error, paper_count, new_count, updated_count, warnings FROM listings;
  DROP TABLE listings;
  ALTER TABLE listings_v5 RENAME TO listings;

  ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
  ALTER TABLE outbox ADD COLUMN claim_expires_at TEXT;
  CREATE INDEX outbox_by_claim ON outbox (claimed_by) WHERE claimed_by IS NOT NULL;
  `,
  /* 6: reliability. Subscriber ids are never reused (AUTOINCREMENT) and every subscriber has a
     random token key that their links carry: a new sign-up gets a new key, so links made for
     someone else, or for an earlier sign-up, are refused. Subscribers from before keep an
     empty key, which is what links sent before this version carry. The outbox also carries
     notices (confirmation, welcome), so they are retried like digests. A suppression record
     keeps why and when an address bounced. */ `
  CREATE TABLE subscribers_v6 (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    email            TEXT NOT NULL UNIQUE,
    name             TEXT,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'active', 'unsubscribed', 'bounced')),
    topics           TEXT,
    frequency        TEXT NOT NULL CHECK (frequency IN ('daily', 'weekly')),
    weekday          INTEGER CHECK (weekday BETWEEN 0 AND 6),
    created_at       TEXT NOT NULL,
    confirmed_at     TEXT,
    unsubscribed_at  TEXT,
    last_digest_at   TEXT,
    hard_bounces     INTEGER NOT NULL DEFAULT 0,
    token_key        TEXT NOT NULL DEFAULT ''
  );
  INSERT INTO subscribers_v6 (id, email, name, status, topics, frequency, weekday, created_at, confirmed_at, unsubscribed_at, last_digest_at, hard_bounces)
    SELECT id, email, name, status, topics, frequency, weekday, created_at, confirmed_at, unsubscribed_at, last_digest_at, hard_bounces FROM subscribers;
  DROP TABLE subscribers;
  ALTER TABLE subscribers_v6 RENAME TO subscribers;
  CREATE INDEX subscribers_by_status ON subscribers (status, id);

  CREATE TABLE outbox_v6 (
    id               INTEGER PRIMARY KEY,
    run_id           INTEGER REFERENCES runs (id) ON DELETE SET NULL,
    subscriber_id    INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    kind             TEXT NOT NULL CHECK (kind IN ('digest', 'empty', 'confirmation', 'welcome')),
    message_id       TEXT NOT NULL UNIQUE,
    recipient        TEXT NOT NULL,
    recipient_name   TEXT,
    subject          TEXT NOT NULL,
    unsubscribe_url  TEXT NOT NULL,
    window_since     TEXT,
    status           TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    last_error       TEXT,
    created_at       TEXT NOT NULL,
    sent_at          TEXT,
    claimed_by       TEXT,
    claim_expires_at TEXT
  );
  INSERT INTO outbox_v6 SELECT id, run_id, subscriber_id, kind, message_id, recipient, recipient_name, subject, unsubscribe_url,
    window_since, status, attempts, next_attempt_at, last_error, created_at, sent_at, claimed_by, claim_expires_at FROM outbox;
  DROP TABLE outbox;
  ALTER TABLE outbox_v6 RENAME TO outbox;
  CREATE INDEX outbox_by_status ON outbox (status, next_attempt_at);
  CREATE INDEX outbox_by_subscriber ON outbox (subscriber_id, status);
  CREATE INDEX outbox_by_sent_at ON outbox (sent_at) WHERE sent_at IS NOT NULL;
  CREATE INDEX outbox_by_claim ON outbox (claimed_by) WHERE claimed_by IS NOT NULL;
  CREATE INDEX outbox_by_run ON outbox (run_id);

  -- Counted as messages settle, so an interrupted run shows what it did.
  ALTER TABLE runs ADD COLUMN retried INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE runs ADD COLUMN bounced INTEGER NOT NULL DEFAULT 0;

  -- Why and when an address bounced; kept after the subscriber is removed, lifted on reactivation.
  CREATE TABLE suppressions (
    email       TEXT PRIMARY KEY,
    reason      TEXT NOT NULL,
    message_id  TEXT,
    bounced_at  TEXT NOT NULL
  );
  `,
  /* 7: the record of each queued digest: every paper that matched, ranked, and whether it
     fitted into the mail (the web view shows them all; the public archive the ones that fitted). */ `
  CREATE TABLE digests (
    id             INTEGER PRIMARY KEY,
    key            TEXT NOT NULL UNIQUE,
    subscriber_id  INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    outbox_id      INTEGER REFERENCES outbox (id) ON DELETE SET NULL,
    created_at     TEXT NOT NULL
  );

  CREATE TABLE digest_papers (
    digest_id  INTEGER NOT NULL REFERENCES digests (id) ON DELETE CASCADE,
    ordinal    INTEGER NOT NULL,
    paper_id   INTEGER NOT NULL REFERENCES papers (id) ON DELETE CASCADE,
    topic_id   TEXT NOT NULL,
    fitted     INTEGER NOT NULL CHECK (fitted IN (0, 1)),
    carried    INTEGER NOT NULL CHECK (carried IN (0, 1)),
    score      REAL NOT NULL,
    PRIMARY KEY (digest_id, ordinal)
  ) WITHOUT ROWID;
  -- The archive of a topic: the papers that went out under it.
  CREATE INDEX digest_papers_by_topic ON digest_papers (topic_id, fitted, paper_id, digest_id);
  `,
  /* 8: admin console sessions, shared by every web replica: the hash of the cookie's id,
     the form token that goes with it, and when it stops working. */ `
  CREATE TABLE admin_sessions (
    id_hash     TEXT PRIMARY KEY,
    csrf        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
  );
  CREATE INDEX admin_sessions_by_expiry ON admin_sessions (expires_at);
  `,
  /* 9: counters shared by every process (the sign-up limits of all web replicas, the
     run-wide delivery limits of all workers): hits per key and window, dropped once expired. */ `
  CREATE TABLE counters (
    key           TEXT NOT NULL,
    window_start  TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    hits          INTEGER NOT NULL,
    PRIMARY KEY (key, window_start)
  ) WITHOUT ROWID;
  CREATE INDEX counters_by_expiry ON counters (expires_at);
  `,
  /* 10: the archive's index holds only the papers that went out (what it reads); a digest
     records every paper that matched, and most of them did not fit. */ `
  DROP INDEX digest_papers_by_topic;
  CREATE INDEX digest_papers_by_topic ON digest_papers (topic_id, paper_id, digest_id) WHERE fitted = 1;
  `,
  /* 11: a run adds a few kilobytes per subscriber, not ten. A delivery is its key and the
     outbox id of the message that delivered it (that row's sent_at says when), not the
     Message-ID and time as text again. A digest's matches, most of which never fitted, are
     packed into its own row (src/store/digest-entries.ts; the function that packs old rows
     is the adapter's). The public archive keeps one row per (topic, paper) that went out, with
     the first and last digest that carried it, instead of one per digest: it no longer loses
     papers when a subscriber is deleted. No foreign key on outbox_id: outbox rows go only
     with their subscriber, and the deliveries with them. */ `
  CREATE TABLE deliveries_v11 (
    subscriber_id  INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    paper_id       INTEGER NOT NULL REFERENCES papers (id) ON DELETE CASCADE,
    outbox_id      INTEGER,
    PRIMARY KEY (subscriber_id, paper_id)
  ) WITHOUT ROWID;
  INSERT INTO deliveries_v11 (subscriber_id, paper_id, outbox_id)
    SELECT d.subscriber_id, d.paper_id, o.id FROM deliveries d LEFT JOIN outbox o ON o.message_id = d.message_id;
  DROP TABLE deliveries;
  ALTER TABLE deliveries_v11 RENAME TO deliveries;

  ALTER TABLE digests ADD COLUMN topics TEXT NOT NULL DEFAULT '[]';
  ALTER TABLE digests ADD COLUMN entries BLOB NOT NULL DEFAULT x'';
  UPDATE digests SET
    topics = (SELECT json_group_array(topic_id ORDER BY topic_id) FROM (SELECT DISTINCT topic_id FROM digest_papers WHERE digest_id = digests.id)),
    entries = (
      SELECT paperboy_digest_entries(dp.paper_id,
          (SELECT count(DISTINCT t.topic_id) FROM digest_papers t WHERE t.digest_id = dp.digest_id AND t.topic_id < dp.topic_id),
          dp.fitted | (dp.carried << 1), dp.score ORDER BY dp.ordinal)
      FROM digest_papers dp WHERE dp.digest_id = digests.id)
  WHERE EXISTS (SELECT 1 FROM digest_papers WHERE digest_id = digests.id);

  CREATE TABLE topic_archive (
    topic_id           TEXT NOT NULL,
    paper_id           INTEGER NOT NULL REFERENCES papers (id) ON DELETE CASCADE,
    first_digested_at  TEXT NOT NULL,
    last_digested_at   TEXT NOT NULL,
    PRIMARY KEY (topic_id, paper_id)
  ) WITHOUT ROWID;
  INSERT INTO topic_archive (topic_id, paper_id, first_digested_at, last_digested_at)
    SELECT dp.topic_id, dp.paper_id, min(d.created_at), max(d.created_at)
    FROM digest_papers dp JOIN digests d ON d.id = dp.digest_id WHERE dp.fitted = 1 GROUP BY dp.topic_id, dp.paper_id;
  DROP TABLE digest_papers;
  `,
  /* 12: a digest's papers are its deliveries from the moment it is queued, not reservations
     moved into deliveries when it is sent: marking a message sent then writes only its own
     row (the outbox row's status says whether the papers went out), and a failed message
     deletes its papers again. Selection reads one table. */ `
  INSERT OR IGNORE INTO deliveries (subscriber_id, paper_id, outbox_id)
    SELECT op.subscriber_id, op.paper_id, op.outbox_id FROM outbox_papers op JOIN outbox o ON o.id = op.outbox_id WHERE o.status = 'queued';
  DROP TABLE outbox_papers;
  `,
  /* 13: a queued message's bytes may live in a file of the spool folder beside the database
     (src/store/sqlite/spool.ts) instead of in its row: ~100 KB per message then never passes
     through the WAL, its checkpoint and the free list. The row names the file and keeps its
     length, so a file cut short by a crash is refused, never sent. */ `
  CREATE TABLE outbox_bodies_v13 (
    outbox_id      INTEGER PRIMARY KEY REFERENCES outbox (id) ON DELETE CASCADE,
    raw            BLOB,
    spool_file     TEXT,
    spooled_bytes  INTEGER,
    html           TEXT NOT NULL,
    CHECK ((raw IS NULL) = (spool_file IS NOT NULL) AND (spool_file IS NULL) = (spooled_bytes IS NULL))
  );
  INSERT INTO outbox_bodies_v13 (outbox_id, raw, html) SELECT outbox_id, raw, html FROM outbox_bodies;
  DROP TABLE outbox_bodies;
  ALTER TABLE outbox_bodies_v13 RENAME TO outbox_bodies;
  `,
  /* 14: the bodies of a page of queued messages are one segment file, each row naming where
     its bytes start in it (NULL: a whole file of its own, as version 13 wrote them). The
     index finds whether any row still names a segment once a message settles. */ `
  ALTER TABLE outbox_bodies ADD COLUMN spool_offset INTEGER CHECK (spool_offset IS NULL OR (spool_file IS NOT NULL AND spool_offset >= 0));
  CREATE INDEX outbox_bodies_by_spool_file ON outbox_bodies (spool_file) WHERE spool_file IS NOT NULL;
  `,
];
