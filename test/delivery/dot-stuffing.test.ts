import { createRequire } from 'node:module';
import type { Transform } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { passesUnchanged, skipNeedlessDotStuffing } from '../../src/delivery/dot-stuffing.ts';
import { buildRawMessage } from '../../src/delivery/mail-options.ts';
import { createRenderer } from '../../src/digest/render.ts';
import { sampleDigest, samplePapers } from '../helpers/sample-digest.ts';

const DataStream = createRequire(import.meta.url)('nodemailer/lib/smtp-connection/data-stream') as new () => Transform;

/** SMTP DATA as RFC 5321 wants it: CRLF line breaks only, a leading dot doubled, then the end mark. */
function expectedData(input: string): string {
  const lines = input.replace(/\r\n|\r|\n/g, '\r\n').replace(/(^|\r\n)\./g, '$1..');
  return lines.endsWith('\r\n') ? `${lines}.\r\n` : `${lines}\r\n.\r\n`;
}

async function throughDataStream(chunks: readonly string[]): Promise<string> {
  const stream = new DataStream();
  const out: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => out.push(chunk));
  const ended = new Promise((resolve) => stream.on('end', resolve));
  for (const chunk of chunks) stream.write(Buffer.from(chunk, 'latin1'));
  stream.end();
  await ended;
  return Buffer.concat(out).toString('latin1');
}

describe("nodemailer's DATA stream with the check in front of its loop", () => {
  it('installs once and still stuffs dots and fixes bare line breaks, wherever the chunks are cut', async () => {
    expect(skipNeedlessDotStuffing()).toBe(true);
    expect(skipNeedlessDotStuffing()).toBe(true);
    const inputs = ['.lead\r\nclean line\r\n', 'a\r\n.b\r\n', 'bare\nlf\r\n', 'bare\rcr\r\n', 'cr then dot\r.x', 'no end', 'crlf\r\n', '\r\n.\r\n'];
    for (const input of inputs) {
      // Whole, and cut at every position (a CR at a chunk's end, a dot or an LF at the next one's start).
      expect(await throughDataStream([input])).toBe(expectedData(input));
      for (let cut = 1; cut < input.length; cut++) {
        expect(await throughDataStream([input.slice(0, cut), input.slice(cut)])).toBe(expectedData(input));
      }
    }
  });

  it('knows which chunks need no change, given the byte that ended the chunk before', () => {
    expect(passesUnchanged(Buffer.from('a\r\nb\r\n'), false)).toBe(true);
    expect(passesUnchanged(Buffer.from('.a\r\n'), false)).toBe(false);
    expect(passesUnchanged(Buffer.from('.a\r\n'), 0x0a)).toBe(false);
    expect(passesUnchanged(Buffer.from('.a\r\n'), 0x61)).toBe(true);
    // The LF of a CRLF cut in two is not told from a bare one: nodemailer's loop decides.
    expect(passesUnchanged(Buffer.from('\na'), 0x0d)).toBe(false);
    expect(passesUnchanged(Buffer.from('a'), 0x0d)).toBe(false);
    expect(passesUnchanged(Buffer.from('a\nb'), false)).toBe(false);
    expect(passesUnchanged(Buffer.from('a\rb'), false)).toBe(false);
    expect(passesUnchanged(Buffer.from('a\r\n.b'), false)).toBe(false);
    // Two CRs before one LF: the first is bare. A CR ending the chunk waits for nodemailer's loop.
    expect(passesUnchanged(Buffer.from('a\r\r\nb'), false)).toBe(false);
    expect(passesUnchanged(Buffer.from('a\r\nb\r'), false)).toBe(false);
    // An LF ending the chunk is decided with the next chunk's first byte.
    expect(passesUnchanged(Buffer.from('a\r\nb\r\n'), 0x61)).toBe(true);
    expect(passesUnchanged(Buffer.from('a\r\n\r\n\r\nb'), false)).toBe(true);
  });

  it('passes a digest Paperboy built through unchanged, so its bytes take the fast path', async () => {
    const renderer = await createRenderer({ templatesDir: fileURLToPath(new URL('../../templates/', import.meta.url)) });
    const rendered = renderer.renderDigest(sampleDigest(samplePapers().slice(0, 8)));
    const raw = buildRawMessage(
      {
        messageId: '<d.s@example.org>',
        from: 'Paperboy <paperboy@example.org>',
        to: { email: 'reader@example.com', name: 'R\u00e9ader' },
        subject: rendered.subject,
        html: rendered.html,
        text: rendered.text,
        date: new Date('2026-12-04T07:00:00.000Z'),
      },
      rendered.pieces,
    );
    expect(raw.length).toBeGreaterThan(8 * 1024);
    expect(passesUnchanged(raw, false)).toBe(true);
    expect(await throughDataStream([raw.toString('latin1')])).toBe(`${raw.toString('latin1')}.\r\n`);
  });
});
