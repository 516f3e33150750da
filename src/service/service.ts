import { Hono } from 'hono';
import type { App } from '../app.ts';
import { randomUUID } from 'node:crypto';
import type { Config } from '../config/config.ts';
import { prepareDigest } from '../digest/prepare.ts';
import type { ConsoleDeps, SourceHealth } from '../web/console.ts';
import { createCourier, type Courier } from '../delivery/courier.ts';
import { runDigests, senderOf, type RunOptions } from '../pipeline/run.ts';
import { createAdminRoutes } from '../web/admin.ts';
import { createWebApp } from '../web/app.ts';
import { startWebServer, type WebServer } from '../web/server.ts';
import { createScheduler, type Scheduler } from './scheduler.ts';

export interface Service {
  url: string;
  scheduler: Scheduler | null;
  courier: Courier;
  /** Stops taking work, lets an in-flight run finish its current messages, closes the server. */
  stop(): Promise<void>;
}

export interface ServiceOptions {
  schedule: boolean;
  port?: number;
  /**
   * Aborted when a shutdown was asked for; the caller installs its signal handlers before
   * anything starts, so a SIGTERM during the start-up catch-up run ends that run like any other.
   */
  signal?: AbortSignal;
}

/** How often the courier looks for notices whose retry has come (kicks send new ones at once). */
const COURIER_INTERVAL_MS = 30_000;

/**
 * `paperboy serve`: the web pages, the admin API, the notice courier and the scheduler in one
 * process, wired from the composition root. Each calls the same pipeline function (`runDigests`).
 */
export async function startService(app: App, options: ServiceOptions): Promise<Service> {
  const { config, store, clock, logger } = app;
  let stopped = false;
  const stopping = () => stopped || (options.signal?.aborted ?? false);
  const pipeline = app.pipeline();
  const run = async (runOptions: RunOptions) => {
    const report = await runDigests(pipeline, { ...runOptions, stopping });
    const delivery = report.delivery;
    logger.info(
      { run: report.run_id ?? null, trigger: report.trigger, status: report.status, due: report.due, queued: report.queued, sent: delivery?.sent ?? 0, failed: delivery?.failed ?? 0 },
      report.dry_run
        ? `dry run (${report.trigger}): ${report.queued} digests would be sent`
        : `run ${report.run_id} (${report.trigger}) ${report.status}: ${report.due} due, ${report.queued} queued, ${delivery?.sent ?? 0} sent, ${delivery?.failed ?? 0} failed`,
    );
    return report;
  };
  const courier = createCourier({ store, mailer: app.mailer(), clock, config: config.delivery, logger, stopping, intervalMs: COURIER_INTERVAL_MS });
  const web = createWebApp({
    store,
    taxonomy: app.topics().taxonomy,
    renderer: await app.renderer(),
    courier,
    clock,
    secret: app.secret(),
    publicUrl: config.publicUrl,
    listName: config.listName,
    sender: senderOf(config.delivery),
    pendingTtlHours: config.service.pendingTtlHours,
    // Without the scheduler (--no-schedule) no run time is promised: runs come from elsewhere.
    ...(options.schedule ? { schedule: config.service.schedule } : {}),
    timeZone: config.timeZone,
    rateLimit: config.service.rateLimit,
    trustProxy: config.service.trustProxy,
    logger,
    ...(config.service.adminToken ? { admin: createAdminRoutes(
            { token: config.service.adminToken, store, clock, send: run, topicIds: app.topics().taxonomy.topics.map((topic) => topic.id) },
            { sessionHours: config.service.adminSessionHours, secureCookie: config.publicUrl.startsWith('https:'), schedule: config.service.schedule, timeZone: config.timeZone, listName: config.listName, sources: () => sourceHealth(app), ...consolePreview(app, config) },
          ) } : {}),
  });
  const server: WebServer = await startWebServer(withActionLog(web, logger), { host: config.service.host, port: options.port ?? config.service.port });
  logger.info({ url: server.url, admin: Boolean(config.service.adminToken) }, `listening on ${server.url}`);
  // Notices left queued by a process that stopped go out now.
  courier.kick();

  const scheduler = options.schedule
    ? createScheduler({
        schedule: config.service.schedule,
        timeZone: config.timeZone,
        clock,
        logger,
        state: store,
        run: (trigger) => run({ trigger }),
        stopping,
        ticks: store,
      })
    : null;
  if (scheduler) {
    const { caughtUp } = await scheduler.start();
    logger.info({ schedule: config.service.schedule, timeZone: config.timeZone, caughtUp }, `digests scheduled at "${config.service.schedule}" (${config.timeZone})`);
  }

  return {
    url: server.url,
    scheduler,
    courier,
    async stop() {
      stopped = true;
      await scheduler?.stop();
      await courier.stop();
      await server.close();
    },
  };
}

/** What a request did, for the log: the actions an operator wants in the journal. */
function actionOf(method: string, path: string): string | null {
  if (path.startsWith('/admin')) return method === 'GET' ? null : 'admin action';
  if (method === 'POST' && path === '/subscribe') return 'sign-up';
  if (path === '/confirm' && method === 'POST') return 'confirm';
  if (path === '/unsubscribe' && method === 'POST') return 'unsubscribe';
  if (path === '/preferences' && method === 'POST') return 'preferences saved';
  return null;
}

/**
 * Logs each sign-up, confirmation, unsubscribe, preferences change and admin action at info
 * (method, path, status, time; never the query, which holds tokens, nor the address).
 */
function withActionLog(web: Hono, logger: App['logger']): Hono {
  const outer = new Hono();
  outer.use(async (c, next) => {
    const started = performance.now();
    await next();
    const action = actionOf(c.req.method, c.req.path);
    if (action) {
      const ms = Math.round(performance.now() - started);
      logger.info({ action, method: c.req.method, path: c.req.path, status: c.res.status, ms }, `${action}: ${c.req.method} ${c.req.path} → ${c.res.status} (${ms} ms)`);
    }
  });
  // Hand every request to the app whole (not `route`), so its own not-found and error pages answer.
  outer.all('*', (c) => web.fetch(c.req.raw, c.env));
  return outer;
}

/** The console's preview and test send: the preview command's rendering, mailed outside the outbox. */
function consolePreview(app: App, config: Config): Pick<ConsoleDeps, 'preview' | 'sendTest'> {
  return {
    preview: async (subscriber) => {
      await app.filePapers();
      const digest = await prepareDigest(app.digestContext(), subscriber, app.clock.now());
      if (digest.selection.paperIds.length === 0) return null;
      const message = (await app.renderer()).renderDigest(digest.data);
      return { subject: message.subject, html: message.html, text: message.text };
    },
    sendTest: async (preview, to) => {
      const sender = senderOf(config.delivery);
      const outcome = await app.mailer().send({
        messageId: `<test-${randomUUID()}@${sender.messageIdDomain}>`,
        from: sender.from,
        ...(sender.replyTo ? { replyTo: sender.replyTo } : {}),
        to: { email: to, name: null },
        subject: `[test] ${preview.subject}`,
        html: preview.html,
        text: preview.text,
        date: app.clock.now(),
      });
      return { ok: outcome.status === 'sent', response: outcome.response };
    },
  };
}

/** Each network source's cursor and last outcome, for the console's overview. */
async function sourceHealth(app: App): Promise<SourceHealth[]> {
  const { sourceStatus } = await import('../sources/fetching.ts');
  return Promise.all(
    app.config.sources.enabled.map(async (name) => {
      const status = await sourceStatus(app.store, name);
      const failedLast = status.last_error !== null && (status.last_success === null || status.last_error.at > status.last_success);
      return {
        name,
        ok: !failedLast,
        detail: `cursor ${status.cursor ?? '(none yet)'}, last success ${status.last_success ?? 'never'}${failedLast ? `; last error: ${status.last_error!.error}` : ''}`,
      };
    }),
  );
}
