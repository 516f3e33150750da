import type { ListingResult } from '../ingest/ingest.ts';
import type { FetchingSource } from '../sources/fetching.ts';
import { ingestAndLog, type LoggedIngestDeps } from './ingest.ts';

/** One source's part of `paperboy fetch --json`. */
export interface SourceFetchReport {
  source: string;
  /** HTTP requests sent, retries included. */
  requests: number;
  /** Requests answered 304: unchanged since the last fetch, costing nothing. */
  not_modified: number;
  /** Response bodies read as listings (new or already stored). */
  listings: number;
  papers: number;
  new: number;
  updated: number;
  status: 'ok' | 'failed' | 'dry-run';
  /** The first failure, one line naming the URL; null when none failed. */
  error: string | null;
  /** Dry run only: the requests a real fetch would start with. */
  planned?: string[];
}

export interface FetchReport {
  sources: SourceFetchReport[];
  /** `failed`: sources that failed. */
  totals: { papers: number; new: number; updated: number; failed: number };
}

/**
 * Fetches each source in turn and ingests what it brings, one listing per transaction; a
 * source that fails is reported and the next one goes on.
 */
export async function fetchSources(sources: readonly FetchingSource[], deps: LoggedIngestDeps & { dryRun?: boolean }): Promise<FetchReport> {
  const reports: SourceFetchReport[] = [];
  for (const source of sources) {
    const ingest = await ingestAndLog([source], deps);
    reports.push(sourceReport(source, ingest.files, deps.dryRun ?? false));
  }
  return {
    sources: reports,
    totals: {
      papers: sum(reports, 'papers'),
      new: sum(reports, 'new'),
      updated: sum(reports, 'updated'),
      failed: reports.filter((report) => report.status === 'failed').length,
    },
  };
}

function sourceReport(source: FetchingSource, results: readonly ListingResult[], dryRun: boolean): SourceFetchReport {
  const stats = source.stats();
  const stored = results.filter((result) => result.status !== 'failed');
  const error = results.find((result) => result.status === 'failed')?.error ?? stats.error;
  return {
    source: source.name,
    requests: stats.requests,
    not_modified: stats.notModified,
    listings: stored.length,
    papers: stored.reduce((total, result) => total + result.papers, 0),
    new: stored.reduce((total, result) => total + result.new, 0),
    updated: stored.reduce((total, result) => total + result.updated, 0),
    status: dryRun ? 'dry-run' : error ? 'failed' : 'ok',
    error,
    ...(dryRun ? { planned: stats.planned } : {}),
  };
}

function sum(reports: readonly SourceFetchReport[], field: 'papers' | 'new' | 'updated'): number {
  return reports.reduce((total, report) => total + report[field], 0);
}
