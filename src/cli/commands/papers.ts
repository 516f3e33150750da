import type { Command } from 'commander';
import type { App } from '../../app.ts';
import { PaperboyError } from '../../errors.ts';
import type { PaperListItem } from '../../model/paper.ts';
import { EXIT_OK, emit, isoDate, positiveInteger, table, truncate, type CommonOptions } from '../output.ts';
import { runCommand } from '../run-command.ts';

interface PapersOptions extends CommonOptions {
  since?: string;
  limit?: number;
  topic?: string;
}

export function registerPapers(program: Command): void {
  program
    .command('papers')
    .description('list stored papers, newest first, with the topics they are filed under')
    .option('--since <date>', 'only papers first seen on or after this date (YYYY-MM-DD)', isoDate('--since'))
    .option('--limit <n>', 'at most this many papers', positiveInteger('--limit'))
    .option('--topic <id>', 'only papers whose primary topic is this topic id (see `paperboy topics`)')
    .option('--json', 'print one JSON document on stdout')
    .option('-v, --verbose', 'debug logs and stack traces')
    .action((options: PapersOptions) =>
      runCommand(options, async (app) => {
        if (options.topic) requireTopic(app, options.topic);
        await app.filePapers();
        const papers = (await app.store.listPapers({ since: options.since ?? null, limit: options.limit ?? null, topic: options.topic ?? null })).map(paperJson);
        emit(options, { papers, count: papers.length }, () =>
          papers.length === 0
            ? 'No papers match: run `paperboy ingest FILE…` first, or widen the filters.'
            : `${table(
                ['ID', 'FIRST SEEN', 'TOPICS', 'TITLE'],
                papers.map((paper) => [paper.id, paper.first_seen.slice(0, 10), paper.topics.join(','), truncate(paper.title, 80)]),
              )}\n\n${papers.length} papers`,
        );
        return EXIT_OK;
      }),
    );
}

export function requireTopic(app: App, topicId: string): void {
  const ids = app.topics().taxonomy.topics.map((topic) => topic.id);
  if (!ids.includes(topicId)) throw new PaperboyError('USAGE', `unknown topic "${topicId}"; topics are: ${ids.join(', ')}`);
}

function paperJson(paper: PaperListItem) {
  return {
    id: paper.key,
    arxiv_id: paper.arxivId,
    title: paper.title,
    first_seen: paper.firstSeen,
    last_seen: paper.lastSeen,
    published_on: paper.publishedOn,
    authors: paper.authors,
    author_count: paper.authorCount,
    organization: paper.organization,
    upvotes: paper.upvotes,
    comments: paper.comments,
    primary_topic: paper.primaryTopic,
    topics: paper.topics.map((topic) => topic.topicId),
    evidence: Object.fromEntries(paper.topics.map((topic) => [topic.topicId, topic.evidence])),
    sources: paper.sources,
  };
}
