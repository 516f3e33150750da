import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isPaperboyError } from '../../src/errors.ts';
import { parseListing } from '../../src/ingest/parse.ts';
import { HF_API_SAMPLE } from '../helpers/paths.ts';

const now = new Date('2026-11-23T08:00:00Z');
const sample = () => JSON.parse(readFileSync(HF_API_SAMPLE, 'utf8')) as Record<string, any>[];

describe('Hugging Face API JSON', () => {
  it('reads the real 14-entry response', () => {
    const listing = parseListing(readFileSync(HF_API_SAMPLE), { now });
    expect(listing.format).toBe('hf-api');
    expect(listing.listedOn).toBe('2024-10-25');
    expect(listing.papers).toHaveLength(14);
    expect(listing.warnings).toEqual([]);
    expect(listing.papers.map((paper) => paper.arxivId).slice(0, 3)).toEqual(['2410.17243', '2410.16251', '2410.18533']);
  });

  it('unwraps hard-wrapped titles and summaries and keeps authors, upvotes and comments', () => {
    const paper = parseListing(readFileSync(HF_API_SAMPLE), { now }).papers[0]!;
    expect(paper.title).toBe('Breaking the Memory Barrier: Near Infinite Batch Size Scaling for Contrastive Loss');
    expect(paper.abstract.startsWith('Contrastive loss is a powerful approach for representation learning, where larger batch sizes')).toBe(true);
    expect(paper.abstract).not.toMatch(/\n/);
    expect(paper.authors).toEqual(['Zesen Cheng', 'Hang Zhang', 'Kehan Li', 'Sicong Leng', 'Zhiqiang Hu', 'Fei Wu', 'Deli Zhao', 'Xin Li', 'Lidong Bing']);
    expect(paper).toMatchObject({ authorCount: 9, upvotes: 64, comments: 3, publishedOn: '2024-10-22', keywords: [] });
  });

  it('reads the newer fields when present: ai_keywords, organization, GitHub repo, project page', () => {
    const entries = sample().slice(0, 1);
    Object.assign(entries[0]!.paper, {
      ai_keywords: ['contrastive loss', 'tile-based computation'],
      organization: { name: 'alibaba', fullname: 'Alibaba Group' },
      githubRepo: 'https://github.com/DAMO-NLP-SG/Inf-CLIP',
      projectPage: 'https://example.org/inf-cl',
      submittedOnDailyAt: '2024-10-25T00:00:00.000Z',
    });
    const paper = parseListing(JSON.stringify(entries), { now }).papers[0]!;
    expect(paper).toMatchObject({
      keywords: ['contrastive loss', 'tile-based computation'],
      organization: 'Alibaba Group',
      links: { github: 'https://github.com/DAMO-NLP-SG/Inf-CLIP', project: 'https://example.org/inf-cl' },
    });
  });

  it('keeps authors marked hidden (the flag hides the paper from their HF profile): the list and the count agree', () => {
    const entries = sample().slice(0, 1);
    entries[0]!.paper.authors[1].hidden = true;
    const paper = parseListing(JSON.stringify(entries), { now }).papers[0]!;
    expect(paper.authors[1]).toBe('Hang Zhang');
    expect(paper.authorCount).toBe(paper.authors.length);
  });

  it('names the entry and field at fault in a malformed response', () => {
    const entries = sample().slice(0, 3);
    entries[2]!.paper.upvotes = 'many';
    let caught: unknown;
    try {
      parseListing(JSON.stringify(entries), { now });
    } catch (error) {
      caught = error;
    }
    expect(isPaperboyError(caught, 'INPUT_MALFORMED')).toBe(true);
    expect((caught as Error).message).toBe('entry [2].paper.upvotes: Invalid input: expected number, received string');
  });
});
