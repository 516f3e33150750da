import { InvalidArgumentError, Option, type Command } from 'commander';
import type { FetchReport } from '../../pipeline/fetch.ts';
import { PaperboyError } from '../../errors.ts';
import { SOURCE_NAMES, type SourceName } from '../../sources/names.ts';
import { EXIT_FAILED, EXIT_OK, emit, table, type CommonOptions } from '../output.ts';
import { runCommand } from '../run-command.ts';

interface FetchCommandOptions extends CommonOptions {
  source?: SourceName;
  since?: string;
  until?: string;
  dryRun?: boolean;
}

const day = (name: string) => (value: string) => {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`))) {
    throw new InvalidArgumentError(`${name} must be a day such as 2026-07-14, got "${value}"`);
  }
  return value;
};

export function registerFetch(program: Command): void {
  program
    .command('fetch')
    .description('fetch new listings now from the sources PAPERBOY_SOURCES names (Hugging Face Daily Papers, arXiv) and ingest them')
    .addOption(new Option('--source <name>', 'only this source').choices(SOURCE_NAMES))
    .option('--since <day>', 'refetch from this day (YYYY-MM-DD), whatever the cursor says', day('--since'))
    .option('--until <day>', 'with --since: the last day to refetch (default today)', day('--until'))
    .option('--dry-run', 'show the requests a fetch would send; send none, store nothing')
    .option('--json', 'print one JSON document on stdout')
    .option('-v, --verbose', 'debug logs and stack traces')
    .addHelpText('after', '\nEach source resumes after its cursor (`paperboy status` shows it). Exit 1 if any source failed; the others are still ingested.')
    .action((options: FetchCommandOptions) =>
      runCommand(options, async (app) => {
        if (options.until && !options.since) throw new PaperboyError('USAGE', '--until needs --since');
        if (options.since && options.until && options.until < options.since) throw new PaperboyError('USAGE', `--until ${options.until} is before --since ${options.since}`);
        const { fetchSources } = await import('../../pipeline/fetch.ts');
        const sources = app.fetchingSources({
          ...(options.source ? { only: options.source } : {}),
          ...(options.since ? { range: { since: options.since, ...(options.until ? { until: options.until } : {}) } } : {}),
          dryRun: options.dryRun ?? false,
        });
        const report = await fetchSources(sources, { store: app.store, clock: app.clock, logger: app.logger, maxListingBytes: app.config.maxListingBytes, dryRun: options.dryRun ?? false });
        if (!options.dryRun && report.totals.new + report.totals.updated > 0) await app.filePapers();
        emit(options, report, () => describeFetch(report));
        return report.totals.failed > 0 ? EXIT_FAILED : EXIT_OK;
      }),
    );
}

export function describeFetch(report: FetchReport): string {
  if (report.sources.length === 0) return 'No sources to fetch: PAPERBOY_SOURCES=none (the inbox is the only source).';
  if (report.sources.every((source) => source.status === 'dry-run')) {
    return ['Dry run: nothing was requested or stored. A fetch would start with:', ...report.sources.flatMap((source) => source.planned!.map((url) => `  ${source.source}  ${url}`))].join('\n');
  }
  return [
    table(
      ['SOURCE', 'STATUS', 'REQUESTS', 'NOT MODIFIED', 'LISTINGS', 'PAPERS', 'NEW', 'UPDATED'],
      report.sources.map((source) => [source.source, source.status, String(source.requests), String(source.not_modified), String(source.listings), String(source.papers), String(source.new), String(source.updated)]),
    ),
    ...report.sources.filter((source) => source.error).map((source) => `${source.source}: ${source.error}`),
    '',
    `${report.totals.papers} papers read, ${report.totals.new} new, ${report.totals.updated} updated; ${report.totals.failed} source${report.totals.failed === 1 ? '' : 's'} failed`,
  ].join('\n');
}
