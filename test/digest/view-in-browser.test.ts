import { copyFileSync, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openApp, type App } from '../../src/app.ts';
import { runDigests } from '../../src/pipeline/run.ts';
import { startService, type Service } from '../../src/service/service.ts';
import { DUMP_FILES, tempDir } from '../helpers/paths.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';
import { describeInChromium, launchChromium } from '../helpers/browser.ts';

const PUBLIC_URL = 'https://papers.example.org';

/**
 * A real run: a listing dropped into the inbox, digests rendered and sent over real SMTP to
 * smtp-server on 127.0.0.1; the received message parsed with mailparser; its "View in browser"
 * link (rewritten from the public URL to the in-process `paperboy serve` web app) opened in
 * Chromium, which must show every paper of that digest, fitted or not.
 */
describeInChromium('the "View in browser" link of a received digest, in Chromium', () => {
  let sink: SmtpSink;
  let app: App;
  let service: Service;
  let browser: Browser;

  beforeAll(async () => {
    const dir = tempDir();
    sink = await startSmtpSink();
    app = openApp({
      env: {
        PAPERBOY_DB: join(dir, 'paperboy.db'),
        PAPERBOY_SOURCES: 'none', // offline: no fetch from the real Hugging Face
        PAPERBOY_INBOX: join(dir, 'inbox'),
        PAPERBOY_SMTP_URL: sink.url,
        PAPERBOY_FROM: 'Paperboy Digest <digest@papers.example.org>',
        PAPERBOY_PUBLIC_URL: PUBLIC_URL,
        PAPERBOY_SECRET: 'view-in-browser-secret-0123456789abcdef',
        PAPERBOY_PORT: '0',
        PAPERBOY_LOG_LEVEL: 'silent',
        // Fewer places than papers, so the digest has papers that did not fit.
        PAPERBOY_MAX_PER_DIGEST: '8',
        PAPERBOY_MAX_PER_TOPIC: '3',
      },
    });
    service = await startService(app, { schedule: false });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await service?.stop();
    await app?.close();
    await sink?.close();
  });

  it('opens the link from the received message and sees every paper of that digest', async () => {
    await app.store.insertSubscriber({ email: 'ada@example.org', name: 'Ada', topics: null, frequency: 'daily', weekday: null }, 'active', app.clock.now().toISOString());
    mkdirSync(app.config.inboxDir, { recursive: true });
    copyFileSync(DUMP_FILES[0]!, join(app.config.inboxDir, basename(DUMP_FILES[0]!)));
    const report = await runDigests(app.pipeline(), { trigger: 'manual' });
    expect(report).toMatchObject({ status: 'done', queued: 1, delivery: { sent: 1, failed: 0 } });

    const [mail] = sink.byRecipient().get('ada@example.org')!;
    const html = mail!.html as string;
    const view = /<a href="([^"]+)"[^>]*>View in browser<\/a>/.exec(html.replaceAll('&#x3D;', '=').replaceAll('&amp;', '&'))?.[1];
    expect(view).toMatch(new RegExp(`^${PUBLIC_URL}/d/[\\w.-]+$`));
    // The text part carries the same link.
    expect(mail!.text).toContain(view!);
    const local = new URL(new URL(view!).pathname, service.url).href;

    // The digest as recorded: every paper it offered, fitted (in the mail) or not (only on the page).
    const delivered = await app.store.deliveredPaperIds((await app.store.subscriberByEmail('ada@example.org'))!.id);
    expect(delivered).toHaveLength(8);
    const papers = await app.store.listPapers({});
    expect(papers.length).toBeGreaterThan(8);

    const page = await browser.newPage({ viewport: { width: 1024, height: 900 } });
    try {
      const response = await page.goto(local);
      expect(response?.status()).toBe(200);
      const shown = await page.evaluate<string[]>("[...document.querySelectorAll('article.paper h3 a')].map((a) => a.textContent.trim())");
      const fittedTags = await page.locator('article.paper .tag', { hasText: 'did not fit' }).count();
      // Every paper of the listing matched some topic of an all-topics subscriber: all are on the page, once.
      expect([...shown].sort()).toEqual(papers.map((paper) => paper.title).sort());
      expect(fittedTags).toBe(papers.length - 8);
      // And every paper that was in the mail is among them.
      const mailed = [...html.matchAll(/<h3[^>]*>\s*<a [^>]*>([^<]+)<\/a>/g)].map((match) => decode(match[1]!));
      expect(mailed).toHaveLength(8);
      for (const title of mailed) expect(shown).toContain(title);
    } finally {
      await page.close();
    }
  });
});

function decode(text: string): string {
  return text.replace(/&#x([0-9a-f]+);/gi, (_, hex: string) => String.fromCodePoint(parseInt(hex, 16))).replaceAll('&quot;', '"').replaceAll('&#39;', "'").replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&').trim();
}
