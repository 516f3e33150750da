import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { titleKey } from '../../src/ingest/identity.ts';
import { parseListing } from '../../src/ingest/parse.ts';

/** Real paper text for rendering tests and benchmarks: the sample dumps shipped in data/listings. */

export const SAMPLE_LISTINGS_DIR = resolve(import.meta.dirname, '../../data/listings');

export interface SamplePaper {
  title: string;
  abstract: string;
  authorCount: number | null;
  organization: string | null;
  publishedOn: string | null;
  comments: number | null;
}

/** Listing years are read against this day, so fixtures do not change with the calendar. */
const FIXTURE_DAY = new Date('2025-12-01T00:00:00Z');

/** Distinct papers (first occurrence by title key) from every dump in `dir`, in file order. */
export function loadSamplePapers(dir = SAMPLE_LISTINGS_DIR): SamplePaper[] {
  const byTitle = new Map<string, SamplePaper>();
  for (const file of readdirSync(dir).filter((name) => name.endsWith('.txt')).sort()) {
    for (const paper of parseListing(readFileSync(join(dir, file)), { now: FIXTURE_DAY }).papers) {
      const key = titleKey(paper.title);
      if (!byTitle.has(key)) {
        const { title, abstract, authorCount, organization, publishedOn, comments } = paper;
        byTitle.set(key, { title, abstract, authorCount, organization, publishedOn, comments });
      }
    }
  }
  return [...byTitle.values()];
}
