import type { ClassifiableText } from '../model/paper.ts';
import { FALLBACK_TOPIC, type Taxonomy, type TaxonomySettings } from './taxonomy.ts';
import { forEachWord, phraseKeys, wordKeys } from './tokenize.ts';


export interface TopicScore {
  topicId: string;
  score: number;
  /** Strongest first: `neural operator (title)`, `PDE ×3 (abstract)`, `keyword: diffusion`, `category: cs.RO`. */
  evidence: string[];
}

export interface Classification {
  primary: string;
  /** At most two, strongest first; see SECONDARY RULE in data/topics.yaml. */
  secondary: string[];
  /**
   * Every topic with a score above zero: the primary first, then the rest highest first, ties
   * in taxonomy order (the primary is not the highest only when that topic yielded to it; see
   * YIELDING in data/topics.yaml). When the paper is filed under the fallback (`other`) because
   * no topic reached minScore, the fallback comes last with score 0 and the evidence
   * NO_MATCH_EVIDENCE.
   */
  scores: TopicScore[];
}

export type Classifier = (paper: ClassifiableText) => Classification;

export const NO_MATCH_EVIDENCE = 'no topic matched';
const MAX_EVIDENCE = 8;
const VOCABULARY_LIMIT = 200_000;

type Field = 'title' | 'abstract' | 'keyword' | 'titleMeans';
const FIELDS: readonly Field[] = ['title', 'abstract', 'keyword', 'titleMeans'];
const FIELD_INDEX = new Map(FIELDS.map((field, index) => [field, index]));
const FIELD_NAMES: Record<Field, string> = { title: 'title', abstract: 'abstract', keyword: 'keyword', titleMeans: 'title, means' };

/** One (topic, phrase) pair. An exclusion scores nothing: it only hides its words from the topic. */
interface Term {
  /** Position in the compiled term list: the row of `counts`. */
  index: number;
  topic: number;
  label: string;
  weight: number;
}

interface TrieNode {
  next: Map<string, TrieNode>;
  terms: Term[] | null;
}

/** A word of paper text, with its trie edges from the root resolved once per distinct word. */
interface Token {
  key: string;
  exact: string | undefined;
  fromRootByKey: TrieNode | undefined;
  fromRootByExact: TrieNode | undefined;
}

/** One line of evidence, made into text only if it is among a topic's strongest. */
interface Evidence {
  topic: number;
  points: number;
  /** Tie-break: term order in the taxonomy, then field; categories after all terms. */
  order: number;
  label: string;
  field: Field | 'category';
  n: number;
}

/** Per topic id, the topics it yields to (see YIELDING in data/topics.yaml). */
interface Yields {
  always: Map<string, Set<string>>;
  /** Only when the title scores the other topic higher than this one. */
  ifTitle: Map<string, Set<string>>;
}

interface CategoryHint {
  topic: number;
  weight: number;
}

/**
 * Compiles the taxonomy once: every phrase of every topic goes into one token trie, so a
 * paper is tokenized once and scanned once, whatever the number of topics.
 */
export function createClassifier(taxonomy: Taxonomy): Classifier {
  const { settings, topics } = taxonomy;
  const root: TrieNode = { next: new Map(), terms: null };
  const terms: Term[] = [];
  const categoryHints = new Map<string, CategoryHint[]>();

  topics.forEach((topic, index) => {
    for (const tier of ['strong', 'medium', 'weak'] as const) {
      for (const text of topic.terms[tier]) addTerm(root, terms, text, index, settings.tiers[tier]);
      for (const name of topic.categories[tier]) {
        const hints = categoryHints.get(name) ?? [];
        hints.push({ topic: index, weight: settings.tiers[tier] });
        categoryHints.set(name, hints);
      }
    }
    for (const text of topic.exclude) addTerm(root, terms, text, index, 0);
  });

  const ids = topics.map((topic) => topic.id);
  const yields: Yields = {
    always: new Map(topics.map((topic) => [topic.id, new Set(topic.yieldsTo)])),
    ifTitle: new Map(topics.map((topic) => [topic.id, new Set(topic.yieldsToIfTitle)])),
  };
  const fieldWeight: Record<Field, number> = settings.fields;
  const fallback = topics.findIndex((topic) => topic.id === FALLBACK_TOPIC);
  const splitTitle = titleSplitter(settings.titleParts);
  // Reused across calls (JS runs one call at a time): counts[term * FIELDS.length + field].
  const counts = new Uint32Array(terms.length * FIELDS.length);
  const touched: number[] = [];

  // Distinct words seen so far, capped so a long-running server stays bounded. Long numbers
  // stay out: there is no end to them, and none is part of a phrase.
  const vocabulary = new Map<string, Token>();
  const tokenOf = (surface: string): Token => {
    let token = vocabulary.get(surface);
    if (token === undefined) {
      const [key, exact] = wordKeys(surface);
      token = { key, exact, fromRootByKey: root.next.get(key), fromRootByExact: exact === undefined ? undefined : root.next.get(exact) };
      if (surface.length > 4 && isDigit(surface.charCodeAt(0))) return token;
      if (vocabulary.size >= VOCABULARY_LIMIT) vocabulary.clear();
      vocabulary.set(surface, token);
    }
    return token;
  };
  const tokens: Token[] = [];
  const collect = (surface: string): void => {
    tokens.push(tokenOf(surface));
  };
  const match: Match = { terms: null, end: 0 };
  const count = (text: string, field: number): void => {
    tokens.length = 0;
    forEachWord(text, collect);
    for (let i = 0; i < tokens.length; ) {
      match.terms = null;
      const token = tokens[i] as Token;
      if (token.fromRootByExact) walk(token.fromRootByExact, tokens, i + 1, match);
      if (token.fromRootByKey) walk(token.fromRootByKey, tokens, i + 1, match);
      // walk() filled `match`; TypeScript still sees the null assigned above.
      const found = match.terms as Term[] | null;
      if (!found) {
        i++;
        continue;
      }
      for (const term of found) {
        const slot = term.index * FIELDS.length + field;
        if (counts[slot] === 0) touched.push(slot);
        counts[slot] = (counts[slot] ?? 0) + 1;
      }
      i = match.end;
    }
  };

  const scores = new Float64Array(topics.length);
  const titleScores = new Float64Array(topics.length);
  return (paper) => {
    for (const part of splitTitle(paper.title)) count(part.text, FIELD_INDEX.get(part.field) ?? 0);
    count(paper.abstract, 1);
    for (const keyword of paper.keywords) count(keyword, 2);

    scores.fill(0);
    titleScores.fill(0);
    const evidence: Evidence[] = [];
    for (const slot of touched) {
      const n = counts[slot] ?? 0;
      counts[slot] = 0;
      const term = terms[Math.floor(slot / FIELDS.length)];
      const field = FIELDS[slot % FIELDS.length];
      if (!term || !field || term.weight === 0) continue;
      // Repeats add less and less: an abstract that says PDE nine times is not nine times as much about PDEs.
      const points = term.weight * fieldWeight[field] * (1 + Math.log(n));
      scores[term.topic] = (scores[term.topic] ?? 0) + points;
      if (field === 'title' || field === 'titleMeans') titleScores[term.topic] = (titleScores[term.topic] ?? 0) + points;
      evidence.push({ topic: term.topic, points, order: slot, label: term.label, field, n });
    }
    touched.length = 0;

    paper.categories.forEach((name, position) => {
      if (paper.categories.indexOf(name) !== position) return;
      const weight = position === 0 ? settings.fields.primaryCategory : settings.fields.otherCategory;
      const dot = name.indexOf('.');
      for (const hints of [categoryHints.get(name), dot > 0 ? categoryHints.get(name.slice(0, dot)) : undefined]) {
        for (const hint of hints ?? []) {
          const points = hint.weight * weight;
          scores[hint.topic] = (scores[hint.topic] ?? 0) + points;
          evidence.push({ topic: hint.topic, points, order: counts.length + position, label: name, field: 'category', n: 1 });
        }
      }
    });

    return rank(ids, scores, titleScores, evidence, settings, yields, fallback);
  };
}

type TitleField = 'title' | 'titleMeans';

interface TitlePart {
  text: string;
  field: TitleField;
}

/**
 * Cuts a title into what it is about and its means: after `via`, `using` … (settings.titleParts.means)
 * the title says how, until `for`, `towards` … (titleParts.resume) or a colon says what again.
 * In `Virtual Try-On via Instance Segmentation for Fashion`, segmentation is the means.
 */
function titleSplitter({ means, resume }: TaxonomySettings['titleParts']): (title: string) => TitlePart[] {
  const kinds = new Map<string, TitleField>();
  for (const word of means) kinds.set(word.toLowerCase(), 'titleMeans');
  for (const word of resume) kinds.set(word.toLowerCase(), 'title');
  return (title) => {
    const parts: TitlePart[] = [];
    let field: TitleField = 'title';
    let from = 0;
    for (const word of title.matchAll(/[^\s:]+|:/g)) {
      // `(via` and `using,` are the words; `step-by-step` is not `by`.
      const next = word[0] === ':' ? 'title' : kinds.get(word[0].replace(/^\P{L}+|\P{L}+$/gu, '').toLowerCase());
      if (next === undefined || next === field) continue;
      if (word.index > from) parts.push({ text: title.slice(from, word.index), field });
      from = word.index;
      field = next;
    }
    if (title.length > from) parts.push({ text: title.slice(from), field });
    return parts;
  };
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

function addTerm(root: TrieNode, terms: Term[], text: string, topic: number, weight: number): void {
  const term: Term = { index: terms.length, topic, label: text, weight };
  let node = root;
  for (const key of phraseKeys(text)) {
    let child = node.next.get(key);
    if (!child) {
      child = { next: new Map(), terms: null };
      node.next.set(key, child);
    }
    node = child;
  }
  (node.terms ??= []).push(term);
  terms.push(term);
}

interface Match {
  terms: Term[] | null;
  end: number;
}

/**
 * Extends a match from `node`, whose phrase so far ends before token `i`, keeping the longest
 * in `best`. Matches never overlap: `graph neural network` is one match for graphs, not also
 * `neural network`, and an exclusion swallows its words. A token may follow its exact edge,
 * its stem edge, or both; phrases of the same length reached both ways all count.
 */
function walk(node: TrieNode, tokens: Token[], i: number, best: Match): void {
  if (node.terms) {
    if (!best.terms || i > best.end) {
      best.terms = node.terms;
      best.end = i;
    } else if (i === best.end && best.terms !== node.terms) {
      // `Monte Carlo tree search` reaches one length by its exact path and its stem path.
      best.terms = [...best.terms, ...node.terms];
    }
  }
  const token = tokens[i];
  if (!token || node.next.size === 0) return;
  const byExact = token.exact === undefined ? undefined : node.next.get(token.exact);
  if (byExact) walk(byExact, tokens, i + 1, best);
  const byKey = node.next.get(token.key);
  if (byKey) walk(byKey, tokens, i + 1, best);
}

function describe(item: Evidence): string {
  const times = item.n > 1 ? ` ×${item.n}` : '';
  if (item.field === 'category') return `category: ${item.label}`;
  return item.field === 'keyword' ? `keyword: ${item.label}${times}` : `${item.label}${times} (${FIELD_NAMES[item.field]})`;
}

function rank(
  ids: string[],
  rawScores: Float64Array,
  titleScores: Float64Array,
  evidence: Evidence[],
  { minScore, secondaryRatio, yieldRatio }: TaxonomySettings,
  yields: Yields,
  fallback: number,
): Classification {
  evidence.sort((a, b) => b.points - a.points || a.order - b.order);
  const lines: string[][] = [];
  for (const item of evidence) {
    const list = (lines[item.topic] ??= []);
    if (list.length < MAX_EVIDENCE) list.push(describe(item));
  }
  const scores: TopicScore[] = [];
  ids.forEach((topicId, topic) => {
    const score = Math.round((rawScores[topic] ?? 0) * 100) / 100;
    if (score > 0) scores.push({ topicId, score, evidence: lines[topic] ?? [] });
  });
  // Stable sort: equal scores keep taxonomy order.
  scores.sort((a, b) => b.score - a.score);

  const top = scores[0];
  if (!top || top.score < minScore) {
    const fallbackId = ids[fallback] ?? 'other';
    const others = scores.filter((entry) => entry.topicId !== fallbackId);
    // The fallback earned no points: it scores 0 and comes after every topic that scored at all,
    // so `explain` never shows it above a real topic's score (the weak scores stay, highest first).
    return { primary: fallbackId, secondary: [], scores: [...others, { topicId: fallbackId, score: 0, evidence: [NO_MATCH_EVIDENCE] }] };
  }
  // A method topic gives the primary place to the field it is applied to, when that field is close.
  const titleScore = (topicId: string): number => titleScores[ids.indexOf(topicId)] ?? 0;
  const always = yields.always.get(top.topicId);
  const ifTitle = yields.ifTitle.get(top.topicId);
  const taker = scores.find(
    (entry) =>
      entry.score >= Math.max(minScore, top.score * yieldRatio) &&
      (always?.has(entry.topicId) === true || (ifTitle?.has(entry.topicId) === true && titleScore(entry.topicId) > titleScore(top.topicId))),
  );
  if (taker) {
    top.evidence = [...top.evidence, `yields to ${taker.topicId}`];
    scores.splice(scores.indexOf(taker), 1);
    scores.unshift(taker);
  }
  // `other` means "fits nothing else": it is never a secondary topic. The bar is set by the
  // highest score, so a topic that yielded stays a secondary.
  const bar = Math.max(minScore, top.score * secondaryRatio);
  const secondary = scores
    .slice(1)
    .filter((entry) => entry.topicId !== ids[fallback] && entry.score >= bar)
    .slice(0, 2)
    .map((entry) => entry.topicId);
  return { primary: (scores[0] as TopicScore).topicId, secondary, scores };
}
