import { existsSync, mkdirSync, readdirSync, renameSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { ingestFiles, type FileResult, type FileStatus, type IngestDeps, type IngestReport } from './ingest.ts';

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

/** Moves an ingested file to `archive/` (or a failed one to `failed/`) beside it; never overwrites. */
export function fileAway(path: string, inboxDir: string, status: FileStatus, stamp: string): string {
  const folder = join(inboxDir, status === 'failed' ? FAILED_DIR : ARCHIVE_DIR);
  mkdirSync(folder, { recursive: true });
  let target = join(folder, basename(path));
  if (existsSync(target)) {
    const extension = extname(path);
    target = join(folder, `${basename(path, extension)}.${stamp.replace(/[:.]/g, '-')}${extension}`);
  }
  renameSync(path, target);
  return target;
}

/** Ingests every listing waiting in the inbox, then files each away (archive/ or failed/). */
export function ingestInbox(inboxDir: string, deps: IngestDeps, onFileDone?: (result: FileResult) => void): IngestReport {
  const report = ingestFiles(listingFilesIn(inboxDir), deps, onFileDone);
  const stamp = deps.clock.now().toISOString();
  for (const file of report.files) fileAway(file.path, inboxDir, file.status, stamp);
  return report;
}
