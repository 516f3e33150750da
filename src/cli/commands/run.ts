import type { Command } from 'commander';
import type { App } from '../../app.ts';
import type { RunReport, RunOptions } from '../../pipeline/run.ts';
import { EXIT_FAILED, EXIT_OK, emit, type CommonOptions } from '../output.ts';
import { withProgress } from '../progress.ts';
import { runCommand } from '../run-command.ts';

interface RunCliOptions extends CommonOptions {
  dryRun?: boolean;
  to?: string;
  force?: boolean;
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('the scheduled job: ingest the inbox, file papers, queue digests for due subscribers, deliver, report')
    .option('--dry-run', 'render and report; send nothing, record nothing')
    .option('--json', 'print one JSON document on stdout')
    .option('-v, --verbose', 'debug logs and stack traces')
    .addHelpText('after', '\nExit 1 if any message failed for good or delivery paused; the outbox is resumed by the next run.')
    .action((options: RunCliOptions) => runCommand(options, (app) => runAndReport(app, options, { trigger: 'scheduled', dryRun: options.dryRun })));

  program
    .command('send')
    .description("the admin's manual send, now: like `run`, recorded as a manual run")
    .option('--to <email>', 'only this subscriber')
    .option('--force', 'send to everyone selected now, whether or not their frequency says a digest is due')
    .option('--dry-run', 'render and report; send nothing, record nothing')
    .option('--json', 'print one JSON document on stdout')
    .option('-v, --verbose', 'debug logs and stack traces')
    .action((options: RunCliOptions) =>
      runCommand(options, (app) =>
        runAndReport(app, options, { trigger: 'manual', dryRun: options.dryRun, force: options.force, ...(options.to ? { to: options.to } : {}) }),
      ),
    );

}

export async function runAndReport(app: App, options: CommonOptions, runOptions: RunOptions): Promise<number> {
  const { runDigests } = await import('../../pipeline/run.ts');
  const { deliveryWorkersBesideRun } = await import('./deliver.ts');
  const deliveryWorkers = deliveryWorkersBesideRun(app.config.delivery.runWorkers, options.verbose ?? false);
  const report = await withProgress((onProgress) => runDigests({ ...app.pipeline(), onProgress, deliveryWorkers }, runOptions));
  emit(options, report, () => describeRun(report));
  return report.status === 'paused' || (report.delivery?.failed ?? 0) > 0 || report.ingest.failed > 0 ? EXIT_FAILED : EXIT_OK;
}

export function describeRun(report: RunReport): string {
  if (report.dry_run) {
    return [
      `Dry run (${report.trigger}): nothing was sent or recorded.`,
      `${report.ingest.pending_files ?? 0} listing files wait in the inbox (not ingested in a dry run).`,
      `${report.due} subscribers due; ${report.queued} digests would be sent (${report.papers} papers), ${report.nothing_new} with nothing new.`,
      ...(report.previews ?? []).map((preview) => `  ${preview.email}: ${preview.subject}`),
      `Mail would go to ${report.mailer}.`,
    ].join('\n');
  }
  const delivery = report.delivery!;
  return [
    `Run ${report.run_id} (${report.trigger}): ${report.status} in ${(report.duration_ms / 1000).toFixed(1)} s`,
    `  ingested ${report.ingest.files} listings (fetched and from the inbox) (${report.ingest.new} new papers, ${report.ingest.failed} failed); filed ${report.filed} papers by topic`,
    `  ${report.due} subscribers due: ${report.queued} digests queued (${report.papers} papers), ${report.nothing_new} with nothing new${report.resumed ? `; ${report.resumed} earlier messages resumed` : ''}`,
    `  delivered via ${report.mailer}: ${delivery.sent} sent, ${delivery.failed} failed (${delivery.bounced} bounced), ${delivery.retried} retries, ${delivery.deferred} still queued`,
    ...(delivery.pauseReason ? [`  PAUSED: ${delivery.pauseReason}`] : []),
    '`paperboy status` shows runs and the outbox.',
  ].join('\n');
}
