import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Hono } from 'hono';
import { simpleParser, type ParsedMail } from 'mailparser';
import type { Browser, Page } from 'playwright-core';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { systemClock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config/config.ts';
import { createCourier, type Courier } from '../../src/delivery/courier.ts';
import type { Mailer } from '../../src/delivery/mailer.ts';
import { createLogger } from '../../src/log.ts';
import { senderOf } from '../../src/pipeline/run.ts';
import { createRenderer } from '../../src/digest/render.ts';
import type { Store } from '../../src/store/port.ts';
import { openSqliteStore } from '../../src/store/sqlite/store.ts';
import { loadTaxonomy } from '../../src/topics/taxonomy.ts';
import { createWebApp } from '../../src/web/app.ts';
import { startWebServer, type WebServer } from '../../src/web/server.ts';
import { REPO_ROOT, tempDir } from '../helpers/paths.ts';
import { createSmtpMailer } from '../helpers/smtp-mailer.ts';
import { describeInChromium, launchChromium } from '../helpers/browser.ts';

const ARTIFACTS = join(REPO_ROOT, 'test-artifacts');
const EMAIL = 'ada@example.org';

/** A real SMTP server on a free local port that parses and keeps every message it accepts. */
async function startSmtpSink(): Promise<{ port: number; received: ParsedMail[]; close(): Promise<void> }> {
  const received: ParsedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream).then((mail) => {
        received.push(mail);
        callback();
      }, callback);
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.server.address() as AddressInfo).port,
    received,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

describeInChromium('subscription pages in Chromium, mail over real SMTP', () => {
  let store: Store;
  let smtp: Awaited<ReturnType<typeof startSmtpSink>>;
  let mailer: Mailer;
  let courier: Courier;
  let server: WebServer;
  let browser: Browser;

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    store = openSqliteStore(join(tempDir('paperboy-web-'), 'paperboy.db'));
    smtp = await startSmtpSink();
    mailer = createSmtpMailer(smtp.port);
    // Links in mail need the server's address, known only once it listens on port 0:
    // the server starts in front of an app created right after.
    let app: Hono | undefined;
    server = await startWebServer(new Hono().all('*', (c) => app!.fetch(c.req.raw, c.env)), { port: 0, host: '127.0.0.1' });
    const delivery = loadConfig({ PAPERBOY_FROM: 'Paperboy <digest@paperboy.test>' }).delivery;
    courier = createCourier({ store, mailer, clock: systemClock, config: delivery, logger: createLogger('silent') });
    app = createWebApp({
      store,
      taxonomy: loadTaxonomy(join(REPO_ROOT, 'data/topics.yaml')),
      renderer: await createRenderer({ templatesDir: join(REPO_ROOT, 'templates') }),
      courier,
      clock: systemClock,
      secret: 'browser-test-secret-0123456789abcdef012345',
      publicUrl: server.url,
      sender: senderOf(delivery),
      pendingTtlHours: 48,
      rateLimit: { perIpPerHour: 20, perAddressPerHour: 5 },
    });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await courier?.stop();
    await mailer?.close();
    await smtp?.close();
    await store?.close();
  });

  /**
   * A page that may only talk to our server and must log no console error (a CSP violation
   * would). Chromium logs every 4xx page as a failed load: those are pages the test asks for.
   */
  async function openPage(width: number, colorScheme: 'light' | 'dark' = 'light'): Promise<{ page: Page; problems: string[] }> {
    const page = await browser.newPage({ viewport: { width, height: 900 }, colorScheme });
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error' && !/status of 4\d\d/.test(message.text())) problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    await page.route((url) => !url.href.startsWith(server.url), (route) => {
      problems.push(`request outside the site: ${route.request().url()}`);
      return route.abort();
    });
    return { page, problems };
  }

  async function mailTo(subject: string): Promise<ParsedMail> {
    return vi.waitFor(
      () => {
        const mail = smtp.received.find((message) => message.subject === subject);
        if (!mail) throw new Error(`no mail "${subject}" yet`);
        return mail;
      },
      { timeout: 10_000, interval: 50 },
    );
  }

  function link(mail: ParsedMail, route: string): string {
    const found = new RegExp(`${server.url}/${route}\\?token=[\\w.-]+`).exec(mail.text ?? '');
    if (!found) throw new Error(`no /${route} link in:\n${mail.text}`);
    return found[0];
  }

  async function shot(page: Page, name: string): Promise<void> {
    await page.screenshot({ path: join(ARTIFACTS, `web-${name}.png`), fullPage: true });
  }

  it('signs up, confirms from the mail, changes preferences and unsubscribes', async () => {
    const { page, problems } = await openPage(1024);
    try {
      await page.goto(`${server.url}/`);
      await expect(page.locator('h1').textContent()).resolves.toBe('New research papers, by email');
      await expect(page.locator('input[name=topics]').count()).resolves.toBe(16);
      // The inline style sheet applies: the CSP allows it and nothing else.
      await expect(page.evaluate<string>('getComputedStyle(document.body).backgroundColor')).resolves.toBe('rgb(238, 240, 244)');
      await expect(page.evaluate<string>('getComputedStyle(document.body).fontFamily')).resolves.toMatch(/^system-ui, .*"Segoe UI"/);
      await shot(page, '1-form');

      // A mistake first: the form comes back with the message and what was typed.
      await page.getByLabel('Email address').fill('ada@');
      await page.getByLabel(/^Name/).fill('Ada Lovelace');
      await page.getByLabel('Reasoning & Math').check();
      await page.getByLabel('Robotics & Embodied AI').check();
      await page.getByRole('radio', { name: 'Weekly' }).check();
      await page.getByLabel('Day for weekly digests').selectOption('thu');
      await page.getByRole('button', { name: 'Subscribe' }).click();
      await expect(page.locator('#email-error').textContent()).resolves.toBe('The address is not a valid email address.');
      await expect(page.getByRole('alert').isVisible()).resolves.toBe(true);
      await expect(page.getByLabel('Robotics & Embodied AI').isChecked()).resolves.toBe(true);
      await expect(page.getByLabel('Day for weekly digests').inputValue()).resolves.toBe('thu');
      await shot(page, '2-form-error');

      await page.getByLabel('Email address').fill(EMAIL);
      await page.getByRole('button', { name: 'Subscribe' }).click();
      await expect(page.locator('h1').textContent()).resolves.toBe('Check your inbox');
      expect((await store.subscriberByEmail(EMAIL))).toMatchObject({ status: 'pending', topics: ['reasoning', 'robotics'], frequency: 'weekly', weekday: 4 });
      await shot(page, '3-check-inbox');

      const confirmation = await mailTo('Confirm your Paperboy subscription');
      expect(confirmation.to && 'text' in confirmation.to ? confirmation.to.text : '').toBe(`"Ada Lovelace" <${EMAIL}>`);
      expect(confirmation.from?.text).toBe('"Paperboy" <digest@paperboy.test>');
      expect(confirmation.messageId).toMatch(/^<[a-z0-9]+\.\d+\.[0-9a-f]{12}@paperboy\.test>$/);
      expect(confirmation.headers.has('list-unsubscribe')).toBe(false);
      // The link asks first (a link scanner's GET confirms nothing); the button confirms.
      await page.goto(link(confirmation, 'confirm'));
      await expect(page.locator('h1').textContent()).resolves.toBe('Confirm your subscription');
      expect((await store.subscriberByEmail(EMAIL))?.status).toBe('pending');
      await page.getByRole('button', { name: 'Confirm my subscription' }).click();
      await expect(page.locator('h1').textContent()).resolves.toBe('You are subscribed');
      await expect(page.locator('main').textContent()).resolves.toContain('weekly digest, every Thursday');
      await expect(page.locator('main li').allTextContents()).resolves.toEqual(['Reasoning & Math', 'Robotics & Embodied AI']);
      expect((await store.subscriberByEmail(EMAIL))?.status).toBe('active');
      await shot(page, '4-welcome');

      const welcome = await mailTo('You are subscribed to Paperboy');
      await page.goto(link(welcome, 'preferences'));
      await expect(page.getByLabel('Reasoning & Math').isChecked()).resolves.toBe(true);
      await expect(page.getByLabel(/^Name/).inputValue()).resolves.toBe('Ada Lovelace');
      await page.getByLabel('Robotics & Embodied AI').uncheck();
      await page.getByLabel('Code & Program Synthesis').check();
      await page.getByRole('radio', { name: 'Daily' }).check();
      await page.getByRole('button', { name: 'Save preferences' }).click();
      await expect(page.getByRole('status').textContent()).resolves.toContain('Saved.');
      expect((await store.subscriberByEmail(EMAIL))).toMatchObject({ status: 'active', topics: ['reasoning', 'code'], frequency: 'daily', weekday: null });
      await shot(page, '5-preferences-saved');

      // The link in the mail only shows a button (scanners fetch links); pressing it unsubscribes.
      await page.goto(link(welcome, 'unsubscribe'));
      await expect(page.locator('h1').textContent()).resolves.toBe('Unsubscribe?');
      expect((await store.subscriberByEmail(EMAIL))?.status).toBe('active');
      await shot(page, '6-unsubscribe');
      await page.getByRole('button', { name: 'Unsubscribe' }).click();
      await expect(page.locator('h1').textContent()).resolves.toBe('You are unsubscribed');
      expect((await store.subscriberByEmail(EMAIL))?.status).toBe('unsubscribed');
      await shot(page, '7-unsubscribed');
      expect(problems).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('fits a phone screen, shows the keyboard focus, and reads well in dark mode', async () => {
    const { page, problems } = await openPage(375, 'dark');
    try {
      await page.goto(`${server.url}/`);
      await expect(page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth')).resolves.toBeLessThanOrEqual(0);
      await page.keyboard.press('Tab');
      await page.keyboard.press('Tab');
      const focus = await page.evaluate<string[]>(
        '[document.activeElement.id, getComputedStyle(document.activeElement).outlineStyle, getComputedStyle(document.activeElement).outlineWidth]',
      );
      expect(focus).toEqual(['email', 'solid', '3px']);
      await expect(page.evaluate<string>('getComputedStyle(document.body).backgroundColor')).resolves.toBe('rgb(15, 17, 21)');
      await shot(page, '8-form-phone-dark');

      await page.goto(`${server.url}/confirm?token=expired-or-not`);
      await shot(page, '9-bad-link-phone-dark');
      expect(problems).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
