import { describe, expect, it } from 'vitest';
import { selectDigest, selectFromWindow, type SelectionRules } from '../../src/digest/select.ts';
import type { CandidateRow, WindowPaper } from '../../src/model/paper.ts';

const TOPICS = ['reasoning', 'code', 'agents', 'data', 'other'];

let nextId = 1;
/** One candidate paper filed under `topics` (primary first), as the store returns it. */
function paper(topics: string[], fields: Partial<CandidateRow> = {}): CandidateRow[] {
  const paperId = fields.paperId ?? nextId++;
  return topics.map((topicId, rank) => ({
    paperId,
    key: `p${paperId}`,
    arxivId: null,
    title: `Paper ${paperId}`,
    abstract: 'An abstract.',
    authors: [],
    authorCount: 3,
    organization: null,
    publishedOn: '2026-11-01',
    upvotes: null,
    comments: null,
    links: {},
    firstSeen: '2026-11-20T07:00:00.000Z',
    listedOn: '2026-11-20',
    listingPosition: null,
    ...fields,
    topicId,
    topicRank: rank,
    topicScore: 20 - rank * 5,
  }));
}

const rules = (overrides: Partial<SelectionRules> = {}): SelectionRules => ({
  topics: null,
  topicOrder: TOPICS,
  maxPerTopic: 10,
  maxPerDigest: 50,
  now: new Date('2026-11-21T07:00:00.000Z'),
  carriedBefore: null,
  ...overrides,
});

const shape = (selection: ReturnType<typeof selectDigest>) =>
  selection.sections.map((section) => [section.topicId, section.papers.map((p) => p.paperId), section.moreCount]);

describe('selectDigest', () => {
  it('keeps only papers in the subscriber topics, by primary or secondary topic', () => {
    const candidates = [
      ...paper(['reasoning'], { paperId: 1 }),
      ...paper(['data', 'code'], { paperId: 2 }),
      ...paper(['agents'], { paperId: 3 }),
    ];
    expect(shape(selectDigest(candidates, rules({ topics: ['code', 'reasoning'] })))).toEqual([
      ['reasoning', [1], 0],
      ['code', [2], 0],
    ]);
  });

  it('puts each paper once, under its best-matching followed topic', () => {
    const candidates = paper(['code', 'agents', 'reasoning'], { paperId: 1 });
    expect(shape(selectDigest(candidates, rules()))).toEqual([['code', [1], 0]]);
    expect(shape(selectDigest(candidates, rules({ topics: ['reasoning', 'agents'] })))).toEqual([['agents', [1], 0]]);
  });

  it('ranks a recent Hugging Face paper with upvotes above an old arXiv paper, whatever was ingested last', () => {
    const candidates = [
      ...paper(['code'], { paperId: 1, upvotes: 12, comments: 2, listedOn: '2026-11-20', publishedOn: '2026-11-18', listingPosition: 4 }),
      // An arXiv search feed dated today that returns a 2012 paper: listed today, published long ago.
      ...paper(['code'], { paperId: 2, upvotes: null, listedOn: '2026-11-21', publishedOn: '2012-03-05', listingPosition: 0, firstSeen: '2026-11-21T06:00:00.000Z' }),
    ];
    const [section] = selectDigest(candidates, rules()).sections;
    expect(section!.papers.map((p) => p.paperId)).toEqual([1, 2]);
    expect(section!.papers[0]!.score).toEqual({ engagement: 8.986, recency: 8.799, position: 0.2, topic: 2, total: 19.985 });
    expect(section!.papers[1]!.score).toEqual({ engagement: 0, recency: 0, position: 1, topic: 2, total: 3 });
  });

  it('puts a paper listed today above the same paper listed a month ago', () => {
    const candidates = [...paper(['code'], { paperId: 1, listedOn: '2026-10-21' }), ...paper(['code'], { paperId: 2, listedOn: '2026-11-21' })];
    expect(shape(selectDigest(candidates, rules()))).toEqual([['code', [2, 1], 0]]);
  });

  it('breaks ties by listing order', () => {
    const candidates = [10, 11, 12, 13].flatMap((paperId) => paper(['code'], { paperId, upvotes: 5 }));
    const positioned = candidates.map((row, index) => ({ ...row, listingPosition: [3, 0, 7, 1][index]! }));
    // Equal in every other signal: the earlier place in the listing wins.
    expect(shape(selectDigest(positioned, rules()))).toEqual([['code', [11, 13, 10, 12], 0]]);
    // Equal in everything, position unknown: still a stable order (paper id).
    expect(shape(selectDigest(candidates, rules()))).toEqual([['code', [10, 11, 12, 13], 0]]);
  });

  it('counts a stronger topic match', () => {
    const candidates = [...paper(['code'], { paperId: 1 }), ...paper(['code'], { paperId: 2 }).map((row) => ({ ...row, topicScore: 40 }))];
    expect(shape(selectDigest(candidates, rules()))).toEqual([['code', [2, 1], 0]]);
  });

  it('caps each topic and notes how many more, when the digest is full', () => {
    const candidates = Array.from({ length: 13 }, (_, i) => paper(['code'], { paperId: 100 + i, upvotes: 100 - i })).flat();
    const selection = selectDigest(candidates, rules({ maxPerTopic: 10, maxPerDigest: 10 }));
    expect(shape(selection)).toEqual([['code', Array.from({ length: 10 }, (_, i) => 100 + i), 3]]);
    expect(selection.sections[0]!.rest.map((p) => p.paperId)).toEqual([110, 111, 112]);
    expect(selection.omittedCount).toBe(3);
  });

  it('lets a topic past its cap fill room the digest still has', () => {
    const candidates = [
      ...Array.from({ length: 13 }, (_, i) => paper(['code'], { paperId: 100 + i, upvotes: 100 - i })).flat(),
      ...paper(['agents'], { paperId: 200, upvotes: 1 }),
    ];
    const selection = selectDigest(candidates, rules({ maxPerTopic: 10, maxPerDigest: 12 }));
    // agents (ranked last) keeps its place; code's cap gives way to the two free slots.
    expect(shape(selection)).toEqual([
      ['code', Array.from({ length: 11 }, (_, i) => 100 + i), 2],
      ['agents', [200], 0],
    ]);
    expect(selection.omittedCount).toBe(2);
  });

  it('fills the digest in rank order across topics, per-topic caps first', () => {
    const many = (topic: string, first: number, count: number, top: number) =>
      Array.from({ length: count }, (_, i) => paper([topic], { paperId: first + i, upvotes: top - i * 10 })).flat();
    const candidates = [...many('reasoning', 100, 8, 400), ...many('code', 200, 8, 395), ...many('agents', 300, 1, 1)];
    const selection = selectDigest(candidates, rules({ maxPerTopic: 3, maxPerDigest: 8 }));
    expect(shape(selection)).toEqual([
      ['reasoning', [100, 101, 102, 103], 4],
      ['code', [200, 201, 202], 5],
      ['agents', [300], 0],
    ]);
    expect(selection.paperIds).toEqual([100, 101, 102, 103, 200, 201, 202, 300]);
    expect(selection.omittedCount).toBe(9);
  });

  it('marks papers first seen by the previous digest as carried over', () => {
    const candidates = [...paper(['code'], { paperId: 1, firstSeen: '2026-11-19T07:00:00.000Z' }), ...paper(['code'], { paperId: 2, firstSeen: '2026-11-20T09:00:00.000Z' })];
    const selection = selectDigest(candidates, rules({ carriedBefore: '2026-11-20T08:00:00.000Z' }));
    expect(selection.sections[0]!.papers.map((p) => [p.paperId, p.carried])).toEqual([[1, true], [2, false]]);
    expect(selection.carriedCount).toBe(1);
  });

  it('follows taxonomy order for sections', () => {
    const candidates = [...paper(['other'], { paperId: 1 }), ...paper(['reasoning'], { paperId: 2 }), ...paper(['data'], { paperId: 3 })];
    expect(selectDigest(candidates, rules()).sections.map((section) => section.topicId)).toEqual(['reasoning', 'data', 'other']);
  });

  it('is empty when nothing matches', () => {
    const none = { sections: [], paperIds: [], omittedCount: 0, carriedCount: 0 };
    expect(selectDigest([], rules())).toEqual(none);
    expect(selectDigest(paper(['agents']), rules({ topics: ['code'] }))).toEqual(none);
  });
});

/** Candidate rows (one per paper and topic) as the window read returns them: one paper, its topics listed. */
function asWindow(rows: readonly CandidateRow[]): WindowPaper[] {
  const papers = new Map<number, WindowPaper>();
  for (const { topicId, topicRank, topicScore, ...fields } of rows) {
    const paper = papers.get(fields.paperId) ?? { ...fields, topics: [] };
    paper.topics.push({ topicId, rank: topicRank, score: topicScore });
    papers.set(fields.paperId, paper);
  }
  return [...papers.values()];
}

describe('selectFromWindow', () => {
  // Papers 1–30 across topics, some held, some first seen before the subscriber's window.
  const rows = Array.from({ length: 30 }, (_, index) =>
    paper([TOPICS[index % 5]!, TOPICS[(index + 2) % 5]!], {
      paperId: 100 + index,
      upvotes: (index * 7) % 11,
      listingPosition: index % 4,
      firstSeen: `2026-11-${String(10 + (index % 10)).padStart(2, '0')}T07:00:00.000Z`,
    }),
  ).flat();
  const since = '2026-11-12T07:00:00.000Z';
  const held = new Set([101, 105, 117]);

  it('chooses what selectDigest chooses from the subscriber\'s own candidate rows', () => {
    // What digestCandidates would return for this subscriber: new since their window, not held.
    const own = rows.filter((row) => row.firstSeen > since && !held.has(row.paperId));
    for (const overrides of [{}, { topics: ['code', 'data'] }, { maxPerTopic: 2, maxPerDigest: 7 }, { carriedBefore: '2026-11-15T07:00:00.000Z', topics: ['other'] }]) {
      const expected = selectDigest(own, rules(overrides));
      expect(selectFromWindow(asWindow(rows), { ...rules(overrides), since, held })).toEqual(expected);
      expect(expected.paperIds.length).toBeGreaterThan(0);
    }
  });

  it('leaves out held papers and papers first seen by the window start', () => {
    const selection = selectFromWindow(asWindow(rows), { ...rules({ maxPerTopic: 50 }), since, held });
    expect(selection.paperIds.filter((id) => held.has(id))).toEqual([]);
    expect(selection.paperIds.sort()).toEqual(
      [...new Set(rows.filter((row) => row.firstSeen > since && !held.has(row.paperId)).map((row) => row.paperId))].sort(),
    );
  });
});
