import type { SendMailOptions } from 'nodemailer';
import { createRequire } from 'node:module';
import type MailComposerClass from 'nodemailer/lib/mail-composer';
import type * as MimeFuncs from 'nodemailer/lib/mime-funcs';
import type { Pieces, SharedBlock } from '../digest/shared-blocks.ts';
import type { OutgoingMessage } from './mailer.ts';

/** Control characters never reach a header, whatever a value holds (nodemailer does the same at its boundary). */
export function headerSafe(value: string): string {
  return value.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ').trim();
}

/**
 * nodemailer options for one message: multipart/alternative (text first, then HTML), our
 * Message-ID and Date, and the list headers: List-Id, List-Unsubscribe with the HTTPS
 * one-click URL and a mailto, and List-Unsubscribe-Post (RFC 8058).
 */
export function mailOptions(message: OutgoingMessage): SendMailOptions {
  return {
    messageId: message.messageId,
    date: message.date,
    from: headerSafe(message.from),
    ...(message.replyTo ? { replyTo: headerSafe(message.replyTo) } : {}),
    to: { name: headerSafe(message.to.name ?? ''), address: headerSafe(message.to.email) },
    subject: headerSafe(message.subject),
    text: message.text,
    html: message.html,
    // Quoted-printable keeps mostly-ASCII HTML readable and ~30% smaller than base64.
    textEncoding: 'quoted-printable',
    // Written as headers here (not nodemailer's `list` option, which only its Mailer applies),
    // so a message built once at queue time carries them too.
    ...(message.list
      ? {
          // `prepared`: already plain ASCII with no control characters, so written as they are
          // (nodemailer would otherwise turn the quoted List-ID phrase into an encoded word).
          headers: {
            'List-ID': listIdHeader(message.list.name, message.list.id),
            // One header holding both URIs: what Gmail and Yahoo read for one-click.
            'List-Unsubscribe': {
              prepared: true,
              value: `<${headerSafe(message.list.unsubscribeUrl)}>, <mailto:${headerSafe(message.list.unsubscribeMailto)}?subject=unsubscribe>`,
            },
            'List-Unsubscribe-Post': { prepared: true, value: 'List-Unsubscribe=One-Click' },
          },
        }
      : {}),
  };
}

/**
 * `"<list name> digest" <id>`. An ASCII phrase is a quoted string; any other is an RFC 2047
 * word (which cannot sit inside quotes), so the id itself is never encoded.
 */
function listIdHeader(listName: string, id: string): { prepared: true; value: string } {
  const phrase = `${headerSafe(listName)} digest`;
  const shown = /^[\x20-\x7e]*$/.test(phrase) ? `"${phrase.replace(/["\\]/g, '\\$&')}"` : mimeFuncs().encodeWord(phrase, 'Q', 0);
  return { prepared: true, value: `${shown} <${headerSafe(id)}>` };
}

/** DKIM signs these, list headers included, so a forwarder cannot swap the unsubscribe link. */
export const DKIM_SIGNED_HEADERS =
  'From:Sender:Reply-To:Subject:Date:Message-ID:To:MIME-Version:Content-Type:Content-Transfer-Encoding:List-Id:List-Unsubscribe:List-Unsubscribe-Post';

/**
 * The complete message, built once when it is queued. Encoding and MIME building then cost
 * nothing at send time (scripts/bench-send.ts), and every resend is the same bytes.
 *
 * nodemailer writes the headers (address and subject encoding, folding, the boundary); the
 * body is assembled here exactly as its MimeNode streams a multipart node (test/delivery/
 * mail-options.test.ts compares the two byte for byte). Its stream build cost ~1.3 ms a
 * message, as much as rendering the digest (scripts/bench-message.ts).
 */
export function buildRawMessage(message: OutgoingMessage, pieces?: { html: Pieces; text: Pieces }): Buffer {
  const root = new (mailComposer())({ ...mailOptions(message), text: { raw: TEXT_PART_HEADERS }, html: { raw: HTML_PART_HEADERS } }).compile();
  const headers = root.buildHeaders();
  const boundary = (root as unknown as { boundary: string }).boundary;
  const head = `${headers}\r\n\r\n--${boundary}\r\n${TEXT_PART_HEADERS}`;
  const middle = `\r\n--${boundary}\r\n${HTML_PART_HEADERS}`;
  const tail = `\r\n--${boundary}--\r\n`;
  const text = pieces?.text ?? [message.text];
  const html = pieces?.html ?? [message.html];
  const out = scratchOutput(head.length * 3 + worstPiecesLength(text) + middle.length * 3 + worstPiecesLength(html) + tail.length * 3);
  let at = out.write(head, 0, 'utf8');
  at = encodePieces(text, out, at);
  at += out.write(middle, at, 'utf8');
  at = encodePieces(html, out, at);
  at += out.write(tail, at, 'utf8');
  return Buffer.from(out.subarray(0, at));
}

const TEXT_PART_HEADERS = 'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n';
const HTML_PART_HEADERS = 'Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n';

const QP_MAX_LINE = 76;
const HEX_DIGITS = Buffer.from('0123456789ABCDEF');
const [EQUALS, CR, LF, TAB, SPACE, DOT] = [0x3d, 0x0d, 0x0a, 0x09, 0x20, 0x2e];

/**
 * Quoted-printable (RFC 2045) of the UTF-8 bytes of `text`, as bytes: CRLF line breaks,
 * lines of at most 76 characters with soft breaks never inside an =XX escape, a space or tab
 * before a line break encoded (it would be lost in transit), and a dot starting a line
 * encoded too, so the body never needs SMTP dot-stuffing. One pass over the bytes into one
 * buffer: string passes (split per line, a regular expression per line, join) cost three
 * times as much on a 95 KB digest (scripts/bench-message.ts).
 */
export function quotedPrintable(text: string): Buffer {
  const out = scratchOutput(worstEncodedLength(text));
  return Buffer.from(out.subarray(0, encodeQuotedPrintable(text, out, 0)));
}

/**
 * The encoding and the UTF-8 bytes it reads are written into buffers kept across messages
 * and copied out once: a fresh ~300 KB buffer per part is fresh pages from the system each
 * time, which cost as much as the encoding itself (scripts/bench-message.ts).
 */
let inputScratch: Buffer = Buffer.alloc(0);
let outputScratch: Buffer = Buffer.alloc(0);
function grown(buffer: Buffer, size: number): Buffer {
  return buffer.length >= size ? buffer : Buffer.allocUnsafeSlow(Math.max(size, buffer.length * 2));
}
function scratchOutput(size: number): Buffer {
  return (outputScratch = grown(outputScratch, size));
}

/** A UTF-16 unit is at most 3 UTF-8 bytes; each byte at most an =XX escape, plus a soft break per 24 escapes. */
function worstEncodedLength(text: string): number {
  const bytes = text.length * 3;
  return bytes * 3 + Math.ceil(bytes / 24) * 3 + 3;
}

function worstPiecesLength(pieces: Pieces): number {
  let length = 0;
  for (const piece of pieces) length += worstEncodedLength(typeof piece === 'string' ? piece : piece.text);
  return length;
}

/**
 * The quoted-printable of the pieces' text, written into `out` from `at`. After a line break
 * the encoder's state is always the same (column 0, nothing held), so the whole lines of a
 * shared block encode to the same bytes in every message: they are encoded once, on first
 * use, and copied after that; only the text around them is encoded per message.
 */
function encodePieces(pieces: Pieces, out: Buffer, at: number): number {
  // The text since the last line break copied from a shared block.
  let pending = '';
  for (const piece of pieces) {
    if (typeof piece === 'string') {
      pending += piece;
      continue;
    }
    const first = piece.text.indexOf('\n');
    const last = piece.text.lastIndexOf('\n');
    if (first === last) {
      pending += piece.text;
      continue;
    }
    at = encodeQuotedPrintable(pending + piece.text.slice(0, first + 1), out, at);
    const lines = encodedLinesOf(piece, first + 1, last + 1);
    at += lines.copy(out, at);
    pending = piece.text.slice(last + 1);
  }
  return encodeQuotedPrintable(pending, out, at);
}

/** A shared block lives as long as the run's paper views; its encoding as long as it. */
const encodedLines = new WeakMap<SharedBlock, Buffer>();
function encodedLinesOf(block: SharedBlock, start: number, end: number): Buffer {
  let encoded = encodedLines.get(block);
  if (encoded === undefined) {
    const lines = block.text.slice(start, end);
    const out = Buffer.allocUnsafeSlow(worstEncodedLength(lines));
    encoded = Buffer.from(out.subarray(0, encodeQuotedPrintable(lines, out, 0)));
    encodedLines.set(block, encoded);
  }
  return encoded;
}

/** Writes the quoted-printable of `text` into `out` from `at` (room checked by the caller); returns where it ends. */
function encodeQuotedPrintable(text: string, out: Buffer, at: number): number {
  const input = (inputScratch = grown(inputScratch, text.length * 3));
  // Bytes past `length` are an earlier message's: never read them.
  const length = input.write(text, 0, 'utf8');
  let column = 0;
  // A space or tab is held until what follows it is known: a line break makes it =20 / =09.
  let held = -1;
  for (let index = 0; index <= length; index++) {
    const byte = index < length ? input[index]! : -1;
    const lineEnds = byte === LF || byte === -1 || (byte === CR && index + 1 < length && input[index + 1] === LF);
    if (held >= 0) {
      const width = lineEnds ? 3 : 1;
      if (column + width > QP_MAX_LINE - 1) {
        out[at++] = EQUALS;
        out[at++] = CR;
        out[at++] = LF;
        column = 0;
      }
      if (lineEnds) {
        out[at++] = EQUALS;
        out[at++] = HEX_DIGITS[held >> 4]!;
        out[at++] = HEX_DIGITS[held & 15]!;
      } else out[at++] = held;
      column += width;
      held = -1;
    }
    if (byte === -1) break;
    if (lineEnds) {
      if (byte === CR) index++;
      out[at++] = CR;
      out[at++] = LF;
      column = 0;
      continue;
    }
    if (byte === SPACE || byte === TAB) {
      held = byte;
      continue;
    }
    const literal = byte > SPACE && byte < 0x7f && byte !== EQUALS;
    const width = literal ? 1 : 3;
    if (column + width > QP_MAX_LINE - 1) {
      out[at++] = EQUALS;
      out[at++] = CR;
      out[at++] = LF;
      column = 0;
    }
    if (literal && !(byte === DOT && column === 0)) {
      out[at++] = byte;
      column += 1;
    } else {
      out[at++] = EQUALS;
      out[at++] = HEX_DIGITS[byte >> 4]!;
      out[at++] = HEX_DIGITS[byte & 15]!;
      column += 3;
    }
  }
  return at;
}

// Required on first use, not imported: commands that build no message never load nodemailer.
let composer: typeof MailComposerClass | undefined;
let mimeFunctions: typeof MimeFuncs | undefined;
function mimeFuncs(): typeof MimeFuncs {
  return (mimeFunctions ??= createRequire(import.meta.url)('nodemailer/lib/mime-funcs') as typeof MimeFuncs);
}
function mailComposer(): typeof MailComposerClass {
  return (composer ??= createRequire(import.meta.url)('nodemailer/lib/mail-composer') as typeof MailComposerClass);
}
