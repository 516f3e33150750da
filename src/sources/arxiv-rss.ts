import { pacedClient } from './arxiv-api.ts';
import { emptyStats, fetchListing, readCursor, recordPollOutcome, writeCursor, type FetchingSource, type FetchingSourceDeps, type SourcePollStats } from './fetching.ts';
import type { ListingOutcomeStatus, PollContext, PolledListing } from './port.ts';

export const DEFAULT_ARXIV_RSS_URL = 'https://rss.arxiv.org/rss/';

export function arxivRssUrl(baseUrl: string, category: string): string {
  return `${baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`}${encodeURIComponent(category)}`;
}

/**
 * arXiv's daily announcement feed of each category (`PAPERBOY_ARXIV_RSS`): one request per
 * category, at arXiv's pace. A feed holds only the latest announcement, so there is no
 * range to catch up on; the cursor records the newest announcement day ingested.
 */
export function arxivRssSource(baseUrl: string, categories: readonly string[], deps: FetchingSourceDeps): FetchingSource {
  const name = 'arxiv-rss';
  let stats: SourcePollStats = emptyStats();
  const waiting = new Map<string, { listedOn: string | null; remember: () => Promise<void> }>();
  let newest: string | null = null;

  async function* poll(context: PollContext): AsyncIterable<PolledListing> {
    stats = emptyStats();
    newest = null;
    const client = pacedClient(deps.http, { clock: context.clock, maxBytes: context.maxListingBytes, state: deps.state, random: deps.random });
    for (const category of categories) {
      const url = arxivRssUrl(baseUrl, category);
      if (deps.dryRun) {
        stats.planned.push(url);
        continue;
      }
      const outcome = await fetchListing(client, url, context.clock, stats);
      if (outcome.kind === 'failed') {
        yield outcome.listing;
      } else if (outcome.kind === 'listing') {
        waiting.set(url, { listedOn: outcome.parsed.listedOn, remember: outcome.remember });
        yield outcome.listing;
      } else if (outcome.kind === 'empty') {
        // A feed of only replacements (or a quiet day) leaves nothing to store.
        await outcome.remember();
      }
    }
    if (deps.dryRun) return;
    const cursor = await readCursor(deps.state, name);
    // Set by ack while this generator was suspended at a yield.
    const ingestedDay = newest as string | null;
    if (ingestedDay && (!cursor || ingestedDay > cursor)) await writeCursor(deps.state, name, ingestedDay);
    await recordPollOutcome(deps.state, name, context.clock.now(), stats.error);
  }

  const ack = async (listing: PolledListing, status: ListingOutcomeStatus) => {
    const entry = waiting.get(listing.origin);
    if (!entry) return;
    waiting.delete(listing.origin);
    if (status === 'failed') {
      stats.error ??= `${listing.origin}: could not be ingested`;
      return;
    }
    await entry.remember();
    if (entry.listedOn && (!newest || entry.listedOn > newest)) newest = entry.listedOn;
  };

  return { name, poll, ack, stats: () => stats };
}
