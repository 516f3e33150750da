import type { SendMailOptions } from 'nodemailer';
import { createRequire } from 'node:module';
import type MailComposerClass from 'nodemailer/lib/mail-composer';
import type * as MimeFuncs from 'nodemailer/lib/mime-funcs';
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
 */
export function buildRawMessage(message: OutgoingMessage): Promise<Buffer> {
  return new (mailComposer())(mailOptions(message)).compile().build();
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
