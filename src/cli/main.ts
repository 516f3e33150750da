import { Command, CommanderError } from 'commander';
import { registerDb } from './commands/db.ts';
import { registerDeliver } from './commands/deliver.ts';
import { registerExplain } from './commands/explain.ts';
import { registerFetch } from './commands/fetch.ts';
import { registerIngest } from './commands/ingest.ts';
import { registerPapers } from './commands/papers.ts';
import { registerPreview } from './commands/preview.ts';
import { registerRun } from './commands/run.ts';
import { registerServe } from './commands/serve.ts';
import { registerStart } from './commands/start.ts';
import { registerStatus } from './commands/status.ts';
import { registerSubscribers } from './commands/subscribers.ts';
import { registerTopics } from './commands/topics.ts';
import { EXIT_USAGE } from './output.ts';

const program = new Command()
  .name('paperboy')
  .description('Self-hosted research-paper digest: ingest listings, file papers by topic, mail subscribers what is new to them.')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

registerStart(program);
registerFetch(program);
registerIngest(program);
registerPapers(program);
registerTopics(program);
registerExplain(program);
registerSubscribers(program);
registerPreview(program);
registerRun(program);
registerDeliver(program);
registerStatus(program);
registerServe(program);
registerDb(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (!(error instanceof CommanderError)) throw error;
  // Commander has already printed its message; help and version are successes, the rest usage errors.
  process.exitCode = error.exitCode === 0 ? 0 : EXIT_USAGE;
}
