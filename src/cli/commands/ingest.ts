import type { Command } from 'commander';
import type { App } from '../../app.ts';
import type { IngestReport } from '../../ingest/ingest.ts';
import { EXIT_FAILED, EXIT_OK, emit, type CommonOptions } from '../output.ts';
import { withProgress } from '../progress.ts';
import { runCommand } from '../run-command.ts';

export function registerIngest(program: Command): void {
  program
    .command('ingest')
    .description('ingest listing files (HF dump text, HF API JSON, arXiv Atom or RSS); with no paths, every file in PAPERBOY_INBOX')
    .argument('[paths...]', 'listing files to ingest')
    .option('--json', 'print one JSON document on stdout')
    .option('-v, --verbose', 'debug logs and stack traces')
    .addHelpText('after', '\nInbox files are moved to archive/ (or failed/) beside them afterwards. Exit 1 if any file failed.')
    .action((paths: string[], options: CommonOptions) =>
      runCommand(options, async (app) => {
        const { ingestAndLog } = await import('../../pipeline/ingest.ts');
        const ingested = paths.length > 0 ? await ingestPaths(app, paths) : await ingestAndLog(app.sources({ offline: true }), ingestDeps(app));
        const report = { ...ingested, filed: await app.filePapers() };
        emit(options, report, () => `${describeIngest(report)}\n${report.filed} papers filed by topic`);
        return report.totals.failed > 0 ? EXIT_FAILED : EXIT_OK;
      }),
    );
}

/** Ingests named files, counting papers on a progress bar when a person is watching. */
export async function ingestPaths(app: App, paths: string[]): Promise<IngestReport> {
  const [{ ingestAndLog }, { pathsSource }] = await Promise.all([import('../../pipeline/ingest.ts'), import('../../sources/files.ts')]);
  return withProgress((onProgress) => ingestAndLog([pathsSource(paths)], { ...ingestDeps(app), onProgress }));
}

function ingestDeps(app: App) {
  return { store: app.store, clock: app.clock, logger: app.logger, maxListingBytes: app.config.maxListingBytes };
}

export function describeIngest(report: IngestReport): string {
  if (report.files.length === 0) return 'Nothing to ingest: the inbox is empty.';
  const lines = report.files.map((file) => {
    if (file.status === 'failed') return `failed    ${file.error}`;
    if (file.status === 'already-ingested') return `skipped   ${file.path}: already ingested`;
    const warned = file.warnings.length > 0 ? `, ${file.warnings.length} warning${file.warnings.length === 1 ? '' : 's'}` : '';
    return `ingested  ${file.path} (${file.format}): ${file.papers} papers, ${file.new} new, ${file.updated} updated${warned}`;
  });
  const { totals } = report;
  lines.push(`\n${totals.files} files: ${totals.papers} papers read, ${totals.new} new, ${totals.updated} updated, ${totals.failed} failed`);
  return lines.join('\n');
}
