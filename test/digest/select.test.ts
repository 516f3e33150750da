import { describe, expect, it } from 'vitest';
import { selectDigest, type SelectionRules } from '../../src/digest/select.ts';
import type { CandidateRow } from '../../src/model/paper.ts';

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
    firstSeen: '2026-11-20T07:00:00.000Z',
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

  it('ranks by upvotes, then most recently seen, then most recently published', () => {
    const candidates = [
      ...paper(['code'], { paperId: 1, upvotes: 5 }),
      ...paper(['code'], { paperId: 2, upvotes: 40 }),
      ...paper(['code'], { paperId: 3, upvotes: null, firstSeen: '2026-11-21T07:00:00.000Z' }),
      ...paper(['code'], { paperId: 4, upvotes: null, firstSeen: '2026-11-20T07:00:00.000Z', publishedOn: '2026-11-10' }),
      ...paper(['code'], { paperId: 5, upvotes: null, firstSeen: '2026-11-20T07:00:00.000Z', publishedOn: '2026-10-01' }),
    ];
    expect(shape(selectDigest(candidates, rules()))).toEqual([['code', [2, 1, 3, 4, 5], 0]]);
  });

  it('caps each topic and notes how many more', () => {
    const candidates = Array.from({ length: 13 }, (_, i) => paper(['code'], { paperId: 100 + i, upvotes: 100 - i })).flat();
    const selection = selectDigest(candidates, rules({ maxPerTopic: 10 }));
    expect(shape(selection)).toEqual([['code', Array.from({ length: 10 }, (_, i) => 100 + i), 3]]);
    expect(selection.omittedCount).toBe(3);
  });

  it('caps the digest round-robin across topics so every topic keeps its best papers', () => {
    const many = (topic: string, first: number, count: number) =>
      Array.from({ length: count }, (_, i) => paper([topic], { paperId: first + i, upvotes: 100 - i })).flat();
    const candidates = [...many('reasoning', 100, 8), ...many('code', 200, 8), ...many('agents', 300, 1)];
    const selection = selectDigest(candidates, rules({ maxPerDigest: 7 }));
    expect(shape(selection)).toEqual([
      ['reasoning', [100, 101, 102], 5],
      ['code', [200, 201, 202], 5],
      ['agents', [300], 0],
    ]);
    expect(selection.paperIds).toEqual([100, 101, 102, 200, 201, 202, 300]);
    expect(selection.omittedCount).toBe(10);
  });

  it('follows taxonomy order for sections', () => {
    const candidates = [...paper(['other'], { paperId: 1 }), ...paper(['reasoning'], { paperId: 2 }), ...paper(['data'], { paperId: 3 })];
    expect(selectDigest(candidates, rules()).sections.map((section) => section.topicId)).toEqual(['reasoning', 'data', 'other']);
  });

  it('is empty when nothing matches', () => {
    expect(selectDigest([], rules())).toEqual({ sections: [], paperIds: [], omittedCount: 0 });
    expect(selectDigest(paper(['agents']), rules({ topics: ['code'] }))).toEqual({ sections: [], paperIds: [], omittedCount: 0 });
  });
});
