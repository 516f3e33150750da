import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openApp, type App } from '../../src/app.ts';
import { startService, type Service } from '../../src/service/service.ts';
import { signToken } from '../../src/tokens.ts';
import { DUMP_FILES, REPO_ROOT, tempDir } from '../helpers/paths.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';
import { ingestPaths } from '../helpers/store.ts';
import { describeInChromium, launchChromium } from '../helpers/browser.ts';

const TOKEN = 'console-browser-token-0123456789abcdef';
const AXE = join(REPO_ROOT, 'node_modules/axe-core/axe.min.js');

/** axe-core run inside the page, in light and in dark: the violations' ids and the first node of each. */
async function axeViolations(page: Page, options: { mail?: boolean } = {}): Promise<string[]> {
  // A mail is not a page: it has no <main> landmark to put its content in (best-practice rules, not WCAG).
  const config = options.mail ? '{ rules: { "landmark-one-main": { enabled: false }, region: { enabled: false } } }' : '{}';
  const found: string[] = [];
  for (const colorScheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme });
    if (!(await page.evaluate('typeof window.axe !== "undefined"'))) await page.addScriptTag({ path: AXE });
    const violations = (await page.evaluate(`axe.run(document, ${config}).then((r) => r.violations.map((v) => v.id + ": " + v.nodes[0].html))`)) as string[];
    found.push(...violations.map((v) => `${colorScheme} ${page.url()} ${v}`));
  }
  await page.emulateMedia({ colorScheme: 'light' });
  return found;
}

describeInChromium('admin console in Chromium, mail over real SMTP', () => {
  let app: App;
  let service: Service;
  let sink: SmtpSink;
  let browser: Browser;
  let runId: number;
  let bouncedId: number;

  beforeAll(async () => {
    sink = await startSmtpSink();
    const dir = tempDir();
    app = openApp({
      env: {
        PAPERBOY_DB: join(dir, 'paperboy.db'),
        PAPERBOY_SOURCES: 'none', // offline: no fetch from the real Hugging Face
        PAPERBOY_INBOX: join(dir, 'inbox'),
        PAPERBOY_PORT: '0',
        PAPERBOY_LOG_LEVEL: 'silent',
        PAPERBOY_ADMIN_TOKEN: TOKEN,
        PAPERBOY_SMTP_URL: sink.url,
        PAPERBOY_FROM: 'Paperboy <digest@paperboy.test>',
        PAPERBOY_SECRET: 'console-browser-secret-0123456789abcdef0123',
        PAPERBOY_PUBLIC_URL: 'https://paperboy.test',
      },
    });
    service = await startService(app, { schedule: false });
    await ingestPaths(app.store, app.clock, [DUMP_FILES[0]!]);
    const now = app.clock.now().toISOString();
    await app.store.insertSubscriber({ email: 'reader@example.org', name: null, topics: null, frequency: 'daily', weekday: null }, 'active', now);
    const bounced = await app.store.insertSubscriber({ email: 'gone@example.org', name: null, topics: null, frequency: 'daily', weekday: null }, 'bounced', now);
    bouncedId = bounced!.id;
    const report = (await (await fetch(`${service.url}/admin/api/send`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: '{}' })).json()) as { run_id: number };
    runId = report.run_id;
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await service?.stop();
    await app?.close();
    await sink?.close();
  });

  it('signs in, shows the last run and its recipients, reactivates, previews, sends a test, signs out; axe finds nothing', async () => {
    // The pages allow no script at all; axe is injected by the test around that policy.
    const page = await (await browser.newContext({ bypassCSP: true })).newPage();
    const violations: string[] = [];

    await page.goto(`${service.url}/admin`);
    expect(new URL(page.url()).pathname).toBe('/admin/sign-in');
    violations.push(...(await axeViolations(page)));
    await page.fill('#token', 'wrong');
    await page.click('button[type=submit]');
    expect(await page.textContent('[role=alert]')).toContain('not the admin token');
    await page.fill('#token', TOKEN);
    await page.click('button[type=submit]');
    expect(new URL(page.url()).pathname).toBe('/admin');
    expect(await page.textContent('main')).toContain(`Run ${runId}: manual`);
    violations.push(...(await axeViolations(page)));

    await page.click('text=Runs');
    violations.push(...(await axeViolations(page)));
    await page.click(`text=Run ${runId}`);
    expect(new URL(page.url()).pathname).toBe(`/admin/runs/${runId}`);
    const row = await page.textContent('tbody tr');
    expect(row).toContain('reader@example.org');
    expect(row).toContain('sent');
    violations.push(...(await axeViolations(page)));

    await page.goto(`${service.url}/admin/subscribers?status=bounced`);
    expect(await page.textContent('tbody')).toContain('gone@example.org');
    violations.push(...(await axeViolations(page)));
    await page.click('text=gone@example.org');
    violations.push(...(await axeViolations(page)));
    await page.click('text=Reactivate');
    expect(await page.textContent('[role=status]')).toBe('Reactivated: gone@example.org is active again.');
    expect((await app.store.subscriberById(bouncedId))!.status).toBe('active');

    // gone@ got nothing yet: their next digest has papers.
    await page.click('text=Preview their next digest');
    expect(new URL(page.url()).pathname).toBe(`/admin/subscribers/${bouncedId}/preview`);
    expect(await page.textContent('body')).toContain('You get this daily digest because gone@example.org subscribed');
    violations.push(...(await axeViolations(page, { mail: true })));
    await page.goto(`${service.url}/admin/subscribers/${bouncedId}`);

    const before = sink.accepted.length;
    await page.fill('#test-to', 'tester@example.net');
    await page.click('text=Send test');
    expect(await page.textContent('[role=status]')).toMatch(/^Test sent to tester@example\.net: 250/);
    expect(sink.accepted.length).toBe(before + 1);
    const test = sink.accepted.at(-1)!;
    expect(test.subject).toMatch(/^\[test\] /);
    expect((Array.isArray(test.to) ? test.to[0] : test.to)?.value[0]?.address).toBe('tester@example.net');
    // A test records no delivery: gone@ is still due for the same digest.
    expect((await app.store.subscriberById(bouncedId))!.lastDigestAt).toBeNull();

    await page.click('text=Send');
    violations.push(...(await axeViolations(page)));
    await page.click('text=Sign out');
    expect(new URL(page.url()).pathname).toBe('/admin/sign-in');
    await page.goto(`${service.url}/admin`);
    expect(new URL(page.url()).pathname).toBe('/admin/sign-in');

    // The public pages.
    const reader = (await app.store.subscriberByEmail('reader@example.org'))!;
    for (const path of ['/', '/no-such-page', '/archive', `/preferences?token=${signToken(app.secret(), 'preferences', reader)}`, `/unsubscribe?token=${signToken(app.secret(), 'unsubscribe', reader)}`]) {
      await page.goto(`${service.url}${path}`);
      violations.push(...(await axeViolations(page)));
    }
    await page.close();
    expect(violations).toEqual([]);
  }, 120_000);
});
