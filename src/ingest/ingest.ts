import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import type { Clock } from '../clock.ts';
import { PaperboyError, isPaperboyError, oneLine } from '../errors.ts';
import type { Store } from '../store/store.ts';
import { titleKey } from './identity.ts';
import { fieldsFromRecord, mergePaper } from './merge.ts';
import { parseListing } from './parse.ts';
import type { ListingFormat, ParsedListing, ParseWarning } from './records.ts';

/** What ingest needs of the store: the listing and paper operations, and transactions. */
export type IngestStore = Pick<
  Store,
  | 'transaction'
  | 'listingByHash'
  | 'insertListing'
  | 'finishListing'
  | 'recordFailedListing'
  | 'findPaperFor'
  | 'insertPaper'
  | 'updatePaper'
  | 'touchPaper'
  | 'linkPaperToListing'
>;

export interface IngestDeps {
  store: IngestStore;
  clock: Clock;
  maxListingBytes: number;
}

export type FileStatus = 'ingested' | 'already-ingested' | 'failed';

export interface FileResult {
  path: string;
  format: ListingFormat | null;
  /** Entries read from the file. */
  papers: number;
  /** Distinct papers the store did not have before. */
  new: number;
  /** Distinct papers already stored whose text or metadata changed. */
  updated: number;
  status: FileStatus;
  error: string | null;
  warnings: ParseWarning[];
}

export interface IngestReport {
  files: FileResult[];
  totals: { files: number; papers: number; new: number; updated: number; failed: number };
}

/** Ingests each file in its own transaction; a bad file is reported and the rest go on. */
export function ingestFiles(paths: string[], deps: IngestDeps, onFileDone?: (result: FileResult) => void): IngestReport {
  const files = paths.map((path) => {
    const result = ingestFile(path, deps);
    onFileDone?.(result);
    return result;
  });
  return { files, totals: totalsOf(files) };
}

export function totalsOf(files: FileResult[]): IngestReport['totals'] {
  return {
    files: files.length,
    papers: files.reduce((sum, file) => sum + file.papers, 0),
    new: files.reduce((sum, file) => sum + file.new, 0),
    updated: files.reduce((sum, file) => sum + file.updated, 0),
    failed: files.filter((file) => file.status === 'failed').length,
  };
}

export function ingestFile(path: string, deps: IngestDeps): FileResult {
  const result: FileResult = { path, format: null, papers: 0, new: 0, updated: 0, status: 'failed', error: null, warnings: [] };
  let bytes: Buffer;
  try {
    bytes = readListingBytes(path, deps.maxListingBytes);
  } catch (error) {
    return { ...result, error: `${path}: ${oneLine(error)}` };
  }

  const contentHash = createHash('sha256').update(bytes).digest('hex');
  const ingestedAt = deps.clock.now().toISOString();
  const known = deps.store.listingByHash(contentHash);
  if (known?.status === 'ingested') {
    return { ...result, format: known.format, status: 'already-ingested', error: null };
  }

  let parsed: ParsedListing;
  try {
    parsed = parseListing(bytes, { now: deps.clock.now() });
    if (parsed.format === 'hf-dump' && parsed.papers.length === 0) {
      throw new PaperboyError('INPUT_MALFORMED', 'no paper blocks after the header (is the dump cut off?)');
    }
  } catch (error) {
    const message = `${path}: ${oneLine(error)}`;
    deps.store.recordFailedListing({ path, contentHash, format: null, ingestedAt, error: message });
    return { ...result, error: message };
  }

  try {
    const counts = storeListing(path, contentHash, parsed, ingestedAt, deps.store);
    return { ...result, ...counts, format: parsed.format, status: 'ingested', warnings: parsed.warnings };
  } catch (error) {
    const message = `${path}: ${isPaperboyError(error) ? error.message : `could not be stored: ${oneLine(error)}`}`;
    deps.store.recordFailedListing({ path, contentHash, format: parsed.format, ingestedAt, error: message });
    return { ...result, format: parsed.format, error: message };
  }
}

function readListingBytes(path: string, maxBytes: number): Buffer {
  let size: number;
  try {
    const stats = statSync(path);
    if (!stats.isFile()) throw new PaperboyError('INPUT_NOT_FILE', stats.isDirectory() ? 'is a directory, not a listing file' : 'is not a regular file');
    size = stats.size;
  } catch (error) {
    if (isPaperboyError(error)) throw error;
    throw new PaperboyError('INPUT_MISSING', 'no such file');
  }
  if (size > maxBytes) {
    throw new PaperboyError('INPUT_TOO_LARGE', `is ${formatBytes(size)}, over the ${formatBytes(maxBytes)} limit (PAPERBOY_MAX_LISTING_BYTES)`);
  }
  return readFileSync(path);
}

/** One transaction: the listing row, every paper it brings, and which papers it listed. */
function storeListing(path: string, contentHash: string, parsed: ParsedListing, now: string, store: IngestStore) {
  return store.transaction(() => {
    const listingId = store.insertListing({ path, contentHash, format: parsed.format, listedOn: parsed.listedOn, ingestedAt: now });
    const created = new Set<number>();
    const updated = new Set<number>();
    parsed.papers.forEach((record, position) => {
      const key = titleKey(record.title);
      const existing = store.findPaperFor(record.arxivId, key);
      let paperId: number;
      if (!existing) {
        paperId = store.insertPaper(fieldsFromRecord(record, key), now);
        created.add(paperId);
      } else {
        paperId = existing.id;
        const merged = mergePaper(existing, record);
        if (merged.changed) {
          store.updatePaper(paperId, merged.fields, now);
          if (!created.has(paperId)) updated.add(paperId);
        } else {
          store.touchPaper(paperId, now);
        }
      }
      store.linkPaperToListing(paperId, listingId, position);
    });
    const counts = { papers: parsed.papers.length, new: created.size, updated: updated.size };
    store.finishListing(listingId, { paperCount: counts.papers, newCount: counts.new, updatedCount: counts.updated, warnings: parsed.warnings });
    return counts;
  });
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${bytes} B`;
}
