import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { explainDocument, explainText } from '../../src/cli/commands/explain.ts';
import type { StoredPaper } from '../../src/model/paper.ts';
import { createClassifier } from '../../src/topics/classify.ts';
import { loadTaxonomy } from '../../src/topics/taxonomy.ts';

const taxonomy = loadTaxonomy(join(import.meta.dirname, '../../data/topics.yaml'));
const classify = createClassifier(taxonomy);
const NOW = new Date('2026-07-27T00:00:00.000Z');

function stored(fields: Partial<StoredPaper>): StoredPaper {
  return {
    id: 1, key: '2607.00001', arxivId: '2607.00001', titleKey: 'x', title: 'x', abstract: '', authors: [], authorCount: null,
    organization: null, publishedOn: null, upvotes: null, comments: null, keywords: [], categories: [], links: {},
    firstSeen: '2026-07-20T06:00:00.000Z', lastSeen: '2026-07-20T06:00:00.000Z', primaryTopic: null, ...fields,
  };
}

describe('paperboy explain output', () => {
  it('prints the topic scores, then the parts of the ranking score under each filed topic', () => {
    const paper = stored({ title: 'Neural operators for PDEs', upvotes: 50, comments: 3, publishedOn: '2026-07-18' });
    const document = explainDocument(paper, { listedOn: '2026-07-20', position: 2 }, classify(paper), taxonomy, NOW);
    // engagement 2·log2(51) + log2(4); recency 10·0.5^(7/7); position 1/3; topic match 3·24/34.
    expect(document.ranking).toEqual([{ topic: 'sciml', engagement: 13.345, recency: 5, position: 0.333, topic_match: 2.118, total: 20.796 }]);
    expect(explainText(document)).toBe(
      [
        '2607.00001  Neural operators for PDEs',
        'filed under sciml',
        '',
        'sciml              24  PDE (title); neural operator (title)',
        '',
        'ranking score in a digest, as of 2026-07-27T00:00:00.000Z:',
        'sciml          20.796  = engagement 13.345 + recency 5 + listing position 0.333 + topic match 2.118',
      ].join('\n'),
    );
  });

  it('lists `other` after the topics that scored when none reached minScore, and an unlisted dump paper ranks on recency alone', () => {
    const paper = stored({ title: 'On knots', abstract: 'We run a simulation.' });
    const document = explainDocument(paper, { listedOn: null, position: null }, classify(paper), taxonomy, NOW);
    expect(explainText(document)).toBe(
      [
        '2607.00001  On knots',
        'filed under other',
        '',
        'sciml               2  simulation (abstract)',
        'other               0  no topic matched',
        '',
        'ranking score in a digest, as of 2026-07-27T00:00:00.000Z:',
        // First seen 2026-07-20T06:00Z: 6.75 days old, recency 10·0.5^(6.75/7); no topic score under other.
        'other           5.125  = engagement 0 + recency 5.125 + listing position 0 + topic match 0',
      ].join('\n'),
    );
  });
});
