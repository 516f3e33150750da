import { createHash } from 'node:crypto';
import type { Clock } from '../clock.ts';
import { isPaperboyError, oneLine } from '../errors.ts';
import { formatBytes } from '../format-bytes.ts';
import type { ListingFormat, ParsedListing, ParseWarning } from '../model/listing.ts';
import type { OnProgress } from '../model/progress.ts';
import type { ListingPapers, PaperFields, PaperRecord, StoredPaper } from '../model/paper.ts';
import { isReadable, type FetchedListing, type ListingOutcomeStatus, type ListingSource, type PolledListing } from '../sources/port.ts';
import type { ListingRepository, PaperRepository } from '../store/port.ts';
import { titleKey } from './identity.ts';
import { fieldsFromRecord, mergePaper } from './merge.ts';
import { parseListing } from './parse.ts';

type ListingWrites = Pick<ListingRepository & PaperRepository, 'insertListing' | 'finishListing' | 'papersMatching' | 'saveListingPapers'>;

/** What ingest needs of the store: the listing and paper operations, in one transaction per listing. */
export interface IngestStore extends Pick<ListingRepository, 'listingByHash' | 'recordFailedListing'> {
  withTransaction<T>(work: (tx: ListingWrites) => Promise<T>): Promise<T>;
}

export interface IngestDeps {
  store: IngestStore;
  clock: Clock;
  maxListingBytes: number;
  /** Papers counted within each listing: a large file does not sit at 0 until it is stored. */
  onProgress?: OnProgress;
}

export interface ListingResult {
  /** The listing's origin: a file path or a URL. */
  path: string;
  format: ListingFormat | null;
  /** Entries read from the listing. */
  papers: number;
  /** Distinct papers the store did not have before. */
  new: number;
  /** Distinct papers already stored whose text or metadata changed. */
  updated: number;
  status: ListingOutcomeStatus;
  error: string | null;
  warnings: ParseWarning[];
}

export interface IngestReport {
  files: ListingResult[];
  totals: { files: number; papers: number; new: number; updated: number; failed: number };
}

/**
 * Ingests every listing the sources yield, each in its own transaction, and tells each
 * source how its listing went; a bad listing is reported and the rest go on.
 */
export async function ingestSources(sources: readonly ListingSource[], deps: IngestDeps, onListingDone?: (result: ListingResult) => void): Promise<IngestReport> {
  const files: ListingResult[] = [];
  for (const source of sources) {
    for await (const listing of source.poll({ clock: deps.clock, maxListingBytes: deps.maxListingBytes })) {
      const result = await ingestListing(listing, deps);
      await source.ack(listing, result.status);
      files.push(result);
      onListingDone?.(result);
    }
  }
  return { files, totals: totalsOf(files) };
}

export function totalsOf(files: readonly ListingResult[]): IngestReport['totals'] {
  return {
    files: files.length,
    papers: files.reduce((sum, file) => sum + file.papers, 0),
    new: files.reduce((sum, file) => sum + file.new, 0),
    updated: files.reduce((sum, file) => sum + file.updated, 0),
    failed: files.filter((file) => file.status === 'failed').length,
  };
}

/** hash → dedupe → sniff and parse → merge → store, in one transaction. */
export async function ingestListing(listing: PolledListing, deps: IngestDeps): Promise<ListingResult> {
  const origin = listing.origin;
  const result: ListingResult = { path: origin, format: null, papers: 0, new: 0, updated: 0, status: 'failed', error: null, warnings: [] };
  if (!isReadable(listing)) return { ...result, error: `${origin}: ${listing.problem}` };
  if (listing.bytes.byteLength > deps.maxListingBytes) {
    return { ...result, error: `${origin}: is ${formatBytes(listing.bytes.byteLength)}, over the ${formatBytes(deps.maxListingBytes)} limit (PAPERBOY_MAX_LISTING_BYTES)` };
  }

  const contentHash = createHash('sha256').update(listing.bytes).digest('hex');
  const ingestedAt = deps.clock.now().toISOString();
  const known = await deps.store.listingByHash(contentHash);
  if (known?.status === 'ingested') return { ...result, format: known.format, status: 'already-ingested' };

  let parsed: ParsedListing;
  // Entries are announced per batch as the parser reads them; `announced` is what the display was told.
  let read = 0;
  let announced = 0;
  const announce = (added: number) => {
    announced += added;
    deps.onProgress?.({ stage: 'ingest', added });
  };
  try {
    parsed = parseListing(listing.bytes, { now: deps.clock.now(), onEntry: () => {
        if (++read % PROGRESS_BATCH === 0) announce(PROGRESS_BATCH);
      } });
  } catch (error) {
    if (announced > 0) announce(-announced);
    const message = `${origin}: ${oneLine(error)}`;
    await deps.store.recordFailedListing({ origin, contentHash, format: null, ingestedAt, error: message });
    return { ...result, error: message };
  }

  try {
    // The rest, less any entry the parser read and then dropped (a dump block with markup for a title).
    if (parsed.papers.length !== announced) announce(parsed.papers.length - announced);
    const counts = await storeListing(listing, contentHash, parsed, ingestedAt, deps.store, (done) => deps.onProgress?.({ stage: 'ingest', done }));
    return { ...result, ...counts, format: parsed.format, status: 'ingested', warnings: parsed.warnings };
  } catch (error) {
    const message = `${origin}: ${isPaperboyError(error) ? error.message : `could not be stored: ${oneLine(error)}`}`;
    await deps.store.recordFailedListing({ origin, contentHash, format: parsed.format, ingestedAt, error: message });
    return { ...result, format: parsed.format, error: message };
  }
}

/** One transaction: the listing row, every paper it brings, and which papers it listed. */
function storeListing(listing: FetchedListing, contentHash: string, parsed: ParsedListing, now: string, store: IngestStore, onPlanned?: (papers: number) => void) {
  return store.withTransaction(async (tx) => {
    const listingId = await tx.insertListing({ origin: listing.origin, contentHash, format: parsed.format, listedOn: parsed.listedOn, ingestedAt: now });
    const keyed = parsed.papers.map((record) => ({ record, key: titleKey(record.title) }));
    const stored = await tx.papersMatching({
      arxivIds: [...new Set(keyed.flatMap(({ record }) => (record.arxivId ? [record.arxivId] : [])))],
      titleKeys: [...new Set(keyed.map(({ key }) => key))],
    });
    const { writes, counts } = planListingPapers(keyed, stored, onPlanned);
    await tx.saveListingPapers(listingId, writes, now);
    await tx.finishListing(listingId, { paperCount: counts.papers, newCount: counts.new, updatedCount: counts.updated, warnings: parsed.warnings });
    return counts;
  });
}

/** Papers per progress event: often enough to move a bar, rarely enough to cost nothing. */
const PROGRESS_BATCH = 100;

/** A paper as this listing leaves it: stored (with its id) or new (its index among the inserts). */
interface PaperInPlay {
  ref: { id: number } | { inserted: number };
  fields: PaperFields;
  /** Creation order, as the store's ids would sort: stored papers first, then the inserts. */
  order: number;
}

/**
 * What one listing does to the papers, decided in memory over the stored papers it may
 * touch, entry by entry as if each were written at once: a paper seen twice in one listing
 * is one paper, and a title-keyed paper that gains its arXiv id is found by it afterwards.
 */
export function planListingPapers(
  entries: readonly { record: PaperRecord; key: string }[],
  stored: readonly StoredPaper[],
  /** Told every PROGRESS_BATCH entries (and the rest at the end) how many more are decided. */
  onPlanned?: (papers: number) => void,
): { writes: ListingPapers; counts: { papers: number; new: number; updated: number } } {
  const byArxivId = new Map<string, PaperInPlay>();
  const byTitleKey = new Map<string, PaperInPlay[]>();
  const index = (paper: PaperInPlay) => {
    if (paper.fields.arxivId) byArxivId.set(paper.fields.arxivId, paper);
    const sameTitle = byTitleKey.get(paper.fields.titleKey);
    if (!sameTitle) byTitleKey.set(paper.fields.titleKey, [paper]);
    else if (!sameTitle.includes(paper)) sameTitle.push(paper);
  };
  stored.forEach((paper, order) => index({ ref: { id: paper.id }, fields: paper, order }));

  const inserts: PaperFields[] = [];
  const updated = new Map<number, PaperInPlay>();
  const touched = new Set<number>();
  const links: ListingPapers['links'] = [];
  const linked = new Set<PaperInPlay>();

  entries.forEach(({ record, key }, position) => {
    // The same rules the store would apply: by arXiv id; failing that, by title key (a paper
    // known only by title may be matched by one that now brings its arXiv id).
    const sameTitle = byTitleKey.get(key) ?? [];
    const existing = record.arxivId
      ? (byArxivId.get(record.arxivId) ?? sameTitle.find((paper) => paper.fields.arxivId === null))
      : sameTitle[0];
    let paper: PaperInPlay;
    if (!existing) {
      paper = { ref: { inserted: inserts.length }, fields: fieldsFromRecord(record, key), order: stored.length + inserts.length };
      inserts.push(paper.fields);
    } else {
      paper = existing;
      const merged = mergePaper(existing.fields, record);
      if (merged.changed) {
        paper.fields = merged.fields;
        if ('inserted' in paper.ref) inserts[paper.ref.inserted] = merged.fields;
        else updated.set(paper.ref.id, paper);
      } else if ('id' in paper.ref) {
        touched.add(paper.ref.id);
      }
    }
    index(paper);
    if (!linked.has(paper)) {
      linked.add(paper);
      links.push({ paper: paper.ref, position });
    }
    if ((position + 1) % PROGRESS_BATCH === 0) onPlanned?.(PROGRESS_BATCH);
  });
  if (entries.length % PROGRESS_BATCH > 0) onPlanned?.(entries.length % PROGRESS_BATCH);

  return {
    writes: {
      inserts,
      updates: [...updated.entries()].map(([id, paper]) => ({ id, fields: paper.fields })),
      touches: [...touched].filter((id) => !updated.has(id)),
      links,
    },
    counts: { papers: entries.length, new: inserts.length, updated: updated.size },
  };
}
