import type { Command } from 'commander';
import { EXIT_OK, positiveInteger, type CommonOptions } from '../output.ts';
import { runCommand } from '../run-command.ts';

interface ServeOptions extends CommonOptions {
  schedule: boolean;
  port?: number;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('the long-running service: subscription pages, admin API and the digest schedule')
    .option('--no-schedule', 'serve the pages and admin API only; send no scheduled digests')
    .option('--port <port>', 'listen on this port instead of PAPERBOY_PORT', positiveInteger('--port'))
    .option('--json', 'print one JSON document on stdout when the service has stopped')
    .option('-v, --verbose', 'debug logs and stack traces')
    .addHelpText('after', '\nSIGTERM or SIGINT: stop taking work, let the current message finish, exit 0. A second signal exits at once.')
    .action((options: ServeOptions) =>
      runCommand(options, async (app) => {
        // Before any work: a signal during the start-up catch-up run must end it like any other run.
        const shutdown = new AbortController();
        const signalled = new Promise<NodeJS.Signals>((resolve) => {
          const on = (signal: NodeJS.Signals) => () => {
            shutdown.abort();
            resolve(signal);
          };
          process.once('SIGTERM', on('SIGTERM'));
          process.once('SIGINT', on('SIGINT'));
        });
        const { startService } = await import('../../service/service.ts');
        const service = await startService(app, { schedule: options.schedule, signal: shutdown.signal, ...(options.port ? { port: options.port } : {}) });
        if (!options.json && !shutdown.signal.aborted) process.stdout.write(`Paperboy is serving ${service.url}${options.schedule ? '' : ' (no schedule)'}; Ctrl-C stops it.\n`);
        const signal = await signalled;
        process.once(signal, () => process.exit(1));
        app.logger.info({ signal }, 'shutting down: finishing in-flight work');
        await service.stop();
        if (options.json) process.stdout.write(`${JSON.stringify({ stopped: signal, url: service.url })}\n`);
        return EXIT_OK;
      }, { logLevel: 'info' }),
    );
}
