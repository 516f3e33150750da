import type { App } from '../app.ts';
import { isPaperboyError, oneLine, type ErrorCode } from '../errors.ts';
import { EXIT_FAILED, EXIT_USAGE, type CommonOptions } from './output.ts';

/** Errors in how Paperboy was called or configured: exit 2, like a usage error. */
const SETUP_ERRORS = new Set<ErrorCode>(['USAGE', 'CONFIG_INVALID', 'TAXONOMY_INVALID', 'SUBSCRIBER_INVALID']);

/**
 * Opens the app for one command, runs it, and turns any error into one line on stderr
 * (a stack trace only with --verbose). The command returns its exit code.
 */
export async function runCommand(options: CommonOptions, command: (app: App) => Promise<number> | number, defaults: { logLevel?: string } = {}): Promise<void> {
  let app: App | undefined;
  try {
    // Loaded here, not at the top: `--help` and argument errors never pay for the app's modules.
    const { openApp } = await import('../app.ts');
    app = openApp({ verbose: options.verbose, json: options.json, ...(defaults.logLevel ? { defaultLogLevel: defaults.logLevel } : {}) });
    for (const warning of app.config.warnings) process.stderr.write(`paperboy: warning: ${warning}\n`);
    process.exitCode = await command(app);
  } catch (error) {
    process.stderr.write(`paperboy: ${oneLine(error)}\n`);
    if (options.verbose && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    process.exitCode = isPaperboyError(error) && SETUP_ERRORS.has(error.code) ? EXIT_USAGE : EXIT_FAILED;
  } finally {
    await app?.close();
  }
}
