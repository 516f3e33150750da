import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config/config.ts';
import { createCourier } from '../../src/delivery/courier.ts';
import { createSmtpMailer } from '../../src/delivery/smtp-mailer.ts';
import { createRenderer } from '../../src/digest/render.ts';
import { createLogger } from '../../src/log.ts';
import { senderOf } from '../../src/pipeline/run.ts';
import { loadTaxonomy } from '../../src/topics/taxonomy.ts';
import { createWebApp } from '../../src/web/app.ts';
import { REPO_ROOT } from '../helpers/paths.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';
import { tempSqliteStore } from '../helpers/store.ts';

let sink: SmtpSink | undefined;
afterEach(async () => sink?.close());

describe('a confirmation through a relay that fails the first attempt', () => {
  it('arrives on the retry, once, and the page said "check your inbox" all along', async () => {
    sink = await startSmtpSink({ rcpt: (_address, attempt) => (attempt === 1 ? 451 : undefined) });
    const delivery = loadConfig({ PAPERBOY_SMTP_URL: sink.url, PAPERBOY_ALLOW_HTTP_LINKS: 'true', PAPERBOY_FROM: 'Paperboy <digest@papers.example.org>', PAPERBOY_RETRY_BASE_MS: '200' }).delivery;
    const { store } = tempSqliteStore();
    const clock = fixedClock('2026-11-23T07:00:00.000Z');
    const mailer = createSmtpMailer(delivery);
    const courier = createCourier({ store, mailer, clock, config: delivery, logger: createLogger('silent') });
    const app = createWebApp({
      store,
      taxonomy: loadTaxonomy(join(REPO_ROOT, 'data/topics.yaml')),
      renderer: await createRenderer({ templatesDir: join(REPO_ROOT, 'templates') }),
      courier,
      clock,
      secret: 'notice-retry-secret-0123456789abcdef0123',
      publicUrl: 'https://papers.example.org',
      sender: senderOf(delivery),
      pendingTtlHours: 48,
      rateLimit: { perIpPerHour: 10, perAddressPerHour: 10 },
    });
    try {
      const response = await app.request('/subscribe', {
        method: 'POST',
        body: new URLSearchParams({ email: 'ada@example.org', name: '', frequency: 'daily', weekday: 'mon', topics: 'reasoning' }),
      }, { incoming: { socket: { remoteAddress: '198.51.100.7' } } });
      expect(await response.text()).toContain('<h1>Check your inbox</h1>');
      await courier.idle();
      expect(sink.attempts.get('ada@example.org')).toBe(2);
      expect(sink.accepted.map((mail) => mail.subject)).toEqual(['Confirm your Paperboy subscription']);
      expect(await store.outboxCounts()).toEqual({ queued: 0, sent: 1, failed: 0 });
    } finally {
      await courier.stop();
      await mailer.close();
      await store.close();
    }
  });
});
