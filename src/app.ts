import { systemClock, type Clock } from './clock.ts';
import { loadConfig, type Config } from './config/config.ts';
import { createLogger, type Logger } from './log.ts';
import { Store } from './store/store.ts';

/**
 * The composition root: the one place that wires config, store, clock and logger.
 * The CLI, the server and the scheduler all get their parts from here.
 */
export interface App {
  config: Config;
  store: Store;
  clock: Clock;
  logger: Logger;
  close(): void;
}

export interface AppOptions {
  env?: NodeJS.ProcessEnv;
  clock?: Clock;
  verbose?: boolean;
}

export function openApp(options: AppOptions = {}): App {
  const config = loadConfig(options.env);
  const logger = createLogger(config.logLevel, options.verbose);
  const store = new Store(config.dbPath);
  return {
    config,
    store,
    clock: options.clock ?? systemClock,
    logger,
    close: () => store.close(),
  };
}
