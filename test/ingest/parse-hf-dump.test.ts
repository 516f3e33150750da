import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseListing } from '../../src/ingest/parse.ts';
import { DUMP_FILES } from '../helpers/paths.ts';

const now = new Date('2026-11-23T08:00:00Z');
const parseFile = (index: number) => parseListing(readFileSync(DUMP_FILES[index]!), { now });
const find = <T extends { title: string }>(papers: T[], prefix: string) => papers.find((paper) => paper.title.startsWith(prefix));

describe('Hugging Face Daily Papers text dumps (the five samples)', () => {
  it.each([
    [0, 20, '2026-03-14'],
    [1, 56, '2026-11-03'],
    [2, 65, '2026-03-19'],
    [3, 87, '2026-04-16'],
    [4, 62, '2026-03-14'],
  ])('dump %i has %i papers listed on %s, with no warnings', (index, count, listedOn) => {
    const listing = parseFile(index);
    expect(listing.format).toBe('hf-dump');
    expect(listing.papers).toHaveLength(count);
    expect(listing.listedOn).toBe(listedOn);
    expect(listing.warnings).toEqual([]);
  });

  it('reads 290 blocks in all, every one with a title and an abstract', () => {
    const papers = DUMP_FILES.flatMap((_, index) => parseFile(index).papers);
    expect(papers).toHaveLength(290);
    expect(papers.filter((paper) => paper.title === '' || paper.abstract.length < 100)).toEqual([]);
  });

  it('reads an organization line instead of an author count, and a trailing comment count', () => {
    const paper = find(parseFile(1).papers, 'Socratic-Zero')!;
    expect(paper).toMatchObject({
      title: 'Socratic-Zero : Bootstrapping Reasoning via Data-Free Agent Co-evolution',
      organization: 'alibaba-inc',
      authorCount: null,
      publishedOn: '2026-09-29',
      comments: 1,
      arxivId: null,
    });
    expect(paper.abstract.startsWith('Recent breakthroughs in large language models (LLMs) on reasoning tasks')).toBe(true);
  });

  it('reads an author count and a full date', () => {
    expect(parseFile(1).papers[0]).toMatchObject({
      title: 'Training Deep Surrogate Models with Large Scale Online Learning',
      authorCount: 5,
      publishedOn: '2023-06-28',
      comments: null,
      organization: null,
    });
  });

  it('reads a dated comment count ("Jun 18, 2024 2")', () => {
    expect(find(parseFile(1).papers, 'DART-Math')).toMatchObject({ authorCount: 5, publishedOn: '2024-06-18', comments: 2 });
  });

  it('dates a no-year day in the listing year, or the year before when that would be after the listing', () => {
    // Listed Nov 3 2026: "Aug 12" is 2026-08-12; "Apr 13 2" is 2026-04-13 with 2 comments.
    expect(find(parseFile(1).papers, 'Bridging Formal Language')).toMatchObject({ publishedOn: '2026-08-12', authorCount: 6 });
    expect(find(parseFile(1).papers, 'Executable Functional Abstractions')).toMatchObject({ publishedOn: '2026-04-13', comments: 2 });
  });

  it('keeps a block with no metadata at all', () => {
    const paper = find(parseFile(1).papers, 'DeepMath-103K')!;
    expect(paper).toMatchObject({ authorCount: null, organization: null, publishedOn: null, comments: null });
    expect(paper.abstract.endsWith('https://github.com/zwhe99/DeepMath.')).toBe(true);
    // The next block is read as a paper of its own, not as part of this abstract.
    const papers = parseFile(1).papers;
    expect(papers[papers.indexOf(paper) + 1]!.title.startsWith('DeepMath-103K')).toBe(false);
  });

  it('keeps LaTeX leftovers and drops the space before a final period', () => {
    const papers = parseFile(0).papers;
    expect(find(papers, 'A Nearly-Optimal Bound')!.abstract).toContain('ell_infty guarantees');
    expect(papers.at(-1)!.abstract.endsWith('https://github.com/mathllm/MathCoder2.')).toBe(true);
  });
});

const block = (title: string, abstract: string, metadata = '') => `${title}\n\n${abstract}\n\n${metadata}`;
const HEADER = 'new\n\nGet trending papers in your email inbox!\n\nSubscribe\n\nbyAK and the research community\n\nNov 3\n\n';
const ABSTRACT_A = 'We study a thing in depth. It works well on all the benchmarks we tried, and the code is public.';
const ABSTRACT_B = 'We propose another thing. Experiments show gains of 10sim100times over the baseline~(DMs).';

describe('dump variants', () => {
  it('reads CRLF line endings, a BOM, trailing whitespace and a header in another order', () => {
    const lines = ['\uFEFFSubscribe  ', '', 'Daily Papers', '', 'new\t', '', 'Get trending papers in your email inbox once a day!', '', 'Mar 14   ', ''];
    const text = [...lines, 'Paper A  ', '', `${ABSTRACT_A} `, ' ', '  • 10 authors ', '·', 'Jun 18, 2024 2', ''].join('\r\n');
    const listing = parseListing(text, { now });
    expect(listing.listedOn).toBe('2026-03-14');
    expect(listing.papers).toHaveLength(1);
    expect(listing.papers[0]).toMatchObject({ title: 'Paper A', abstract: ABSTRACT_A, authorCount: 10, publishedOn: '2024-06-18', comments: 2 });
  });

  it('dates a no-year day after the listing day in the year before', () => {
    const listing = parseListing(`${HEADER}${block('Paper A', ABSTRACT_A, '  • 2 authors\n·\nDec 18')}`, { now });
    expect(listing.papers[0]!.publishedOn).toBe('2025-12-18');
  });

  it('reads a listing date later in the year than today as last year', () => {
    const listing = parseListing(`new\n\nDec 24\n\n${block('Paper A', ABSTRACT_A)}`, { now });
    expect(listing.listedOn).toBe('2025-12-24');
  });

  it('reads metadata that lost its blank line, and an abstract of several paragraphs', () => {
    const text = `${HEADER}Paper A\n\n${ABSTRACT_A}\n  • 3 authors\n·\nApr 7 1\n\nPaper B\n\n${ABSTRACT_B}\n\nA second paragraph of the abstract that is long enough to be prose, with a closing period.\n\nPaper C\n\n${ABSTRACT_A}`;
    const listing = parseListing(text, { now });
    expect(listing.papers.map((paper) => paper.title)).toEqual(['Paper A', 'Paper B', 'Paper C']);
    expect(listing.papers[0]).toMatchObject({ abstract: ABSTRACT_A, authorCount: 3, publishedOn: '2026-04-07', comments: 1 });
    expect(listing.papers[1]!.abstract).toBe(`${ABSTRACT_B}\n\nA second paragraph of the abstract that is long enough to be prose, with a closing period.`);
  });

  it('reads metadata split over several paragraphs', () => {
    const listing = parseListing(`${HEADER}Paper A\n\n${ABSTRACT_A}\n\n  • 4 authors\n\n·\n\nOct 2, 2023\n\nPaper B\n\n${ABSTRACT_B}`, { now });
    expect(listing.papers.map((paper) => [paper.title, paper.authorCount, paper.publishedOn])).toEqual([
      ['Paper A', 4, '2023-10-02'],
      ['Paper B', null, null],
    ]);
    expect(listing.warnings).toEqual([]);
  });

  it('keeps a truncated last block with a warning and flags its abstract as partial', () => {
    const text = `${HEADER}${block('Paper A', ABSTRACT_A)}Paper B\n\nWe propose a method that impro`;
    const listing = parseListing(text, { now });
    expect(listing.papers.map((paper) => [paper.title, paper.truncated])).toEqual([
      ['Paper A', false],
      ['Paper B', true],
    ]);
    expect(listing.warnings).toEqual([{ line: 15, message: 'last block "Paper B" is truncated; kept with a partial abstract' }]);
  });

  it('drops a last block cut off before its abstract, with a warning', () => {
    const listing = parseListing(`${HEADER}${block('Paper A', ABSTRACT_A)}Paper B, cut off in the ti`, { now });
    expect(listing.papers.map((paper) => paper.title)).toEqual(['Paper A']);
    expect(listing.warnings).toEqual([{ line: 15, message: 'truncated last block "Paper B, cut off in the ti" has no abstract; skipped' }]);
  });
});

describe('a dump read from bytes in pieces', () => {
  it('reads as the same text decoded whole: a BOM, CRLF, non-ASCII and a line longer than a piece across piece boundaries', () => {
    const dumps = DUMP_FILES.map((path) => readFileSync(path, 'utf8'));
    // Over 200 KB: many 32 KB pieces, each cut after a line break somewhere in a block (the
    // later dumps' headers read as blocks of their own: 290 papers and 8 such, plus the long one).
    const text = `\uFEFF${dumps.join('\n\n').replace(/\n/g, '\r\n')}\r\n\r\nA title before a long abstract\r\n\r\n${'Wörds wrapped nowhere. '.repeat(4000)}\r\n`;
    const fromBytes = parseListing(Buffer.from(text), { now });
    expect(fromBytes).toEqual(parseListing(text, { now }));
    expect(fromBytes.papers).toHaveLength(299);
    expect(fromBytes.papers.at(-1)!.abstract).toHaveLength('Wörds wrapped nowhere. '.length * 4000 - 1);
  });
});
