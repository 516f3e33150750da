import type { Command } from 'commander';
import type { App } from '../../app.ts';
import { PaperboyError } from '../../errors.ts';
import { rankScore } from '../../digest/rank.ts';
import { normalizeArxivId, titleKey } from '../../ingest/identity.ts';
import type { StoredPaper } from '../../model/paper.ts';
import type { Classification } from '../../topics/classify.ts';
import type { Taxonomy } from '../../topics/taxonomy.ts';
import { EXIT_OK, emit, type CommonOptions } from '../output.ts';
import { runCommand } from '../run-command.ts';

export function registerExplain(program: Command): void {
  program
    .command('explain')
    .description('why a paper is filed where it is: its score for every topic and the evidence behind each')
    .argument('<paper>', 'a paper id as `paperboy papers` shows it, an arXiv id, or the exact title')
    .option('--json', 'print one JSON document on stdout')
    .option('-v, --verbose', 'debug logs and stack traces')
    .action((reference: string, options: CommonOptions) =>
      runCommand(options, async (app) => {
        const paper = await findPaper(app, reference);
        const { taxonomy, classify } = app.topics();
        const result = classify(paper);
        const place = await app.store.paperListingPlace(paper.id);
        const document = explainDocument(paper, place, result, taxonomy, app.clock.now());
        emit(options, document, () => explainText(document));
        return EXIT_OK;
      }),
    );
}

export type ExplainDocument = ReturnType<typeof explainDocument>;

/**
 * What `explain` prints: the classifier's score and evidence per topic, then the ranking
 * score a digest gives the paper under each topic it is filed under, split into the parts of
 * src/digest/rank.ts (engagement, recency, listing position, topic match) as of `now`.
 */
export function explainDocument(
  paper: StoredPaper,
  place: { listedOn: string | null; position: number | null },
  result: Classification,
  taxonomy: Taxonomy,
  now: Date,
) {
  const names = new Map(taxonomy.topics.map((topic) => [topic.id, topic.name]));
  const ranking = [result.primary, ...result.secondary].map((topicId) => {
    const topicScore = result.scores.find((score) => score.topicId === topicId)?.score ?? 0;
    const parts = rankScore({ ...paper, listedOn: place.listedOn, listingPosition: place.position, topicScore }, now);
    return { topic: topicId, engagement: parts.engagement, recency: parts.recency, position: parts.position, topic_match: parts.topic, total: parts.total };
  });
  return {
    id: paper.key,
    title: paper.title,
    taxonomy_version: taxonomy.version,
    primary_topic: result.primary,
    secondary_topics: result.secondary,
    scores: result.scores.map((score) => ({ topic: score.topicId, name: names.get(score.topicId), score: round(score.score), evidence: score.evidence })),
    ranking_as_of: now.toISOString(),
    ranking,
  };
}

export function explainText(document: ExplainDocument): string {
  return [
    `${document.id}  ${document.title}`,
    `filed under ${document.primary_topic}${document.secondary_topics.length > 0 ? `, also ${document.secondary_topics.join(', ')}` : ''}`,
    '',
    ...document.scores.map((score) => `${score.topic.padEnd(14)} ${String(score.score).padStart(6)}  ${score.evidence.join('; ')}`),
    '',
    `ranking score in a digest, as of ${document.ranking_as_of}:`,
    ...document.ranking.map(
      (row) =>
        `${row.topic.padEnd(14)} ${String(row.total).padStart(6)}  = engagement ${row.engagement} + recency ${row.recency} + listing position ${row.position} + topic match ${row.topic_match}`,
    ),
  ].join('\n');
}

async function findPaper(app: App, reference: string): Promise<StoredPaper> {
  const arxivId = normalizeArxivId(reference.replace(/^arxiv:/i, ''));
  const paper =
    (await app.store.paperByKey(reference)) ??
    (arxivId ? await app.store.paperByKey(arxivId) : undefined) ??
    (await app.store.paperByTitleKey(titleKey(reference)));
  if (!paper) throw new PaperboyError('NOT_FOUND', `no stored paper "${reference}" (ids are listed by \`paperboy papers\`)`);
  return paper;
}

function round(score: number): number {
  return Math.round(score * 100) / 100;
}
