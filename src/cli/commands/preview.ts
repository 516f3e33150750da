import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { PaperboyError } from '../../errors.ts';
import { EXIT_OK, emit, type CommonOptions } from '../output.ts';
import { runCommand } from '../run-command.ts';

interface PreviewOptions extends CommonOptions {
  out?: string;
  text?: boolean;
}

export function registerPreview(program: Command): void {
  program
    .command('preview')
    .description("render a subscriber's next digest as it stands now, recording nothing")
    .argument('<email>', 'the subscriber')
    .option('--out <file.html>', 'write the HTML part to this file')
    .option('--text', 'print the plain-text part on stdout')
    .option('--json', 'print one JSON document on stdout')
    .option('-v, --verbose', 'debug logs and stack traces')
    .action((email: string, options: PreviewOptions) =>
      runCommand(options, async (app) => {
        const [{ prepareDigest }, { parseEmail }] = await Promise.all([import('../../digest/prepare.ts'), import('../../subscribers/subscriber.ts')]);
        const subscriber = await app.store.subscriberByEmail(parseEmail(email));
        if (!subscriber) throw new PaperboyError('NOT_FOUND', `no subscriber ${email} (see \`paperboy subscribers list\`)`);
        await app.filePapers();
        const digest = await prepareDigest(app.digestContext(), subscriber, app.clock.now());
        const empty = digest.selection.paperIds.length === 0;
        const message = empty ? null : (await app.renderer()).renderDigest(digest.data);
        if (message && options.out) writeFileSync(options.out, message.html);
        const document = {
          email: subscriber.email,
          since: digest.since,
          papers: digest.selection.paperIds.length,
          omitted: digest.selection.omittedCount,
          sections: digest.data.sections.map((section) => ({ topic: section.topic.id, papers: section.papers.map((paper) => paper.id), more: section.moreCount })),
          scores: digest.selection.sections.flatMap((section) =>
            section.papers.map((paper) => ({ id: paper.key, topic: section.topicId, carried: paper.carried, score: paper.score })),
          ),
          subject: message?.subject ?? null,
          preheader: message?.preheader ?? null,
          html_bytes: message ? Buffer.byteLength(message.html) : 0,
          out: message && options.out ? options.out : null,
          ...(options.text ? { text: message?.text ?? null } : {}),
        };
        if (options.text && !options.json) {
          process.stdout.write(message ? message.text : `Nothing new for ${subscriber.email} since ${digest.since}.\n`);
          return EXIT_OK;
        }
        emit(options, document, () =>
          message
            ? [
                `Subject: ${message.subject}`,
                `Preview: ${message.preheader}`,
                '',
                ...digest.data.sections.map((section) => `  ${section.topic.name}: ${section.papers.length}${section.moreCount ? ` (+${section.moreCount} more)` : ''}`),
                '',
                `${document.papers} papers since ${digest.since}; HTML ${(document.html_bytes / 1024).toFixed(1)} KB`,
                options.out ? `HTML written to ${options.out}` : 'Use --out FILE.html to save the HTML part, --text to print the text part.',
                'Nothing was recorded: this was a preview.',
              ].join('\n')
            : `Nothing new for ${subscriber.email} since ${digest.since}: no digest would be sent.`,
        );
        return EXIT_OK;
      }),
    );
}
