import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseListing } from '../../src/ingest/parse.ts';
import { DUMP_FILES, REPO_ROOT } from '../helpers/paths.ts';

/** The ingest defects that real external data showed (issue 10), and the arXiv RSS parser. */

const now = new Date('2026-07-24T08:00:00Z');
const fixture = (path: string) => readFileSync(join(REPO_ROOT, 'test/fixtures', path));
const reasonOf = (input: string | Uint8Array) => {
  try {
    parseListing(input, { now });
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the listing to be rejected');
};

describe('Hugging Face API responses as the real API sends them', () => {
  it('keeps an author marked hidden: the list and the count agree', () => {
    const paper = parseListing(fixture('hf-daily-papers/2026-07-21.json'), { now }).papers.find((candidate) => candidate.arxivId === '2607.18227')!;
    expect(paper.authors).toHaveLength(3);
    expect(paper.authors).toContain('Dingyun Zhang');
    expect(paper.authorCount).toBe(3);
  });

  it('dates the listing by paper.submittedOnDailyAt, not the entry publishedAt hours earlier', () => {
    // Every entry of 07-14 has submittedOnDailyAt 07-14; their publishedAt run from 06-30 to 07-13.
    expect(parseListing(fixture('hf-daily-papers/2026-07-14.json'), { now }).listedOn).toBe('2026-07-14');
    expect(parseListing(fixture('hf-daily-papers/2026-07-21.json'), { now }).listedOn).toBe('2026-07-21');
  });

  it('falls back to the entry publishedAt in older responses without submittedOnDailyAt', () => {
    const entries = JSON.parse(fixture('hf-daily-papers/2026-07-14.json').toString('utf8')) as { paper: Record<string, unknown>; publishedAt: string }[];
    for (const entry of entries) delete entry.paper.submittedOnDailyAt;
    expect(parseListing(JSON.stringify(entries), { now }).listedOn).toBe('2026-07-13');
  });
});

describe('a truncated arXiv Atom feed', () => {
  const page = fixture('arxiv-api/query-testing-start0-max10.atom.xml').toString('utf8');

  it('keeps its complete entries, with a warning naming the cut', () => {
    const cut = page.slice(0, page.indexOf('<entry>', page.indexOf('</entry>', page.indexOf('</entry>') + 1)) + 200);
    const listing = parseListing(cut, { now });
    expect(listing.papers.map((paper) => paper.arxivId)).toEqual(['2202.12139', '2405.13786']);
    expect(listing.warnings).toHaveLength(1);
    expect(listing.warnings[0]!.message).toMatch(/^the feed is cut off \(XML line \d+: .+\); kept the 2 complete entries before it$/);
  });

  it('is still an error when no entry is complete', () => {
    expect(reasonOf(page.slice(0, page.indexOf('</entry>')))).toMatch(/^XML line \d+: /);
  });

  it('an arXiv error feed is an error with arXiv message, never a paper', () => {
    expect(reasonOf(fixture('arxiv-api/error.atom.xml'))).toBe('an arXiv API error feed: incorrect id format for 1234.12345');
  });
});

describe('a dump copied without blank lines between blocks', () => {
  const dump = readFileSync(DUMP_FILES[1]!, 'utf8');
  const dense = dump.replace(/\n\s*\n/g, '\n');

  it('parses to the same papers as the dump with its blank lines, with a warning', () => {
    const original = parseListing(dump, { now });
    const listing = parseListing(dense, { now });
    expect(listing.papers.length).toBeGreaterThan(20);
    expect(listing.papers).toEqual(original.papers);
    expect(listing.listedOn).toBe(original.listedOn);
    expect(listing.warnings.map((warning) => warning.message)).toContain('the dump has no blank lines between its blocks (a copy that lost them); read line by line');
  });

  it('that holds no title before an abstract fails with a reason that says so', () => {
    const header = 'new\nGet trending papers in your email inbox!\nSubscribe\nbyAK and the research community\nMar 14\n';
    const reason = reasonOf(`${header}${'word '.repeat(100)}\n${'more words '.repeat(60)}\n`);
    expect(reason).toBe('no paper blocks found: the dump has no blank lines between its blocks, and read line by line it holds no title followed by an abstract');
    expect(reason).not.toContain('cut off');
  });
});

describe('arXiv RSS feeds', () => {
  it('reads RSS 2.0 (rss.arxiv.org): new and cross-listed papers, replacements skipped', () => {
    const listing = parseListing(fixture('arxiv-rss/cs.LG.rss.xml'), { now });
    expect(listing.format).toBe('arxiv-rss');
    expect(listing.listedOn).toBe('2026-07-21');
    expect(listing.warnings).toEqual([]);
    expect(listing.papers).toHaveLength(2);
    expect(listing.papers[0]).toMatchObject({
      arxivId: '2607.18001',
      title: 'Sparse Mixtures of Adapters for Continual Learning',
      abstract: 'We study continual learning with sparse mixtures of low-rank adapters & show that routing keeps old tasks intact.',
      authors: ['Ada Lovelace', 'Alan Turing'],
      authorCount: 2,
      publishedOn: '2026-07-21',
      categories: ['cs.LG', 'cs.AI'],
    });
    expect(listing.papers[1]).toMatchObject({ arxivId: '2607.17555', authors: ['Grace Hopper'], categories: ['eess.AS', 'cs.LG'] });
  });

  it('reads the older RSS 1.0/RDF: title suffix removed, HTML in abstract and authors reduced to text, UPDATED skipped', () => {
    const listing = parseListing(fixture('arxiv-rss/cs.LG.rdf.xml'), { now });
    expect(listing.format).toBe('arxiv-rss');
    expect(listing.listedOn).toBe('2023-03-15');
    expect(listing.papers).toHaveLength(2);
    expect(listing.papers[0]).toMatchObject({
      arxivId: '2303.07345',
      title: 'Graph Transformers at Scale',
      abstract: 'We scale graph transformers to billions of edges.',
      authors: ['Emmy Noether', 'Carl Gauss'],
      categories: ['cs.LG'],
    });
    expect(listing.papers[1]).toMatchObject({ arxivId: '2303.07100', title: 'Learning Rates Without Tuning', authors: ['Augustin Cauchy'], categories: ['stat.ML'] });
  });
});
