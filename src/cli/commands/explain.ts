import type { Command } from 'commander';
import type { App } from '../../app.ts';
import { PaperboyError } from '../../errors.ts';
import { normalizeArxivId, titleKey } from '../../ingest/identity.ts';
import type { StoredPaper } from '../../model/paper.ts';
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
        const names = new Map(taxonomy.topics.map((topic) => [topic.id, topic.name]));
        const document = {
          id: paper.key,
          title: paper.title,
          taxonomy_version: taxonomy.version,
          primary_topic: result.primary,
          secondary_topics: result.secondary,
          scores: result.scores.map((score) => ({ topic: score.topicId, name: names.get(score.topicId), score: round(score.score), evidence: score.evidence })),
        };
        emit(options, document, () =>
          [
            `${paper.key}  ${paper.title}`,
            `filed under ${result.primary}${result.secondary.length > 0 ? `, also ${result.secondary.join(', ')}` : ''}`,
            '',
            ...document.scores.map((score) => `${score.topic.padEnd(14)} ${String(score.score).padStart(6)}  ${score.evidence.join('; ')}`),
          ].join('\n'),
        );
        return EXIT_OK;
      }),
    );
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
