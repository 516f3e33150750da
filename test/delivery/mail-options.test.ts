import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { buildRawMessage, quotedPrintable } from '../../src/delivery/mail-options.ts';

const message = (html: string, text: string) => ({
  messageId: '<q.p@example.org>',
  from: 'Paperboy <paperboy@example.org>',
  to: { email: 'reader@example.com', name: 'Réader' },
  subject: 'Two parts',
  html,
  text,
  date: new Date('2026-11-23T07:00:00.000Z'),
});

describe('the raw message, its parts quoted-printable', () => {
  it('decodes to exactly the text and HTML it was built from', async () => {
    const html = `<p>caf\u00e9 = ${'x'.repeat(80)}=y</p>\n<td style="a:b">\u{1F600}${'\u00fc'.repeat(40)}</td>\n.a line starting with a dot\ntrailing space \n\ttab\t\n\n<a href="https://example.org/?a=1&b=2">link</a>`;
    const text = `Hello\n${'word '.repeat(30)}\nend`;
    const parsed = await simpleParser(await buildRawMessage(message(html, text)));
    expect(parsed.html).toBe(html);
    expect(parsed.text).toBe(text);
  });

  it('keeps every line within 76 characters, breaks softly and never inside an escape', () => {
    const encoded = quotedPrintable(`${'\u00e9'.repeat(50)}\n${'a'.repeat(74)}==\n${'b'.repeat(200)} `);
    const lines = encoded.split('\r\n');
    expect(Math.max(...lines.map((line) => line.length))).toBeLessThanOrEqual(76);
    for (const line of lines) expect(line).toMatch(/^([\t\x20-\x3c\x3e-\x7e]|=[0-9A-F]{2})*=?$/);
    expect(encoded.endsWith('b=20')).toBe(true);
    expect(lines.filter((line) => !line.endsWith('=')).length).toBe(3);
  });
});
