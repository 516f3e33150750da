import { createRequire } from 'node:module';
import { simpleParser } from 'mailparser';
import type MailComposerClass from 'nodemailer/lib/mail-composer';
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { buildRawMessage, mailOptions, quotedPrintable } from '../../src/delivery/mail-options.ts';
import { createRenderer } from '../../src/digest/render.ts';
import { joinPieces, type Pieces, type SharedBlock } from '../../src/digest/shared-blocks.ts';
import { sampleDigest, samplePapers } from '../helpers/sample-digest.ts';

const MailComposer = createRequire(import.meta.url)('nodemailer/lib/mail-composer') as typeof MailComposerClass;

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
    const lines = encoded.toString('latin1').split('\r\n');
    expect(Math.max(...lines.map((line) => line.length))).toBeLessThanOrEqual(76);
    for (const line of lines) expect(line).toMatch(/^([\t\x20-\x3c\x3e-\x7e]|=[0-9A-F]{2})*=?$/);
    expect(encoded.toString('latin1').endsWith('b=20')).toBe(true);
    expect(lines.filter((line) => !line.endsWith('=')).length).toBe(3);
  });

  it('escapes a dot that starts a line, after a hard or a soft break, so no line of the body starts with one', () => {
    const encoded = quotedPrintable(`.first\n${'a'.repeat(75)}.after a soft break\r\nlone\rreturn`).toString('latin1');
    expect(encoded).toBe(`=2Efirst\r\n${'a'.repeat(75)}=\r\n=2Eafter a soft break\r\nlone=0Dreturn`);
  });

  it('encodes each text on its own, never reading bytes a longer text before it left in the reused buffers', () => {
    expect(quotedPrintable(`ab\r\n${'\u00e9'.repeat(300)}`).toString('latin1')).toBe(`ab\r\n${'=C3=A9'.repeat(300).replace(/(.{75})(?=.)/g, '$1=\r\n')}`);
    expect(quotedPrintable('ab\r').toString('latin1')).toBe('ab=0D');
    expect(quotedPrintable('').toString('latin1')).toBe('');
    expect(buildRawMessage(message('<p>x</p>', 'x\r')).toString('latin1')).toContain('\r\n\r\nx=0D\r\n--');
  });

  it('is byte for byte the message nodemailer itself builds from the same encoded parts', async () => {
    const html = `<p>R\u00e9sum\u00e9 = ${'x'.repeat(120)}</p>\n.dot\n<a href="https://example.org/?a=1&b=2">link</a> `;
    const text = `Hello \u00e9\n${'word '.repeat(40)}\nend`;
    const withList = {
      ...message(html, text),
      subject: `A long subject with \u00fcmlauts that nodemailer must fold and encode ${'word '.repeat(12)}`,
      replyTo: 'Replies <replies@example.org>',
      list: { id: 'digest.example.org', name: 'Caf\u00e9 list', unsubscribeUrl: 'https://example.org/u/abc', unsubscribeMailto: 'unsubscribe@example.org' },
    };
    for (const built of [message(html, text), withList]) {
      const ours = buildRawMessage(built).toString('latin1');
      const theirs = (
        await new MailComposer({
          ...mailOptions(built),
          text: { raw: `Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n${quotedPrintable(built.text).toString('latin1')}` },
          html: { raw: `Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n${quotedPrintable(built.html).toString('latin1')}` },
        })
          .compile()
          .build()
      ).toString('latin1');
      // Each build draws its own random boundary; everything else must match.
      const boundaryOf = (raw: string) => /boundary="([^"]+)"/.exec(raw)![1]!;
      expect(ours.replaceAll(boundaryOf(ours), 'BOUNDARY')).toBe(theirs.replaceAll(boundaryOf(theirs), 'BOUNDARY'));
    }
  });
});

describe('a message built from pieces, each paper block shared across the run', () => {
  const normalized = (raw: Buffer) => {
    const text = raw.toString('latin1');
    return text.replaceAll(/boundary="([^"]+)"/.exec(text)![1]!, 'BOUNDARY');
  };
  const built = (pieces: { html: Pieces; text: Pieces }) => normalized(buildRawMessage(message(joinPieces(pieces.html), joinPieces(pieces.text)), pieces));
  const joined = (pieces: { html: Pieces; text: Pieces }) => normalized(buildRawMessage(message(joinPieces(pieces.html), joinPieces(pieces.text))));

  it('is byte for byte the message built from the joined text, wherever a block starts and ends', () => {
    // Blocks after text that ends mid-line, after a held space, starting with a dot, ending
    // in a space or a lone CR, with no line break or only one, and one block twice in a row.
    const dotted: SharedBlock = { text: `\n.dot at a line start \n${'\u00e9'.repeat(40)}\n${'x'.repeat(90)}=\nlast ` };
    const oneBreak: SharedBlock = { text: 'ab \ncd' };
    const noBreak: SharedBlock = { text: '.no break' };
    const returns: SharedBlock = { text: 'a\r\nb\r\nc\r' };
    const pieces = {
      html: ['<p>a ', dotted, ' tail', dotted, '\n', dotted, returns, '\nz', oneBreak, noBreak, '', returns] as Pieces,
      text: ['Hi \n', noBreak, '\n', dotted, 'end'] as Pieces,
    };
    const first = built(pieces);
    expect(first).toBe(joined(pieces));
    // The second build copies the encodings the first one cached.
    expect(built(pieces)).toBe(first);
    expect(built({ html: [' ', dotted], text: ['.', returns] })).toBe(joined({ html: [' ', dotted], text: ['.', returns] }));
  });

  it('is byte for byte the message built from the joined text for rendered digests that share papers', async () => {
    const renderer = await createRenderer({ templatesDir: fileURLToPath(new URL('../../templates/', import.meta.url)) });
    const papers = samplePapers();
    const digests = [papers.slice(0, 6), papers.slice(3, 9).reverse()].map((some) => renderer.renderDigest(sampleDigest(some)));
    const shared = digests.map(({ pieces }) => pieces!.html.filter((piece) => typeof piece !== 'string'));
    // Three papers are in both digests: their blocks are the same objects.
    expect(shared.map((blocks) => blocks.length)).toEqual([6, 6]);
    expect(shared[0]!.filter((block) => shared[1]!.includes(block)).length).toBe(3);
    for (const digest of digests) {
      expect(joinPieces(digest.pieces!.html)).toBe(digest.html);
      expect(digest.html).not.toContain('\u0000');
      expect(built(digest.pieces!)).toBe(joined(digest.pieces!));
    }
  });
});
