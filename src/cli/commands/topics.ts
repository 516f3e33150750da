import type { Command } from 'commander';
import { EXIT_OK, emit, table, truncate, type CommonOptions } from '../output.ts';
import { runCommand } from '../run-command.ts';

const EXAMPLES = 3;

export function registerTopics(program: Command): void {
  program
    .command('topics')
    .description('the topic taxonomy: each topic with its paper count and a few example titles')
    .option('--json', 'print one JSON document on stdout')
    .option('-v, --verbose', 'debug logs and stack traces')
    .action((options: CommonOptions) =>
      runCommand(options, async (app) => {
        await app.filePapers();
        const { taxonomy } = app.topics();
        const counts = new Map((await app.store.topicCounts(EXAMPLES)).map((count) => [count.topicId, count]));
        const topics = taxonomy.topics.map((topic) => ({
          id: topic.id,
          name: topic.name,
          description: topic.description,
          papers: counts.get(topic.id)?.papers ?? 0,
          secondary: counts.get(topic.id)?.secondary ?? 0,
          examples: counts.get(topic.id)?.examples ?? [],
        }));
        emit(options, { taxonomy_version: taxonomy.version, topics }, () =>
          [
            table(
              ['ID', 'NAME', 'PAPERS', '+SECONDARY', 'EXAMPLE'],
              topics.map((topic) => [topic.id, topic.name, String(topic.papers), String(topic.secondary), truncate(topic.examples[0] ?? '', 60)]),
            ),
            `\ntaxonomy ${app.config.topicsPath} (version ${taxonomy.version})`,
          ].join('\n'),
        );
        return EXIT_OK;
      }),
    );
}
