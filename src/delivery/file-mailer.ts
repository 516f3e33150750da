import { createRequire } from 'node:module';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mailOptions } from './mail-options.ts';
import type { Mailer, SendOutcome } from './mailer.ts';

/**
 * The embedded default: each message is written to the outbox folder as the exact .eml an
 * SMTP server would receive, with an .html beside it to open in a browser.
 */
export function createFileMailer(outboxDir: string): Mailer {
  let written = 0;
  const write = (messageId: string, eml: Buffer, html: string | null): SendOutcome => {
    mkdirSync(outboxDir, { recursive: true });
    // Sortable by write order; the Message-ID's local part keeps names unique across runs.
    const base = `${new Date().toISOString().replace(/[:.]/g, '-')}-${String(++written).padStart(5, '0')}-${messageId.replace(/[^a-z0-9-]+/gi, '_').slice(1, 40)}`;
    writeFileSync(join(outboxDir, `${base}.eml`), eml);
    if (html !== null) writeFileSync(join(outboxDir, `${base}.html`), html);
    return { status: 'sent', response: `written to ${join(outboxDir, `${base}.eml`)}` };
  };
  // Required on first use, not imported: commands that send nothing never load nodemailer.
  const nodemailer = createRequire(import.meta.url)('nodemailer') as typeof import('nodemailer');
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  return {
    description: `files in ${outboxDir}`,
    async send(message) {
      const info = await transport.sendMail(mailOptions(message));
      return write(message.messageId, info.message as Buffer, message.html);
    },
    sendRaw: async (message) => write(message.messageId, message.raw, message.html),
    close: async () => {},
  };
}
