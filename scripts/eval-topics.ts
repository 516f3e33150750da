/**
 * Topic classifier evaluation against the two hand-labelled sets (see test/fixtures/topic-labels.md),
 * then a throughput benchmark:
 *   - `listings`: test/fixtures/topic-labels.json, the papers of data/listings/*.txt;
 *   - `hf`: test/fixtures/topic-labels-hf.json, the ten days of Hugging Face Daily Papers API
 *     JSON in test/fixtures/hf-daily-papers/.
 *
 *   npx tsx scripts/eval-topics.ts [--split tune|holdout|both] [--set listings|hf|both] [--misses]
 *                                  [--summary] [--bench-size 100000] [--baseline-size 10000] [--no-bench]
 *                                  [--taxonomy data/topics.yaml]
 *
 * For each set and split: primary accuracy, acceptable accuracy, per-topic figures, and the
 * confusion list — every labelled primary → predicted primary pair where they differ, with
 * counts, those outside the acceptable topics marked `✗` (with --misses, each paper's title
 * and its top scores). --summary prints only the two percentages per set and split: the way to
 * look at a holdout while tuning, without seeing which papers it misses.
 *
 * Accuracy: the predicted primary equals the labelled primary. Acceptable: the predicted
 * primary is the labelled primary or one of the labelled acceptable topics. Tune and holdout
 * are reported apart; phrases are tuned on `tune` only (`--split tune --misses`).
 *
 * Throughput: a synthetic corpus of --bench-size papers made by repeating the sample papers,
 * classified on one core; in the same run the naive baseline, one case-insensitive regex per
 * topic over the raw title and abstract, on the first --baseline-size papers of that corpus.
 * Rates are per second of the process's CPU time, with wall-clock rates beside them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { titleKey } from '../src/ingest/identity.ts';
import { parseListing } from '../src/ingest/parse.ts';
import type { ClassifiableText } from '../src/model/paper.ts';
import { createClassifier} from '../src/topics/classify.ts';
import { loadTaxonomy, type Taxonomy } from '../src/topics/taxonomy.ts';

interface Label {
  titleKey?: string;
  title: string;
  primary: string;
  acceptable: string[];
  split: 'tune' | 'holdout';
}

interface LabelSet {
  name: string;
  labels: string;
  listings: string;
}

const repo = join(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    split: { type: 'string', default: 'both' },
    set: { type: 'string', default: 'both' },
    misses: { type: 'boolean', default: false },
    summary: { type: 'boolean', default: false },
    'no-bench': { type: 'boolean', default: false },
    'bench-size': { type: 'string', default: '100000' },
    'baseline-size': { type: 'string', default: '10000' },
    taxonomy: { type: 'string', default: join(repo, 'data/topics.yaml') },
  },
});

const SETS: LabelSet[] = [
  { name: 'listings', labels: join(repo, 'test/fixtures/topic-labels.json'), listings: join(repo, 'data/listings') },
  { name: 'hf', labels: join(repo, 'test/fixtures/topic-labels-hf.json'), listings: join(repo, 'test/fixtures/hf-daily-papers') },
];

if (!['tune', 'holdout', 'both'].includes(values.split)) throw new Error(`--split must be tune, holdout or both, not ${values.split}`);
if (!['listings', 'hf', 'both'].includes(values.set)) throw new Error(`--set must be listings, hf or both, not ${values.set}`);
if (values.summary && values.misses) throw new Error('--summary and --misses exclude each other');
const taxonomy = loadTaxonomy(values.taxonomy);
const classify = createClassifier(taxonomy);
const splits = values.split === 'both' ? (['tune', 'holdout'] as const) : ([values.split] as ('tune' | 'holdout')[]);
const allPapers = new Map<string, ClassifiableText>();

for (const set of SETS.filter((entry) => values.set === 'both' || entry.name === values.set)) {
  const papers = loadPapers(set.listings);
  for (const [key, paper] of papers) if (!allPapers.has(key)) allPapers.set(key, paper);
  const labels = JSON.parse(readFileSync(set.labels, 'utf8')) as Label[];
  for (const split of splits) report(`${set.name} ${split}`, set.listings, papers, labels.filter((label) => label.split === split));
}
if (!values['no-bench']) bench(allPapers, Number(values['bench-size']), Number(values['baseline-size']));

/** Every distinct paper of the listing files, by title key (the first text seen wins). */
function loadPapers(dir: string): Map<string, ClassifiableText> {
  const now = new Date();
  const byKey = new Map<string, ClassifiableText>();
  for (const name of readdirSync(dir).sort()) {
    for (const paper of parseListing(readFileSync(join(dir, name)), { now }).papers) {
      const key = titleKey(paper.title);
      if (!byKey.has(key)) byKey.set(key, { title: paper.title, abstract: paper.abstract, keywords: paper.keywords, categories: paper.categories });
    }
  }
  return byKey;
}

function report(split: string, listings: string, papers: Map<string, ClassifiableText>, rows: Label[]): void {
  const perTopic = new Map<string, { n: number; exact: number; ok: number }>();
  const confusion = new Map<string, number>();
  let exact = 0;
  let ok = 0;
  const misses: string[] = [];
  for (const label of rows) {
    const paper = papers.get(label.titleKey ?? titleKey(label.title));
    if (!paper) throw new Error(`labelled paper not found in ${listings}: ${label.title}`);
    const result = classify(paper);
    const stats = perTopic.get(label.primary) ?? { n: 0, exact: 0, ok: 0 };
    perTopic.set(label.primary, stats);
    stats.n++;
    const isExact = result.primary === label.primary;
    const isOk = isExact || label.acceptable.includes(result.primary);
    if (isExact) {
      exact++;
      stats.exact++;
    }
    if (isOk) {
      ok++;
      stats.ok++;
    }
    if (!isExact) {
      const pair = `${label.primary} → ${result.primary}${isOk ? '' : ' ✗'}`;
      confusion.set(pair, (confusion.get(pair) ?? 0) + 1);
      const top = result.scores.slice(0, 3).map((s) => `${s.topicId} ${s.score} [${s.evidence.slice(0, 4).join('; ')}]`);
      misses.push(`  ${isOk ? ' ' : '✗'} ${label.title}\n    label ${label.primary} (ok: ${label.acceptable.join(', ') || '-'}) → ${result.primary}\n    ${top.join('\n    ')}`);
    }
  }
  console.log(`${values.summary ? '' : '\n'}== ${split}: ${rows.length} papers — primary ${pct(exact, rows.length)}, acceptable ${pct(ok, rows.length)}`);
  if (values.summary) return;
  console.log('  topic          n  primary  acceptable');
  for (const topic of taxonomy.topics) {
    const stats = perTopic.get(topic.id);
    if (stats) console.log(`  ${topic.id.padEnd(13)}${String(stats.n).padStart(3)}  ${pct(stats.exact, stats.n).padStart(7)}  ${pct(stats.ok, stats.n).padStart(10)}`);
  }
  const mistakes = [...confusion].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  console.log(`  confusions (labelled primary → predicted, ✗ = outside acceptable): ${mistakes.map(([pair, n]) => `${pair} ×${n}`).join(', ') || 'none'}`);
  if (values.misses) console.log(misses.join('\n'));
}

function bench(papers: Map<string, ClassifiableText>, size: number, baselineSize: number): void {
  const samples = [...papers.values()];
  // A numbered title makes every paper distinct, as in scripts/bench-ingest.ts.
  const corpus = Array.from({ length: size }, (_, i) => {
    const sample = samples[i % samples.length] as ClassifiableText;
    return { ...sample, title: `${sample.title} (variant ${i})` };
  });
  for (const paper of corpus.slice(0, 2000)) classify(paper);
  const fast = timed(corpus, classify);

  const naive = naiveClassifier(taxonomy);
  const slice = corpus.slice(0, baselineSize);
  for (const paper of slice.slice(0, 200)) naive(paper);
  const slow = timed(slice, naive);
  console.log(`\n== throughput (one core; ${samples.length} sample papers repeated, each title numbered)`);
  console.log('  papers per second of CPU time (of wall-clock time; they differ when the machine is shared)');
  console.log(`  classifier: ${fmt(fast.cpu)} (${fmt(fast.wall)}) over ${size} papers`);
  console.log(`  baseline, one regex per topic over the raw text: ${fmt(slow.cpu)} (${fmt(slow.wall)}) over ${slice.length} papers`);
  console.log(`  speed-up: ${(fast.cpu / slow.cpu).toFixed(1)}×`);
}

function timed(corpus: ClassifiableText[], run: (paper: ClassifiableText) => unknown): { cpu: number; wall: number } {
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  for (const paper of corpus) run(paper);
  const wall = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpuStart);
  return { cpu: corpus.length / ((used.user + used.system) / 1e6), wall: corpus.length / wall };
}

/** What one would write first: per topic, one alternation of its phrases, run over the text. */
function naiveClassifier(tax: Taxonomy): (paper: ClassifiableText) => string {
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/[- ]/g, '[- ]?');
  const topics = tax.topics.map((topic) => {
    const tiers = (['strong', 'medium', 'weak'] as const).map((tier) => ({
      weight: tax.settings.tiers[tier],
      pattern: topic.terms[tier].length > 0 ? new RegExp(`\\b(?:${topic.terms[tier].map(escape).join('|')})s?\\b`, 'gi') : null,
    }));
    return { id: topic.id, tiers };
  });
  return (paper) => {
    let best = 'other';
    let bestScore = tax.settings.minScore - 1e-9;
    for (const topic of topics) {
      let score = 0;
      for (const { weight, pattern } of topic.tiers) {
        if (!pattern) continue;
        score += weight * tax.settings.fields.title * (paper.title.match(pattern)?.length ?? 0);
        score += weight * (paper.abstract.match(pattern)?.length ?? 0);
      }
      if (score > bestScore) {
        best = topic.id;
        bestScore = score;
      }
    }
    return best;
  };
}

function pct(part: number, whole: number): string {
  return whole === 0 ? '-' : `${((100 * part) / whole).toFixed(1)}%`;
}

function fmt(rate: number): string {
  return Math.round(rate).toLocaleString('en-US');
}
