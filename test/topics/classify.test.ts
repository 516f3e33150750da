import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ClassifiableText } from '../../src/model/paper.ts';
import { createClassifier, NO_MATCH_EVIDENCE} from '../../src/topics/classify.ts';
import { loadTaxonomy, parseTaxonomy } from '../../src/topics/taxonomy.ts';
import { phraseKeys, stem } from '../../src/topics/tokenize.ts';

/** A small taxonomy, so that these tests pin the matching rules, not the default phrases. */
const RULES = parseTaxonomy(
  `settings: { minScore: 3, secondaryRatio: 0.5 }
topics:
  - { id: reasoning, name: R, description: d, terms: { strong: [chain-of-thought, Lean], medium: [reasoning] } }
  - { id: graphs, name: G, description: d, terms: { strong: [graph neural network], medium: [graph] }, exclude: [computation graph] }
  - { id: sciml, name: S, description: d, terms: { strong: [PDE, neural operator], weak: [neural network] } }
  - { id: efficiency, name: E, description: d, terms: { strong: [quantization] } }
  - { id: rl, name: RL, description: d, terms: { strong: [RL] } }
  - { id: generative, name: Gen, description: d, terms: { strong: [Schrödinger bridge, diffusion model] } }
  - { id: code, name: C, description: d, terms: { strong: [code generation], medium: [code] }, exclude: [code is available] }
  - { id: robotics, name: Rob, description: d, terms: { strong: [robot] }, categories: { strong: [cs.RO], medium: [eess] } }
  - { id: other, name: O, description: d }
`,
  'rules.yaml',
);
const classify = createClassifier(RULES);

function paper(fields: Partial<ClassifiableText>): ClassifiableText {
  return { title: '', abstract: '', keywords: [], categories: [], ...fields };
}

function evidenceOf(text: Partial<ClassifiableText>, topicId: string): string[] | undefined {
  return classify(paper(text)).scores.find((entry) => entry.topicId === topicId)?.evidence;
}

describe('scoring', () => {
  it('weighs a title match three times an abstract match', () => {
    expect(classify(paper({ title: 'Neural operators for PDEs' })).scores).toEqual([
      { topicId: 'sciml', score: 24, evidence: ['PDE (title)', 'neural operator (title)'] },
    ]);
    expect(classify(paper({ abstract: 'Neural operators.' })).scores).toEqual([{ topicId: 'sciml', score: 4, evidence: ['neural operator (abstract)'] }]);
  });

  it('gives repeats less and less: weight × (1 + ln n)', () => {
    expect(classify(paper({ abstract: 'A PDE. Another PDE. PDEs everywhere.' })).scores).toEqual([
      { topicId: 'sciml', score: 8.39, evidence: ['PDE ×3 (abstract)'] },
    ]);
  });

  it('counts HF keywords at twice the abstract weight, each keyword on its own', () => {
    expect(classify(paper({ keywords: ['diffusion models', 'Schrödinger'] })).scores).toEqual([
      { topicId: 'generative', score: 8, evidence: ['keyword: diffusion model'] },
    ]);
  });

  it('counts the primary arXiv category fully and cross-lists at half, archives included', () => {
    expect(classify(paper({ categories: ['cs.RO', 'eess.SY', 'cs.RO'] })).scores).toEqual([
      { topicId: 'robotics', score: 5, evidence: ['category: cs.RO', 'category: eess.SY'] },
    ]);
  });

  it('files a paper that matches nothing under other, saying so', () => {
    expect(classify(paper({ title: 'On the cohomology of knots', abstract: 'We prove a theorem.' }))).toEqual({
      primary: 'other',
      secondary: [],
      scores: [{ topicId: 'other', score: 0, evidence: [NO_MATCH_EVIDENCE] }],
    });
  });

  it('files a paper under other when its best topic stays below minScore, keeping the weak scores above it', () => {
    // The fallback earned nothing: it never sorts above a topic that did score (explain used to print `other 3` first).
    expect(classify(paper({ abstract: 'A neural network.' }))).toEqual({
      primary: 'other',
      secondary: [],
      scores: [
        { topicId: 'sciml', score: 1, evidence: ['neural network (abstract)'] },
        { topicId: 'other', score: 0, evidence: [NO_MATCH_EVIDENCE] },
      ],
    });
  });

  it('adds a secondary topic only at half the primary score or more', () => {
    const below = classify(paper({ title: 'PDE', abstract: 'A graph neural network.' }));
    expect([below.primary, below.secondary, below.scores.map((entry) => entry.score)]).toEqual(['sciml', [], [12, 4]]);
    const above = classify(paper({ title: 'PDE', abstract: 'A graph neural network and another graph neural network.' }));
    expect([above.primary, above.secondary, above.scores.map((entry) => entry.score)]).toEqual(['sciml', ['graphs'], [12, 6.77]]);
  });

  it('keeps at most two secondaries and breaks ties by taxonomy order', () => {
    const result = classify(paper({ title: 'Quantization, diffusion models, code generation and PDEs' }));
    expect(result.primary).toBe('sciml');
    expect(result.secondary).toEqual(['efficiency', 'generative']);
    expect(result.scores.map((entry) => [entry.topicId, entry.score])).toEqual([
      ['sciml', 12],
      ['efficiency', 12],
      ['generative', 12],
      ['code', 12],
    ]);
  });
});

describe('yielding', () => {
  // RL is a method: a paper that applies it to a generator is about the generator.
  const yielding = createClassifier(
    parseTaxonomy(
      `settings: { minScore: 3, yieldRatio: 0.6 }
topics:
  - { id: rl, name: RL, description: d, terms: { strong: [reinforcement learning] }, yieldsTo: [generative], yieldsToIfTitle: [reasoning] }
  - { id: generative, name: Gen, description: d, terms: { strong: [diffusion model] } }
  - { id: reasoning, name: R, description: d, terms: { strong: [chain-of-thought] } }
  - { id: efficiency, name: E, description: d, terms: { strong: [quantization] } }
  - { id: other, name: O, description: d }
`,
      'yield.yaml',
    ),
  );

  it('gives the primary place to a topic it yields to that scores at least yieldRatio of it, and stays a secondary', () => {
    const result = yielding(paper({ title: 'Reinforcement learning', abstract: 'A diffusion model, another diffusion model, a third diffusion model.' }));
    expect(result.primary).toBe('generative');
    expect(result.secondary).toEqual(['rl']);
    expect(result.scores).toEqual([
      { topicId: 'generative', score: 8.39, evidence: ['diffusion model ×3 (abstract)'] },
      { topicId: 'rl', score: 12, evidence: ['reinforcement learning (title)', 'yields to generative'] },
    ]);
  });

  it('keeps the primary place when the other topic is below yieldRatio of it or is not one it yields to', () => {
    expect(yielding(paper({ title: 'Reinforcement learning', abstract: 'For a diffusion model.' })).primary).toBe('rl');
    expect(yielding(paper({ title: 'Reinforcement learning', abstract: 'Quantization, and more quantization.' })).primary).toBe('rl');
  });

  it('yields to a yieldsToIfTitle topic only when the title scores it higher', () => {
    const rl = (n: number) => Array(n).fill('reinforcement learning').join(', ');
    const titled = yielding(paper({ title: 'Chain-of-thought', abstract: rl(8) }));
    expect(titled.scores.map((entry) => [entry.topicId, entry.score])).toEqual([
      ['reasoning', 12],
      ['rl', 12.32],
    ]);
    expect(titled.secondary).toEqual(['rl']);
    expect(yielding(paper({ title: 'Chain-of-thought via reinforcement learning', abstract: rl(5) })).primary).toBe('reasoning');
    expect(yielding(paper({ title: 'Reinforcement learning for chain-of-thought', abstract: rl(1) })).primary).toBe('rl');
    expect(yielding(paper({ abstract: `${rl(3)}; chain-of-thought, chain-of-thought` })).primary).toBe('rl');
  });
});

describe('title parts', () => {
  it('counts the means of a title, after via/using/through/by, at titleMeans weight, until for/towards or a colon', () => {
    expect(evidenceOf({ title: 'Code generation via quantization' }, 'efficiency')).toEqual(['quantization (title, means)']);
    expect(classify(paper({ title: 'Code generation via quantization' })).scores.map((entry) => [entry.topicId, entry.score])).toEqual([
      ['code', 12],
      ['efficiency', 6],
    ]);
    expect(evidenceOf({ title: 'Robots using quantization for PDEs' }, 'sciml')).toEqual(['PDE (title)']);
    expect(evidenceOf({ title: 'Quantization by example: PDEs' }, 'sciml')).toEqual(['PDE (title)']);
    expect(evidenceOf({ title: 'Solving PDEs with quantization' }, 'efficiency')).toEqual(['quantization (title)']);
    expect(evidenceOf({ title: 'Code generation (via quantization)' }, 'efficiency')).toEqual(['quantization (title, means)']);
    expect(evidenceOf({ title: 'Step-by-step quantization' }, 'efficiency')).toEqual(['quantization (title)']);
  });
});

describe('matching', () => {
  it('treats hyphens as spaces', () => {
    expect(evidenceOf({ title: 'Chain of Thought prompting' }, 'reasoning')).toEqual(['chain-of-thought (title)']);
  });

  it('matches plurals and word endings through one stem', () => {
    expect(evidenceOf({ abstract: 'We store quantized weights.' }, 'efficiency')).toEqual(['quantization (abstract)']);
    expect(stem('scaling')).toBe(stem('scale'));
    // Kept whole: `coding` (gradient coding, video coding) is not `code`.
    expect(stem('coding')).toBe('coding');
    expect(stem('planning')).toBe(stem('plan'));
    expect(stem('pruning')).toBe(stem('pruned'));
    expect(stem('pruned')).toBe(stem('prune'));
    expect(stem('optimisation')).toBe(stem('optimization'));
    expect(stem('optimization')).toBe(stem('optimized'));
    expect(stem('embeddings')).toBe(stem('embedded'));
    expect(stem('studies')).toBe(stem('study'));
    expect(stem('processes')).toBe(stem('process'));
    expect(stem('operators')).toBe('operator');
  });

  it('joins the prefixes written three ways', () => {
    expect(phraseKeys('pre-training')).toEqual(phraseKeys('pretraining'));
    expect(phraseKeys('pre training')).toEqual(phraseKeys('pretraining'));
    expect(phraseKeys('fine-tuned models')).toEqual(phraseKeys('finetuning model'));
  });

  it('matches a capitalised term only with that capitalisation, plural allowed', () => {
    expect(evidenceOf({ abstract: 'Solving PDEs with RL.' }, 'sciml')).toEqual(['PDE (abstract)']);
    expect(evidenceOf({ abstract: 'Solving PDEs with RL.' }, 'rl')).toEqual(['RL (abstract)']);
    expect(classify(paper({ abstract: 'see the url rl and pde' })).primary).toBe('other');
    expect(evidenceOf({ abstract: 'Proofs in Lean 4.' }, 'reasoning')).toEqual(['Lean (abstract)']);
    expect(evidenceOf({ abstract: 'A lean model.' }, 'reasoning')).toBeUndefined();
  });

  it('reads through LaTeX leftovers and accents', () => {
    expect(evidenceOf({ title: 'Light Schr\\"odinger Bridges' }, 'generative')).toEqual(['Schrödinger bridge (title)']);
    expect(evidenceOf({ title: 'Light Schrödinger Bridge' }, 'generative')).toEqual(['Schrödinger bridge (title)']);
    expect(evidenceOf({ abstract: 'Diffusion models~(DMs) are {\\em slow}.' }, 'generative')).toEqual(['diffusion model (abstract)']);
    expect(evidenceOf({ abstract: 'It is 10sim100times faster on PDEs.' }, 'sciml')).toEqual(['PDE (abstract)']);
  });

  it('counts a stretch of text once, for the longest phrase', () => {
    const result = classify(paper({ title: 'A graph neural network' }));
    expect(result.scores).toEqual([{ topicId: 'graphs', score: 12, evidence: ['graph neural network (title)'] }]);
  });

  it('lets an exclusion swallow its words', () => {
    expect(classify(paper({ title: 'Rewriting the computation graph' })).primary).toBe('other');
    expect(classify(paper({ abstract: 'Code is available. Code is available. Code is available.' })).primary).toBe('other');
  });

  it('ignores the words of links', () => {
    expect(classify(paper({ abstract: 'See https://github.com/x/robot and github.com/y/robot-PDE.' })).primary).toBe('other');
  });
});

describe('determinism', () => {
  const taxonomy = loadTaxonomy(join(import.meta.dirname, '../../data/topics.yaml'));
  const papers = realPapers();

  it('gives the same classification for the same paper, with one classifier or two', () => {
    const first = createClassifier(taxonomy);
    const second = createClassifier(taxonomy);
    for (const sample of papers) {
      const once = first(sample);
      expect(first(sample)).toEqual(once);
      expect(second(sample)).toEqual(once);
    }
  });

  it('gives the same scores whatever the order of the topics in the file', () => {
    const forward = createClassifier(taxonomy);
    const reversed = createClassifier({ ...taxonomy, topics: [...taxonomy.topics].reverse() });
    const byTopic = (result: ReturnType<typeof forward>) => Object.fromEntries(result.scores.map((entry) => [entry.topicId, entry.score]));
    for (const sample of papers) expect(byTopic(reversed(sample))).toEqual(byTopic(forward(sample)));
  });
});

describe('real papers with the default taxonomy', () => {
  const classifyDefault = createClassifier(loadTaxonomy(join(import.meta.dirname, '../../data/topics.yaml')));

  it.each(realPapers().map((sample) => [sample.expected, sample.title, sample] as const))('%s: %s', (expected, _title, sample) => {
    const result = classifyDefault(sample);
    expect(result.primary).toBe(expected);
    const primary = result.scores[0];
    expect(primary?.topicId).toBe(expected);
    expect(primary?.evidence.length).toBeGreaterThan(0);
    expect(primary?.evidence).not.toContain(NO_MATCH_EVIDENCE);
  });
});

interface RealPaper extends ClassifiableText {
  expected: string;
  source: string;
}

/** Real titles and abstracts (see `source`): the sample dumps, API JSON and Atom feed, or well-known papers. */
function realPapers(): RealPaper[] {
  return JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/topic-papers.json'), 'utf8')) as RealPaper[];
}
