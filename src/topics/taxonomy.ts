import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { PaperboyError } from '../errors.ts';
import { phraseKeys } from './tokenize.ts';

const TOPIC_ID = /^[a-z][a-z0-9-]*$/;
/** `cs.RO`, `physics.flu-dyn`, `q-bio.NC`; an archive alone (`physics`) covers all its categories. */
const CATEGORY = /^[a-z][a-z-]*(\.[A-Za-z][A-Za-z-]*)?$/;
export const FALLBACK_TOPIC = 'other';

const phrase = z.string().trim().min(1, 'must not be empty');
const category = z.string().regex(CATEGORY, 'must be an arXiv category such as cs.RO, or an archive such as physics');
const tiers = <T extends z.ZodType>(item: T) =>
  z.strictObject({ strong: z.array(item).default([]), medium: z.array(item).default([]), weak: z.array(item).default([]) });
const positive = z.number().positive();

const topicSchema = z.strictObject({
  id: z.string().regex(TOPIC_ID, 'must be lower-case letters, digits and hyphens, starting with a letter'),
  name: z.string().trim().min(1, 'must not be empty'),
  description: z.string().trim().min(1, 'must not be empty'),
  terms: tiers(phrase).prefault({}),
  exclude: z.array(phrase).default([]),
  categories: tiers(category).prefault({}),
  yieldsTo: z.array(z.string()).default([]),
  yieldsToIfTitle: z.array(z.string()).default([]),
});

const settingsSchema = z.strictObject({
  tiers: z.strictObject({ strong: positive.default(4), medium: positive.default(2), weak: positive.default(1) }).prefault({}),
  fields: z
    .strictObject({
      title: positive.default(3),
      abstract: positive.default(1),
      keyword: positive.default(2),
      primaryCategory: positive.default(1),
      otherCategory: positive.default(0.5),
      titleMeans: positive.default(1.5),
    })
    .prefault({}),
  titleParts: z
    .strictObject({
      means: z.array(z.string().trim().min(1)).default(['via', 'using', 'through', 'by']),
      resume: z.array(z.string().trim().min(1)).default(['for', 'towards', 'toward']),
    })
    .prefault({}),
  minScore: positive.default(8),
  secondaryRatio: z.number().min(0).max(1).default(0.5),
  yieldRatio: z.number().min(0).max(1).default(0.6),
});

const fileSchema = z
  .strictObject({
    settings: settingsSchema.prefault({}),
    topics: z.array(topicSchema).min(1, 'must list at least one topic'),
  })
  .superRefine((file, ctx) => {
    const firstIndex = new Map<string, number>();
    file.topics.forEach((topic, index) => {
      const first = firstIndex.get(topic.id);
      if (first === undefined) firstIndex.set(topic.id, index);
      else ctx.addIssue({ code: 'custom', path: ['topics', index, 'id'], message: `duplicate id '${topic.id}' (first at topics[${first}])` });
      checkPhrases(topic, index, ctx);
    });
    file.topics.forEach((topic, index) => checkYields(topic, index, firstIndex, ctx));
    if (!firstIndex.has(FALLBACK_TOPIC)) {
      ctx.addIssue({ code: 'custom', path: ['topics'], message: `a topic with id '${FALLBACK_TOPIC}' is required: papers that match no topic are filed there` });
    }
  });

type TopicEntry = z.infer<typeof topicSchema>;

/** A topic yields only to other real topics: never to itself, to `other`, or to an id not in the file. */
function checkYields(topic: TopicEntry, topicIndex: number, ids: Map<string, number>, ctx: z.RefinementCtx): void {
  const targets = [
    ...topic.yieldsTo.map((target, i) => ['yieldsTo', i, target] as const),
    ...topic.yieldsToIfTitle.map((target, i) => ['yieldsToIfTitle', i, target] as const),
  ];
  targets.forEach(([list, i, target]) => {
    const path = ['topics', topicIndex, list, i];
    if (target === topic.id || target === FALLBACK_TOPIC) ctx.addIssue({ code: 'custom', path, message: `a topic cannot yield to '${target}'` });
    else if (!ids.has(target)) ctx.addIssue({ code: 'custom', path, message: `'${target}' is not a topic id of this file` });
  });
}

/** Within one topic a phrase may appear once: twice means two weights, and one would be ignored. */
function checkPhrases(topic: TopicEntry, topicIndex: number, ctx: z.RefinementCtx): void {
  const seen = new Map<string, string>();
  const lists: [string[], (string | number)[]][] = [
    [topic.terms.strong, ['terms', 'strong']],
    [topic.terms.medium, ['terms', 'medium']],
    [topic.terms.weak, ['terms', 'weak']],
    [topic.exclude, ['exclude']],
  ];
  for (const [list, at] of lists) {
    list.forEach((text, i) => {
      const path = ['topics', topicIndex, ...at, i];
      const keys = phraseKeys(text).join(' ');
      const earlier = seen.get(keys);
      if (keys === '') ctx.addIssue({ code: 'custom', path, message: `'${text}' has no letters or digits` });
      else if (/^[a-z]$/.test(keys)) ctx.addIssue({ code: 'custom', path, message: `'${text}' matches every lone letter ${keys}: symbols are not matched` });
      else if (earlier !== undefined) ctx.addIssue({ code: 'custom', path, message: `'${text}' matches the same words as ${earlier}` });
      else seen.set(keys, `'${list[i]}' at ${fieldPath(path.slice(2))}`);
    });
  }
}

export type Topic = TopicEntry;
export type TaxonomySettings = z.infer<typeof settingsSchema>;

export interface Taxonomy {
  /** First 16 hex digits of the file's sha256: stored classifications older than this are stale. */
  version: string;
  settings: TaxonomySettings;
  topics: Topic[];
}

export function loadTaxonomy(path: string): Taxonomy {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new PaperboyError('TAXONOMY_INVALID', `${path}: cannot read the topic file (${(error as NodeJS.ErrnoException).code ?? 'error'})`, { cause: error });
  }
  return parseTaxonomy(text, path);
}

export function parseTaxonomy(text: string, sourceName: string): Taxonomy {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true });
  const syntaxError = doc.errors[0];
  if (syntaxError) {
    const line = syntaxError.linePos?.[0].line ?? 1;
    const reason = (syntaxError.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
    throw new PaperboyError('TAXONOMY_INVALID', `${sourceName}:${line}: YAML: ${reason}`);
  }
  const result = fileSchema.safeParse(doc.toJS());
  if (!result.success) {
    const problems = result.error.issues.map((issue) => describeIssue(issue, doc, lineCounter));
    problems.sort((a, b) => a.line - b.line);
    const first = problems[0];
    throw new PaperboyError('TAXONOMY_INVALID', first ? `${sourceName}:${first.line}: ${first.text}` : `${sourceName}:1: invalid`);
  }
  return {
    version: createHash('sha256').update(text).digest('hex').slice(0, 16),
    settings: result.data.settings,
    topics: result.data.topics,
  };
}

function describeIssue(issue: z.core.$ZodIssue, doc: Document, lineCounter: LineCounter): { line: number; text: string } {
  const path = issue.path.filter((segment): segment is string | number => typeof segment !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    const at = [...path, key];
    return { line: lineOf(doc, at, lineCounter).line, text: `${fieldPath(at)}: unknown field` };
  }
  const { line, found } = lineOf(doc, path, lineCounter);
  const reason = found || issue.code !== 'invalid_type' ? issue.message : `is required (${issue.message.replace(/, received undefined$/, '').replace(/^Invalid input: /, '')})`;
  return { line, text: `${fieldPath(path)}: ${reason}` };
}

/**
 * The 1-based line of the node at `path`: a map entry's key line, a list item's first line.
 * When the path runs out (a required field is missing) it is the deepest enclosing node's line.
 */
function lineOf(doc: Document, path: (string | number)[], lineCounter: LineCounter): { line: number; found: boolean } {
  let node: unknown = doc.contents;
  let offset = rangeStart(node) ?? 0;
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment));
      if (!pair) return { line: lineCounter.linePos(offset).line, found: false };
      offset = rangeStart(pair.key) ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number' && segment < node.items.length) {
      node = node.items[segment];
      offset = rangeStart(node) ?? offset;
    } else {
      return { line: lineCounter.linePos(offset).line, found: false };
    }
  }
  return { line: lineCounter.linePos(offset).line, found: node !== null && node !== undefined };
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as { range?: [number, number, number] } | null)?.range;
  return range?.[0];
}

/** `topics[3].terms.strong[2]`: how a person finds the field in the file. */
function fieldPath(path: readonly (string | number)[]): string {
  if (path.length === 0) return '(top level)';
  return path.map((segment, i) => (typeof segment === 'number' ? `[${segment}]` : i === 0 ? segment : `.${segment}`)).join('');
}
