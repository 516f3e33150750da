import type { App } from '../app.ts';
import { runDigests, type RunOptions } from '../pipeline/run.ts';
import { createAdminRoutes } from '../web/admin.ts';
import { createWebApp } from '../web/app.ts';
import { startWebServer, type WebServer } from '../web/server.ts';
import { createScheduler, type Scheduler } from './scheduler.ts';

export interface Service {
  url: string;
  scheduler: Scheduler | null;
  /** Stops taking work, lets an in-flight run finish its current messages, closes the server. */
  stop(): Promise<void>;
}

/**
 * `paperboy serve`: the web pages, the admin API and the scheduler in one process, wired
 * from the composition root. Each calls the same pipeline function (`runDigests`).
 */
export async function startService(app: App, options: { schedule: boolean; port?: number }): Promise<Service> {
  const { config, store, clock, logger } = app;
  let stopping = false;
  const pipeline = app.pipeline();
  const run = (runOptions: RunOptions) => runDigests(pipeline, { ...runOptions, stopping: () => stopping });
  const web = createWebApp({
    store,
    taxonomy: app.topics().taxonomy,
    renderer: await app.renderer(),
    mailer: app.mailer(),
    clock,
    secret: app.secret(),
    publicUrl: config.publicUrl,
    from: config.delivery.from,
    pendingTtlHours: config.service.pendingTtlHours,
    rateLimit: config.service.rateLimit,
    trustProxy: config.service.trustProxy,
    logger,
    ...(config.service.adminToken ? { admin: createAdminRoutes({ token: config.service.adminToken, store, send: run }) } : {}),
  });
  const server: WebServer = await startWebServer(web, { host: config.service.host, port: options.port ?? config.service.port });
  logger.info({ url: server.url, admin: Boolean(config.service.adminToken) }, `listening on ${server.url}`);

  const scheduler = options.schedule
    ? createScheduler({
        schedule: config.service.schedule,
        timeZone: config.timeZone,
        clock,
        logger,
        state: store,
        run: (trigger) => run({ trigger }),
      })
    : null;
  if (scheduler) {
    const { caughtUp } = await scheduler.start();
    logger.info({ schedule: config.service.schedule, timeZone: config.timeZone, caughtUp }, `digests scheduled at "${config.service.schedule}" (${config.timeZone})`);
  }

  return {
    url: server.url,
    scheduler,
    async stop() {
      stopping = true;
      await scheduler?.stop();
      await server.close();
    },
  };
}
