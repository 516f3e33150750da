import type { Command } from 'commander';
import { EXIT_OK, emit, isoDate, positiveInteger, table, truncate, type CommonOptions } from '../output.ts';
import { runCommand } from '../run-command.ts';

interface PapersOptions extends CommonOptions {
  since?: string;
  limit?: number;
}

export function registerPapers(program: Command): void {
  program
    .command('papers')
    .description('list stored papers, newest first')
    .option('--since <date>', 'only papers first seen on or after this date (YYYY-MM-DD)', isoDate('--since'))
    .option('--limit <n>', 'at most this many papers', positiveInteger('--limit'))
    .option('--json', 'print one JSON document on stdout')
    .option('-v, --verbose', 'debug logs and stack traces')
    .action((options: PapersOptions) =>
      runCommand(options, (app) => {
        const papers = app.store.listPapers({ since: options.since ?? null, limit: options.limit ?? null }).map((paper) => ({
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
          sources: paper.sources,
        }));
        emit(options, { papers, count: papers.length }, () =>
          papers.length === 0
            ? 'No papers stored yet: run `paperboy ingest FILE…`.'
            : `${table(
                ['ID', 'FIRST SEEN', 'SOURCES', 'TITLE'],
                papers.map((paper) => [paper.id, paper.first_seen.slice(0, 10), String(paper.sources.length), truncate(paper.title, 90)]),
              )}\n\n${papers.length} papers`,
        );
        return EXIT_OK;
      }),
    );
}
