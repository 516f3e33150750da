import type { PaperRecord } from './paper.ts';

/**
 * A listing's format is the name of the parser that read it (src/ingest/formats.ts keeps
 * the registry); the set is open, so new parsers need no schema change.
 */
export type ListingFormat = string;

export interface ParseWarning {
  /** 1-based line in the source where the problem starts, when known. */
  line?: number;
  message: string;
}

export interface ParsedListing {
  format: ListingFormat;
  /** The listing's own date, `YYYY-MM-DD`, when the format states one. */
  listedOn: string | null;
  papers: PaperRecord[];
  warnings: ParseWarning[];
}

export type ListingStatus = 'ingested' | 'failed';

export interface ListingRow {
  id: number;
  /** Where the listing came from: a file path or a URL. */
  origin: string;
  contentHash: string;
  format: ListingFormat | null;
  listedOn: string | null;
  ingestedAt: string;
  status: ListingStatus;
  error: string | null;
  paperCount: number;
  newCount: number;
  updatedCount: number;
}

export interface NewListing {
  origin: string;
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

export interface FailedListing {
  origin: string;
  contentHash: string;
  format: ListingFormat | null;
  ingestedAt: string;
  error: string;
}
