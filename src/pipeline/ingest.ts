import type { Clock } from '../clock.ts';
import { ingestSources, type IngestReport, type IngestStore, type ListingResult } from '../ingest/ingest.ts';
import type { Logger } from '../log.ts';
import type { OnProgress } from '../model/progress.ts';
import type { ListingSource } from '../sources/port.ts';

export interface LoggedIngestDeps {
  store: IngestStore;
  clock: Clock;
  logger: Logger;
  maxListingBytes: number;
  onProgress?: OnProgress;
}

/**
 * Ingest as the shells run it (the CLI, the scheduled run): every listing's warnings and
 * failure logged the same way, whichever source it came from.
 */
export function ingestAndLog(sources: readonly ListingSource[], deps: LoggedIngestDeps, onListingDone?: (result: ListingResult) => void): Promise<IngestReport> {
  deps.logger.info({ sources: sources.map((source) => source.name) }, 'ingesting listings');
  return ingestSources(sources, deps, (result) => {
    onListingDone?.(result);
    for (const warning of result.warnings) {
      deps.logger.warn({ file: result.path, line: warning.line }, `${result.path}${warning.line ? `:${warning.line}` : ''}: ${warning.message}`);
    }
    if (result.status === 'failed') deps.logger.error({ file: result.path }, result.error ?? 'failed');
    else deps.logger.debug({ file: result.path, status: result.status, papers: result.papers, new: result.new }, 'listing done');
  });
}
