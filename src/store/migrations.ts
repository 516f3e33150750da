/**
 * Schema migrations, applied in order and keyed by `PRAGMA user_version`: migration N
 * brings a database from version N-1 to N inside one transaction. Released migrations
 * are never edited; a change is a new migration.
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
];
