import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import type { Command } from 'commander';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, emit, type CommonOptions } from '../output.ts';
import { withProgress } from '../progress.ts';
import { runCommand } from '../run-command.ts';
import { describeIngest, ingestPaths } from './ingest.ts';
import { describeRun } from './run.ts';
import { importSubscribers } from './subscribers.ts';

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('the main job on embedded defaults: sample listings, demo subscribers, a full run to the local outbox')
    .option('--json', 'print one JSON document on stdout')
    .option('-v, --verbose', 'debug logs and stack traces')
    .addHelpText('after', '\nThis is what `npm start` runs. It never mails anyone over SMTP: with PAPERBOY_SMTP_URL set it refuses (exit 2);\nadd real subscribers and use `paperboy run` instead.')
    .action((options: CommonOptions) =>
      runCommand(options, async (app) => {
        if (app.config.delivery.smtpUrl) {
          // The demo subscribers are example.com addresses: never put them through a real relay.
          process.stderr.write(
            `paperboy: PAPERBOY_SMTP_URL is set, so \`paperboy start\` (the demo on sample data) sends nothing to the demo subscribers; nothing was sent.\n` +
              `  For real mail: \`paperboy subscribers add YOU@EXAMPLE.ORG\`, then \`paperboy run\` (or \`paperboy serve\`). To see the demo, unset PAPERBOY_SMTP_URL and run \`npm start\` again.\n`,
          );
          return EXIT_USAGE;
        }
        const [{ runDigests }, { listingFilesIn }] = await Promise.all([import('../../pipeline/run.ts'), import('../../sources/files.ts')]);
        const samples = await ingestPaths(app, listingFilesIn(app.config.sampleListingsDir));
        const noSubscribers = Object.values(await app.store.subscriberCounts()).every((count) => count === 0);
        const demo = noSubscribers && existsSync(app.config.demoSubscribersPath) ? await importSubscribers(app, app.config.demoSubscribersPath) : null;
        // The demo stays offline and deterministic: the shipped samples, never the network.
        const run = await withProgress((onProgress) => runDigests({ ...app.pipeline({ offline: true }), onProgress }, { trigger: 'start' }));
        const where = app.config.delivery.smtpUrl ? app.mailer().description : relative(process.cwd(), app.config.delivery.outboxDir) || '.';
        emit(options, { samples, demo_subscribers: demo?.added ?? 0, run }, () =>
          [
            describeIngest(samples),
            ...(demo ? [`\nAdded ${demo.added} demo subscribers from ${relative(process.cwd(), app.config.demoSubscribersPath)}.`] : []),
            '',
            describeRun(run),
            '',
            `Look at the results: the messages are in ${where}/ (.eml as sent, .html to open in a browser);`,
            '`npx paperboy status` shows the run, `npx paperboy topics` the papers by topic,',
            '`npx paperboy preview ada@example.com --out digest.html` renders a digest without sending.',
            'Run `npm start` again tomorrow (or after dropping a new listing into data/inbox/) for the next digest.',
            'This demo fetched nothing from the network: `npx paperboy fetch` gets the latest papers from Hugging Face (PAPERBOY_SOURCES picks the sources), and `npx paperboy run` fetches before every digest.',
          ].join('\n'),
        );
        return samples.totals.failed > 0 || run.status !== 'done' || (run.delivery?.failed ?? 0) > 0 ? EXIT_FAILED : EXIT_OK;
      }),
    );
}
