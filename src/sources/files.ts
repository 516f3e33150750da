import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { formatBytes } from '../format-bytes.ts';
import type { ListingOutcomeStatus, ListingSource, PollContext, PolledListing } from './port.ts';

export const ARCHIVE_DIR = 'archive';
export const FAILED_DIR = 'failed';

/**
 * The listing files in a folder (the inbox, the samples), sorted by name; dotfiles and
 * subfolders such as archive/ are not listings.
 */
export function listingFilesIn(folder: string): string[] {
  if (!existsSync(folder)) return [];
  return readdirSync(folder, { withFileTypes: true })
    .filter((entry) => entry.isFile() && !entry.name.startsWith('.'))
    .map((entry) => join(folder, entry.name))
    .sort();
}

/** Files named on the command line (or the shipped samples): read in the order given, left where they are. */
export function pathsSource(paths: readonly string[]): ListingSource {
  return {
    name: 'files',
    poll: (context) => readEach(paths, context),
    ack: async () => {},
    pending: async () => paths.length,
  };
}

/**
 * The inbox folder: every listing file waiting there, each moved afterwards to `archive/`
 * (or a failed one to `failed/`) beside it, never overwriting.
 */
export function inboxSource(inboxDir: string): ListingSource {
  return {
    name: 'inbox',
    poll: (context) => readEach(listingFilesIn(inboxDir), context),
    ack: async (listing, status) => fileAway(listing.origin, inboxDir, status, listing.fetchedAt.toISOString()),
    pending: async () => listingFilesIn(inboxDir).length,
  };
}

async function* readEach(paths: readonly string[], context: PollContext): AsyncIterable<PolledListing> {
  for (const path of paths) {
    const fetchedAt = context.clock.now();
    const problem = unreadable(path, context.maxListingBytes);
    yield problem ? { origin: path, fetchedAt, problem } : { origin: path, fetchedAt, bytes: readFileSync(path) };
  }
}

/** Why a path cannot be read as a listing, or null when it can. */
function unreadable(path: string, maxBytes: number): string | null {
  let stats;
  try {
    stats = statSync(path);
  } catch {
    return 'no such file';
  }
  if (!stats.isFile()) return stats.isDirectory() ? 'is a directory, not a listing file' : 'is not a regular file';
  if (stats.size > maxBytes) return `is ${formatBytes(stats.size)}, over the ${formatBytes(maxBytes)} limit (PAPERBOY_MAX_LISTING_BYTES)`;
  return null;
}

function fileAway(path: string, inboxDir: string, status: ListingOutcomeStatus, stamp: string): void {
  if (!existsSync(path)) return;
  const folder = join(inboxDir, status === 'failed' ? FAILED_DIR : ARCHIVE_DIR);
  mkdirSync(folder, { recursive: true });
  let target = join(folder, basename(path));
  if (existsSync(target)) {
    const extension = extname(path);
    target = join(folder, `${basename(path, extension)}.${stamp.replace(/[:.]/g, '-')}${extension}`);
  }
  renameSync(path, target);
}
