import type { Command } from 'commander';
import { listingFilesIn } from '../../ingest/inbox.ts';
import { totalsOf } from '../../ingest/ingest.ts';
import { EXIT_FAILED, EXIT_OK, emit, type CommonOptions } from '../output.ts';
import { runCommand } from '../run-command.ts';
import { describeIngest, ingestInbox, ingestPaths } from './ingest.ts';

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('the main job on embedded defaults: ingest the sample listings and the inbox, then summarize')
    .option('--json', 'print one JSON document on stdout')
    .option('-v, --verbose', 'debug logs and stack traces')
    .action((options: CommonOptions) =>
      runCommand(options, (app) => {
        const samples = ingestPaths(app, listingFilesIn(app.config.sampleListingsDir));
        const inbox = listingFilesIn(app.config.inboxDir).length > 0 ? ingestInbox(app) : { files: [], totals: totalsOf([]) };
        const files = [...samples.files, ...inbox.files];
        const report = { files, totals: totalsOf(files), store: { path: app.config.dbPath, ...app.store.counts() } };
        emit(options, report, () =>
          [
            describeIngest(report),
            `\nThe store ${report.store.path} now holds ${report.store.papers} distinct papers.`,
            'Next: `npx paperboy papers` lists them.',
          ].join('\n'),
        );
        return report.totals.failed > 0 ? EXIT_FAILED : EXIT_OK;
      }),
    );
}
