import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isPaperboyError } from '../../src/errors.ts';
import { loadTaxonomy, parseTaxonomy } from '../../src/topics/taxonomy.ts';

const DEFAULT_FILE = join(import.meta.dirname, '../../data/topics.yaml');

/** The ids of TAXONOMY.md, in its order: released ids never change. */
const RELEASED_IDS = [
  'reasoning',
  'code',
  'agents',
  'data',
  'efficiency',
  'multimodal',
  'generative',
  'rl-alignment',
  'sciml',
  'optimization',
  'graphs',
  'theory',
  'nlp',
  'speech-audio',
  'robotics',
  'other',
];

const VALID = `settings:
  minScore: 3
topics:
  - id: alpha
    name: Alpha
    description: the first topic
    terms:
      strong: [neural operator]
  - id: other
    name: Other
    description: the rest
`;

/** The one-line message parseTaxonomy throws for `text`, checking the error code on the way. */
function failure(text: string): string {
  try {
    parseTaxonomy(text, 'topics.yaml');
  } catch (error) {
    if (isPaperboyError(error, 'TAXONOMY_INVALID')) return error.message;
    throw error;
  }
  throw new Error('the taxonomy was accepted');
}

describe('the default taxonomy file', () => {
  const taxonomy = loadTaxonomy(DEFAULT_FILE);

  it('keeps the released ids, in order', () => {
    expect(taxonomy.topics.map((topic) => topic.id)).toEqual(RELEASED_IDS);
  });

  it('gives every topic but other something to match', () => {
    const empty = taxonomy.topics.filter((topic) => topic.id !== 'other' && topic.terms.strong.length === 0);
    expect(empty.map((topic) => topic.id)).toEqual([]);
  });

  it('has a 16-hex-digit version', () => {
    expect(taxonomy.version).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe('parseTaxonomy', () => {
  it('fills what the file leaves out with the values the default file spells out', () => {
    const taxonomy = parseTaxonomy(VALID.replace('settings:\n  minScore: 3\n', ''), 'topics.yaml');
    expect(taxonomy.settings).toEqual(loadTaxonomy(DEFAULT_FILE).settings);
    expect(taxonomy.settings).toEqual({
      tiers: { strong: 4, medium: 2, weak: 1 },
      fields: { title: 3, abstract: 1, keyword: 2, primaryCategory: 1, otherCategory: 0.5, titleMeans: 1.5 },
      titleParts: { means: ['via', 'using', 'through', 'by'], resume: ['for', 'towards', 'toward'] },
      minScore: 8,
      secondaryRatio: 0.5,
      yieldRatio: 0.6,
    });
    expect(taxonomy.topics[0]).toEqual({
      id: 'alpha',
      name: 'Alpha',
      description: 'the first topic',
      terms: { strong: ['neural operator'], medium: [], weak: [] },
      exclude: [],
      categories: { strong: [], medium: [], weak: [] },
      yieldsTo: [],
      yieldsToIfTitle: [],
    });
  });

  it('changes the version with any change to the content, and only then', () => {
    const first = parseTaxonomy(VALID, 'a.yaml').version;
    expect(parseTaxonomy(VALID, 'b.yaml').version).toBe(first);
    expect(parseTaxonomy(`# a comment\n${VALID}`, 'a.yaml').version).not.toBe(first);
    expect(parseTaxonomy(VALID.replace('minScore: 3', 'minScore: 4'), 'a.yaml').version).not.toBe(first);
  });

  it('rejects a duplicate id at the line of the second one', () => {
    const text = VALID.replace('id: other', 'id: alpha') + '  - id: other\n    name: Other\n    description: the rest\n';
    expect(failure(text)).toBe("topics.yaml:9: topics[1].id: duplicate id 'alpha' (first at topics[0])");
  });

  it('rejects a malformed id', () => {
    expect(failure(VALID.replace('id: alpha', 'id: Alpha_1'))).toBe(
      'topics.yaml:4: topics[0].id: must be lower-case letters, digits and hyphens, starting with a letter',
    );
  });

  it('requires an other topic, pointing at the topic list', () => {
    expect(failure(VALID.replace('id: other', 'id: rest'))).toBe(
      "topics.yaml:3: topics: a topic with id 'other' is required: papers that match no topic are filed there",
    );
  });

  it('rejects a value of the wrong type at its line', () => {
    expect(failure(VALID.replace('strong: [neural operator]', 'strong: neural operator'))).toBe(
      'topics.yaml:8: topics[0].terms.strong: Invalid input: expected array, received string',
    );
    expect(failure(VALID.replace('minScore: 3', 'minScore: high'))).toBe(
      'topics.yaml:2: settings.minScore: Invalid input: expected number, received string',
    );
  });

  it('names a missing field at the line of the entry that lacks it', () => {
    expect(failure(VALID.replace('    name: Other\n', ''))).toBe('topics.yaml:9: topics[1].name: is required (expected string)');
  });

  it('rejects an unknown field, so that a typo is not silently ignored', () => {
    expect(failure(VALID.replace('    terms:\n', '    term:\n'))).toBe('topics.yaml:7: topics[0].term: unknown field');
  });

  it('rejects two phrases of one topic that match the same words', () => {
    const text = VALID.replace('strong: [neural operator]', 'strong: [neural operator, PDE]\n      weak: [neural-operators]');
    expect(failure(text)).toBe(
      "topics.yaml:9: topics[0].terms.weak[0]: 'neural-operators' matches the same words as 'neural operator' at terms.strong[0]",
    );
  });

  it('rejects a phrase with nothing to match', () => {
    expect(failure(VALID.replace('[neural operator]', "[neural operator, '--']"))).toBe(
      "topics.yaml:8: topics[0].terms.strong[1]: '--' has no letters or digits",
    );
  });

  it('rejects a phrase that would match a lone letter, as C++ would', () => {
    expect(failure(VALID.replace('[neural operator]', '[neural operator, C++]'))).toBe(
      "topics.yaml:8: topics[0].terms.strong[1]: 'C++' matches every lone letter c: symbols are not matched",
    );
  });

  it('accepts yieldsTo naming other topics of the file, and rejects itself, other or an unknown id at its line', () => {
    const yielding = (targets: string) => VALID.replace('      strong: [neural operator]\n', `      strong: [neural operator]\n    yieldsTo: [${targets}]\n`);
    const extra = '  - id: beta\n    name: Beta\n    description: the second topic\n';
    expect(parseTaxonomy(yielding('beta') + extra, 'topics.yaml').topics[0]?.yieldsTo).toEqual(['beta']);
    expect(failure(yielding('alpha'))).toBe("topics.yaml:9: topics[0].yieldsTo[0]: a topic cannot yield to 'alpha'");
    expect(failure(yielding('other'))).toBe("topics.yaml:9: topics[0].yieldsTo[0]: a topic cannot yield to 'other'");
    expect(failure(yielding('gamma'))).toBe("topics.yaml:9: topics[0].yieldsTo[0]: 'gamma' is not a topic id of this file");
    const ifTitle = VALID.replace('      strong: [neural operator]\n', '      strong: [neural operator]\n    yieldsToIfTitle: [other]\n');
    expect(failure(ifTitle)).toBe("topics.yaml:9: topics[0].yieldsToIfTitle[0]: a topic cannot yield to 'other'");
  });

  it('reports a YAML syntax error with its line', () => {
    expect(failure(VALID.replace('strong: [neural operator]', 'strong: [neural operator'))).toMatch(/^topics\.yaml:9: YAML: /);
    expect(failure(`${VALID}  - id: other\n    id: again\n`)).toBe('topics.yaml:13: YAML: Map keys must be unique');
  });

  it('rejects a file that is not a mapping', () => {
    expect(failure('- just\n- a list\n')).toBe('topics.yaml:1: (top level): Invalid input: expected object, received array');
  });
});

describe('loadTaxonomy', () => {
  it('reports a missing file as TAXONOMY_INVALID, naming it', () => {
    expect(() => loadTaxonomy('/nonexistent/topics.yaml')).toThrow('/nonexistent/topics.yaml: cannot read the topic file (ENOENT)');
  });
});
