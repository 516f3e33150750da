import type { Command } from 'commander';
import { EXIT_OK, emit, positiveInteger, table, type CommonOptions } from '../output.ts';
import { runCommand } from '../run-command.ts';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('recent runs, the outbox, subscribers, and who holds the delivery lease')
    .option('--limit <n>', 'how many runs to show', positiveInteger('--limit'), 10)
    .option('--recipients', "every message of the last run: to whom, its outcome and the relay's answer")
    .option('--json', 'print one JSON document on stdout')
    .option('-v, --verbose', 'debug logs and stack traces')
    .action((options: CommonOptions & { limit: number; recipients?: boolean }) =>
      runCommand(options, async (app) => {
        const [{ DELIVERY_LEASE }, { problemJson, recipientJson, runJson }, { sourceStatus }] = await Promise.all([
          import('../../delivery/lease.ts'),
          import('../../json-views.ts'),
          import('../../sources/fetching.ts'),
        ]);
        const runs = (await app.store.recentRuns(options.limit)).map(runJson);
        const problems = (await app.store.outboxProblems(10)).map(problemJson);
        const recipients = options.recipients && runs[0] ? (await app.store.runRecipients(runs[0].id)).map(recipientJson) : null;
        const sources = await Promise.all(app.config.sources.enabled.map((name) => sourceStatus(app.store, name)));
        const document = {
          runs,
          sources,
          problems,
          outbox: await app.store.outboxCounts(),
          subscribers: await app.store.subscriberCounts(),
          papers: (await app.store.countPapers()).papers,
          lease: (await app.store.leaseHolder(DELIVERY_LEASE)) ?? null,
          mailer: app.config.delivery.smtpUrl ? smtpDestination(app.config.delivery.smtpUrl) : `files in ${app.config.delivery.outboxDir}`,
          ...(options.recipients ? { recipients } : {}),
        };
        emit(options, document, () =>
          [
            runs.length === 0
              ? 'No runs yet: `paperboy run` (or `npm start`) makes the first.'
              : table(
                  ['RUN', 'TRIGGER', 'STARTED', 'STATUS', 'DUE', 'QUEUED', 'SENT', 'RETRIES', 'FAILED', 'BOUNCED', 'DEFERRED', 'SECONDS'],
                  runs.map((run) => [
                    String(run.id), run.trigger, run.started_at.slice(0, 19).replace('T', ' '), run.status,
                    String(run.due), String(run.queued), String(run.sent), String(run.retried), String(run.failed), String(run.bounced), String(run.deferred),
                    run.duration_ms === null ? '' : (run.duration_ms / 1000).toFixed(1),
                  ]),
                ),
            '',
            `outbox: ${document.outbox.queued} queued, ${document.outbox.sent} sent, ${document.outbox.failed} failed`,
            `subscribers: ${Object.entries(document.subscribers).map(([status, count]) => `${count} ${status}`).join(', ')}`,
            `papers: ${document.papers}; mail goes to ${document.mailer}`,
            sources.length === 0
              ? 'sources: the inbox only (PAPERBOY_SOURCES=none)'
              : `sources:\n${sources
                  .map((source) => `  ${source.source.padEnd(9)} cursor ${source.cursor ?? '(none yet)'}, last success ${source.last_success ?? 'never'}${source.last_error ? `, last error ${source.last_error.at}: ${source.last_error.error}` : ''}`)
                  .join('\n')}`,
            document.lease ? `delivery lease held by ${document.lease.holder} until ${document.lease.expiresAt}` : 'no run is delivering now',
            ...runs.filter((run) => run.error).slice(0, 3).map((run) => `run ${run.id}: ${run.error}`),
            ...(problems.length > 0
              ? ['', 'recent delivery problems:', ...problems.map((p) => `  ${p.status.padEnd(8)} ${p.recipient} after ${p.attempts} attempt(s): ${p.error ?? ''}${p.next_attempt_at ? ` (next try ${p.next_attempt_at})` : ''}`)]
              : []),
            ...(recipients
              ? ['', `recipients of run ${runs[0]!.id}:`, ...(recipients.length === 0 ? ['  (none)'] : recipients.map((r) => `  ${r.status.padEnd(7)} ${r.recipient} (${r.kind}, ${r.attempts} attempt(s))${r.smtp_reply ? `: ${r.smtp_reply}` : ''}`))]
              : options.recipients ? ['', 'no run yet: no recipients to show'] : []),
          ].join('\n'),
        );
        return EXIT_OK;
      }),
    );
}

/** Where SMTP mail goes, without the credentials in the URL. */
function smtpDestination(smtpUrl: string): string {
  const url = new URL(smtpUrl);
  return `${url.protocol}//${url.hostname}${url.port ? `:${url.port}` : ''}`;
}
