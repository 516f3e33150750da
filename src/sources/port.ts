import type { Clock } from '../clock.ts';

/**
 * The listing-source port: where listings come from (the inbox folder, files named on the
 * command line, and later the Hugging Face and arXiv APIs). A source yields what it found;
 * ingest stores it and tells the source how it went, so the source can file it away or move
 * its cursor.
 */

/** One listing's bytes, as a source fetched them. */
export interface FetchedListing {
  /** Where it came from: a file path or a URL. */
  origin: string;
  fetchedAt: Date;
  bytes: Uint8Array;
}

/** A listing a source found but could not read (missing, a directory, over the size limit): reported, never stored. */
export interface UnreadableListing {
  origin: string;
  fetchedAt: Date;
  /** One line: why it could not be read, without the origin (the report adds it). */
  problem: string;
}

export type PolledListing = FetchedListing | UnreadableListing;

export function isReadable(listing: PolledListing): listing is FetchedListing {
  return 'bytes' in listing;
}

export interface PollContext {
  clock: Clock;
  /** Listings larger than this are not read (PAPERBOY_MAX_LISTING_BYTES). */
  maxListingBytes: number;
}

/** How ingest ended for one listing, as its source is told. */
export type ListingOutcomeStatus = 'ingested' | 'already-ingested' | 'failed';

export interface ListingSource {
  readonly name: string;
  poll(context: PollContext): AsyncIterable<PolledListing>;
  ack(listing: PolledListing, status: ListingOutcomeStatus): Promise<void>;
  /** How many listings wait to be polled, when the source can tell without fetching (a dry run reports it). */
  pending?(): Promise<number>;
}
