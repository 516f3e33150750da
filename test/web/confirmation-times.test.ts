import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { firstDigestRun } from '../../src/delivery/first-digest.ts';
import { createRenderer } from '../../src/digest/render.ts';
import { senderOf } from '../../src/pipeline/run.ts';
import { loadTaxonomy } from '../../src/topics/taxonomy.ts';
import { createNotices, type Recipient } from '../../src/web/notices.ts';
import { REPO_ROOT } from '../helpers/paths.ts';

// Monday 23 November 2026, 08:30 in Berlin: today's 07:00 run is over.
const NOW = new Date('2026-11-23T07:30:00.000Z');
const BERLIN = 'Europe/Berlin';
const renderer = await createRenderer({ templatesDir: join(REPO_ROOT, 'templates') });
const taxonomy = loadTaxonomy(join(REPO_ROOT, 'data/topics.yaml'));
const ada: Recipient = { id: 7, email: 'ada@example.org', name: 'Ada', topics: [taxonomy.topics[0]!.id, taxonomy.topics[2]!.id], frequency: 'daily', weekday: null, tokenKey: 'k7' };

async function confirmation(recipient: Recipient, schedule: string | undefined) {
  const notices = createNotices({
    renderer,
    taxonomy,
    secret: 's'.repeat(32),
    publicUrl: 'https://digest.example.org',
    sender: senderOf(loadConfig({}).delivery),
    pendingTtlHours: 48,
    timeZone: BERLIN,
    ...(schedule ? { schedule } : {}),
  });
  const mail = await simpleParser((await notices.confirmation(recipient, NOW)).raw);
  const confirmUrl = /^https:\/\/digest\.example\.org\/confirm\?token=\S+$/m.exec(mail.text ?? '')![0];
  return { text: (mail.text ?? '').replace(confirmUrl, '<confirm link>'), html: typeof mail.html === 'string' ? mail.html : '' };
}

describe('the confirmation mail', () => {
  it('says, in PAPERBOY_TZ, when its link expires and which run would send the first daily digest', async () => {
    const { text, html } = await confirmation(ada, '0 7 * * *');
    expect(text).toBe(
      [
        'Confirm your Paperboy subscription',
        '',
        'Someone, hopefully you, asked to send a daily digest of new research papers',
        'to ada@example.org, on Reasoning & Math and Agents & Tool Use.',
        '',
        'To start it, confirm your address here:',
        '<confirm link>',
        '',
        'This link works until Wednesday, 25 November 2026 at 08:30 (Europe/Berlin).',
        '',
        'Confirm now and your first digest comes with the scheduled run on Tuesday,',
        '24 November 2026 at 07:00 (Europe/Berlin), if there are new papers on your',
        'topics by then.',
        '',
        'If this was not you, ignore this email: without confirmation we will not',
        'write again.',
        '',
      ].join('\n'),
    );
    expect(html).toContain('>Confirm now and your first digest comes with the scheduled run on Tuesday, 24 November 2026 at 07:00 (Europe/Berlin), if there are new papers on your topics by then.</p>');
    expect(html).toContain('>This link works until Wednesday, 25 November 2026 at 08:30 (Europe/Berlin). Button not working?');
  });

  it('names the run on the weekly subscriber\'s weekday', async () => {
    const { text } = await confirmation({ ...ada, frequency: 'weekly', weekday: 4 }, '0 7 * * *');
    expect(text.replace(/\n/g, ' ')).toContain('Confirm now and your first digest comes with the scheduled run on Thursday, 26 November 2026 at 07:00 (Europe/Berlin),');
  });

  it('promises no time without a schedule', async () => {
    const { text } = await confirmation(ada, undefined);
    expect(text.replace(/\n/g, ' ')).toContain(' Your first digest comes with the first scheduled run after you confirm, if there are new papers on your topics by then. ');
  });
});

describe('firstDigestRun', () => {
  it('is the next run for a daily digest and the next run on the weekday for a weekly one', () => {
    expect(firstDigestRun({ frequency: 'daily', weekday: null }, '0 7 * * *', BERLIN, NOW)?.toISOString()).toBe('2026-11-24T06:00:00.000Z');
    expect(firstDigestRun({ frequency: 'daily', weekday: null }, '0 7 * * *', BERLIN, new Date('2026-11-23T05:59:00.000Z'))?.toISOString()).toBe('2026-11-23T06:00:00.000Z');
    // Monday's run is over: a Monday subscriber waits a week.
    expect(firstDigestRun({ frequency: 'weekly', weekday: 1 }, '0 7 * * *', BERLIN, NOW)?.toISOString()).toBe('2026-11-30T06:00:00.000Z');
    expect(firstDigestRun({ frequency: 'daily', weekday: null }, '30 */6 * * *', 'UTC', NOW)?.toISOString()).toBe('2026-11-23T12:30:00.000Z');
    // India is 5 h 30 min ahead of UTC: 07:15 there is 01:45 UTC.
    expect(firstDigestRun({ frequency: 'daily', weekday: null }, '15 7 * * *', 'Asia/Kolkata', NOW)?.toISOString()).toBe('2026-11-24T01:45:00.000Z');
    expect(firstDigestRun({ frequency: 'daily', weekday: null }, '*/20 * * * *', BERLIN, NOW)?.toISOString()).toBe('2026-11-23T07:40:00.000Z');
  });

  it('is null when the schedule does not reach the weekday within the lookahead', () => {
    // Fires on the 1st of each month only: the next one (1 December 2026) is a Tuesday.
    expect(firstDigestRun({ frequency: 'weekly', weekday: 3 }, '0 7 1 * *', BERLIN, NOW)).toBeNull();
  });
});
