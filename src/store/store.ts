import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { PaperboyError } from '../errors.ts';
import type { PaperFields } from '../ingest/merge.ts';
import type { ListingFormat, ParseWarning } from '../ingest/records.ts';
import { MIGRATIONS } from './migrations.ts';

/**
 * The one module that owns SQL. Every statement is prepared when the store opens, so a
 * typo fails at start, not halfway through a run (as listmonk does with its queries).
 */

export interface StoredPaper extends PaperFields {
  id: number;
  firstSeen: string;
  lastSeen: string;
}

export interface PaperListItem extends StoredPaper {
  /** Paths of the listings the paper appeared in, oldest first. */
  sources: string[];
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

type Row = Record<string, unknown>;

const PAPER_COLUMNS = `id, key, arxiv_id, title_key, title, abstract, authors, author_count, organization,
  published_on, upvotes, comments, keywords, categories, links, first_seen, last_seen`;

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
        last_seen = @now, updated_at = @now
      WHERE id = @id`),
    touchPaper: prepare(`UPDATE papers SET last_seen = ? WHERE id = ?`),
    linkPaper: prepare(`INSERT OR IGNORE INTO paper_listings (paper_id, listing_id, position) VALUES (?, ?, ?)`),
    listPapers: prepare(`
      SELECT ${PAPER_COLUMNS},
        (SELECT json_group_array(path) FROM (
           SELECT l.path FROM paper_listings pl JOIN listings l ON l.id = pl.listing_id
           WHERE pl.paper_id = p.id ORDER BY l.id)) AS sources
      FROM papers p
      WHERE (@since IS NULL OR p.first_seen >= @since)
      ORDER BY p.first_seen DESC, p.id DESC
      LIMIT @limit`),
    countPapers: prepare(`SELECT count(*) AS n FROM papers`),
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
    const row = this.sql.listingByHash.get(contentHash) as Row | undefined;
    return row && toListing(row);
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
    const row = this.sql.paperByKey.get(key) as Row | undefined;
    return row && toPaper(row);
  }

  paperByTitleKey(titleKey: string): StoredPaper | undefined {
    const row = this.sql.anyPaperByTitleKey.get(titleKey) as Row | undefined;
    return row && toPaper(row);
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

  listPapers(options: { since?: string | null; limit?: number | null }): PaperListItem[] {
    const rows = this.sql.listPapers.all({ since: options.since ?? null, limit: options.limit ?? -1 }) as Row[];
    return rows.map((row) => ({ ...toPaper(row), sources: JSON.parse(row.sources as string) as string[] }));
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

function toPaper(row: Row): StoredPaper {
  return {
    id: row.id as number,
    key: row.key as string,
    arxivId: row.arxiv_id as string | null,
    titleKey: row.title_key as string,
    title: row.title as string,
    abstract: row.abstract as string,
    authors: JSON.parse(row.authors as string) as string[],
    authorCount: row.author_count as number | null,
    organization: row.organization as string | null,
    publishedOn: row.published_on as string | null,
    upvotes: row.upvotes as number | null,
    comments: row.comments as number | null,
    keywords: JSON.parse(row.keywords as string) as string[],
    categories: JSON.parse(row.categories as string) as string[],
    links: JSON.parse(row.links as string) as PaperFields['links'],
    firstSeen: row.first_seen as string,
    lastSeen: row.last_seen as string,
  };
}

function toListing(row: Row): ListingRow {
  return {
    id: row.id as number,
    path: row.path as string,
    contentHash: row.content_hash as string,
    format: row.format as ListingFormat | null,
    listedOn: row.listed_on as string | null,
    ingestedAt: row.ingested_at as string,
    status: row.status as ListingRow['status'],
    error: row.error as string | null,
    paperCount: row.paper_count as number,
    newCount: row.new_count as number,
    updatedCount: row.updated_count as number,
  };
}
