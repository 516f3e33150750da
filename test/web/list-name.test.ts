import { join } from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import { afterEach, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config/config.ts';
import { outboxMessage } from '../../src/delivery/queue.ts';
import { createRenderer } from '../../src/digest/render.ts';
import { isPaperboyError } from '../../src/errors.ts';
import { senderOf } from '../../src/pipeline/run.ts';
import type { Store } from '../../src/store/port.ts';
import { loadTaxonomy } from '../../src/topics/taxonomy.ts';
import { createAdminRoutes } from '../../src/web/admin.ts';
import { createWebApp } from '../../src/web/app.ts';
import { createNotices } from '../../src/web/notices.ts';
import { REPO_ROOT } from '../helpers/paths.ts';
import { sampleDigest, samplePapers } from '../helpers/sample-digest.ts';
import { tempSqliteStore } from '../helpers/store.ts';

// Markup, a Handlebars expression and an ampersand: each must arrive as text, never as code.
const HOSTILE = 'Lab <b>&</b> {{x}}';
const HOSTILE_HTML = 'Lab &lt;b&gt;&amp;&lt;/b&gt; {{x}}';
const NOW = new Date('2026-11-23T07:00:00.000Z');
const TEMPLATES_DIR = join(REPO_ROOT, 'templates');
const taxonomy = loadTaxonomy(join(REPO_ROOT, 'data/topics.yaml'));
const RECIPIENT = { id: 7, email: 'ada@example.org', name: 'Ada', topics: null, frequency: 'daily' as const, weekday: null, tokenKey: 'k7' };

function configError(value: string): string {
  try {
    loadConfig({ PAPERBOY_LIST_NAME: value });
  } catch (error) {
    if (isPaperboyError(error)) return error.message;
    throw error;
  }
  throw new Error(`${JSON.stringify(value)} was accepted`);
}

async function mailsFor(env: Record<string, string>) {
  const config = loadConfig(env);
  const renderer = await createRenderer({ templatesDir: TEMPLATES_DIR, listName: config.listName });
  const sender = senderOf(config.delivery);
  const notices = createNotices({ renderer, taxonomy, secret: 's'.repeat(32), publicUrl: 'https://digest.example.org', sender, pendingTtlHours: 48 });
  const parse = async (raw: Buffer) => simpleParser(raw);
  const digest = await outboxMessage(renderer.renderDigest(sampleDigest(samplePapers().slice(0, 3))), RECIPIENT, sender, NOW, 'https://digest.example.org/unsubscribe?token=t');
  return {
    confirmation: await parse((await notices.confirmation(RECIPIENT, NOW)).raw),
    welcome: await parse((await notices.welcome(RECIPIENT, NOW)).raw),
    digest: await parse(digest.raw),
  };
}

const html = (mail: ParsedMail) => (typeof mail.html === 'string' ? mail.html : '');
const brand = (mail: ParsedMail) => /<p class="pb-brand"[^>]*>([^<]*(?:<(?!\/p>)[^<]*)*)<\/p>/.exec(html(mail))?.[1];

describe('PAPERBOY_LIST_NAME', () => {
  it('is "Paperboy" when unset', () => {
    const config = loadConfig({});
    expect(config.listName).toBe('Paperboy');
    expect(config.delivery.from).toBe('"Paperboy" <paperboy@localhost>');
  });

  it('rejects a line break, a quote and an over-long name, naming the variable', () => {
    expect(configError('Lab\r\nBcc: x@example.org')).toBe(
      'PAPERBOY_LIST_NAME="Lab\\r\\nBcc: x@example.org" is invalid: expected a one-line name without control characters, " or \\ (such as "Lab papers") (see .env.example)',
    );
    expect(configError('Lab "papers"')).toBe('PAPERBOY_LIST_NAME="Lab \\"papers\\"" is invalid: expected a one-line name without control characters, " or \\ (such as "Lab papers") (see .env.example)');
    expect(configError('x'.repeat(61))).toBe(`PAPERBOY_LIST_NAME="${'x'.repeat(61)}" is invalid: expected a name of at most 60 characters (see .env.example)`);
    expect(loadConfig({ PAPERBOY_LIST_NAME: ` ${'x'.repeat(60)} ` }).listName).toBe('x'.repeat(60));
  });

  it('names the list in every mail: subject, From, List-Id, masthead, footer and text part', async () => {
    const { confirmation, welcome, digest } = await mailsFor({ PAPERBOY_LIST_NAME: HOSTILE, PAPERBOY_FROM: 'digest@lab.example.org' });

    expect(confirmation.subject).toBe(`Confirm your ${HOSTILE} subscription`);
    expect(welcome.subject).toBe(`You are subscribed to ${HOSTILE}`);
    for (const mail of [confirmation, welcome, digest]) {
      expect(mail.from?.value).toEqual([{ name: HOSTILE, address: 'digest@lab.example.org' }]);
      expect(brand(mail)).toBe(HOSTILE_HTML);
      expect(html(mail)).not.toContain('Paperboy');
      expect(mail.text).not.toContain('Paperboy');
    }
    expect(html(confirmation)).toContain(`Someone, hopefully you, asked ${HOSTILE_HTML} to send a daily digest`);
    expect(html(confirmation)).toContain(`>${HOSTILE_HTML} sends new research papers on the topics you pick.</p>`);
    expect(html(welcome)).toContain(`You get this because ada@example.org confirmed a ${HOSTILE_HTML} subscription.`);
    expect(html(digest)).toContain(`You get this daily digest because ada@example.com subscribed to ${HOSTILE_HTML}.</p>`);
    expect(confirmation.text!.split('\n')[0]).toBe(`Confirm your ${HOSTILE} subscription`);
    expect(welcome.text!.split('\n')[0]).toBe(`You are subscribed to ${HOSTILE}`);
    expect(digest.text!.split('\n')[0]).toBe(`${HOSTILE} · your daily digest · Friday, March 14, 2025`);
    expect(digest.text!.replace(/\n/g, ' ')).toContain(`because ada@example.com subscribed to ${HOSTILE}.`);
    expect(digest.headerLines.find((line) => line.key === 'list-id')?.line).toBe(`List-ID: "${HOSTILE} digest" <digest.lab.example.org>`);
  });

  it('keeps an explicit From display name, and encodes a non-ASCII List-Id phrase', async () => {
    const { digest } = await mailsFor({ PAPERBOY_LIST_NAME: 'Über-Lab', PAPERBOY_FROM: 'Lab Bot <bot@lab.example.org>' });
    expect(digest.from?.value).toEqual([{ name: 'Lab Bot', address: 'bot@lab.example.org' }]);
    expect(digest.headerLines.find((line) => line.key === 'list-id')?.line).toBe('List-ID: =?UTF-8?Q?=C3=9Cber-Lab_digest?= <digest.lab.example.org>');
    expect(brand(digest)).toBe('Über-Lab');
  });
});

describe('PAPERBOY_LIST_NAME on pages', () => {
  const stores: Store[] = [];
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
  });

  async function site() {
    const { store } = tempSqliteStore();
    stores.push(store);
    const clock = fixedClock(NOW.toISOString());
    const send = async () => {
      throw new Error('no sends here');
    };
    const admin = createAdminRoutes({ token: 't'.repeat(24), store, clock, send }, { sessionHours: 1, secureCookie: false, timeZone: 'UTC', listName: HOSTILE });
    const app = createWebApp({
      store,
      taxonomy,
      renderer: await createRenderer({ templatesDir: TEMPLATES_DIR, listName: HOSTILE }),
      courier: { kick: () => {} },
      clock,
      secret: 's'.repeat(32),
      publicUrl: 'https://digest.example.org',
      sender: senderOf(loadConfig({ PAPERBOY_LIST_NAME: HOSTILE }).delivery),
      pendingTtlHours: 48,
      rateLimit: { perIpPerHour: 100, perAddressPerHour: 100 },
      listName: HOSTILE,
      admin,
    });
    return app;
  }

  const parts = (page: string) => ({
    title: /<title>(.*)<\/title>/.exec(page)?.[1],
    brand: /<p class="brand"><a href="\/">(.*)<\/a><\/p>/.exec(page)?.[1],
    footer: /<footer>(.*)<\/footer>/.exec(page)?.[1],
    h1: /<h1>(.*)<\/h1>/.exec(page)?.[1],
  });

  it('titles, brands and footers every public and console page with the escaped name', async () => {
    const app = await site();
    const footer = `${HOSTILE_HTML} mails new research papers on the topics you pick.`;
    const page = async (path: string) => (await app.request(path, { headers: { accept: 'text/html' } })).text();

    const subscribe = await page('/');
    expect(parts(subscribe)).toEqual({ title: `Subscribe · ${HOSTILE_HTML}`, brand: HOSTILE_HTML, footer, h1: 'New research papers, by email' });
    expect(subscribe).toContain(`<p class="lead">${HOSTILE_HTML} sends you the new papers from Hugging Face Daily Papers`);
    expect(parts(await page('/archive'))).toEqual({ title: `Archive · ${HOSTILE_HTML}`, brand: HOSTILE_HTML, footer, h1: 'Archive' });
    expect(parts(await page('/nowhere'))).toEqual({ title: `Page not found · ${HOSTILE_HTML}`, brand: HOSTILE_HTML, footer, h1: 'Page not found' });
    expect(parts(await page('/admin/sign-in'))).toEqual({ title: `Sign in · admin · ${HOSTILE_HTML}`, brand: HOSTILE_HTML, footer, h1: `${HOSTILE_HTML} admin sign-in` });
    const feed = await page('/archive/nlp.atom');
    expect(feed).toContain(`<title>Lab &lt;b&gt;&amp;&lt;/b&gt; {{x}} · `);
    expect(feed).toContain('<author><name>Lab &lt;b&gt;&amp;&lt;/b&gt; {{x}}</name></author>');
    for (const body of [subscribe, feed]) expect(body).not.toContain('Paperboy');
  });
});
