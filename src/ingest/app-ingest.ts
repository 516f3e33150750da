import type { App } from '../app.ts';
import { ingestInbox } from './inbox.ts';
import { ingestFiles, type FileResult, type IngestReport } from './ingest.ts';

/**
 * Ingest as the shells run it (the CLI, the scheduled run): the app's store, clock and size
 * limit, and every file's warnings and failure logged the same way.
 */

export function ingestPathsOf(app: App, paths: string[], onFileDone?: (result: FileResult) => void): IngestReport {
  return ingestFiles(paths, ingestDeps(app), (result) => {
    onFileDone?.(result);
    logIngestResult(app, result);
  });
}

export function ingestInboxOf(app: App): IngestReport {
  app.logger.info({ inbox: app.config.inboxDir }, 'ingesting inbox');
  return ingestInbox(app.config.inboxDir, ingestDeps(app), (result) => logIngestResult(app, result));
}

function ingestDeps(app: App) {
  return { store: app.store, clock: app.clock, maxListingBytes: app.config.maxListingBytes };
}

function logIngestResult(app: App, result: FileResult): void {
  for (const warning of result.warnings) {
    app.logger.warn({ file: result.path, line: warning.line }, `${result.path}${warning.line ? `:${warning.line}` : ''}: ${warning.message}`);
  }
  if (result.status === 'failed') app.logger.error({ file: result.path }, result.error ?? 'failed');
  else app.logger.debug({ file: result.path, status: result.status, papers: result.papers, new: result.new }, 'listing done');
}
