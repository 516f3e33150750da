import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { mailOptions } from './mail-options.ts';
import type { Mailer } from './mailer.ts';

/**
 * The embedded default: each message is written to the outbox folder as the exact .eml an
 * SMTP server would receive, with an .html beside it to open in a browser.
 */
export function createFileMailer(outboxDir: string): Mailer {
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  return {
    description: `files in ${outboxDir}`,
    async send(message) {
      const info = await transport.sendMail(mailOptions(message));
      mkdirSync(outboxDir, { recursive: true });
      const base = `${message.date.toISOString().replace(/[:.]/g, '-')}-${message.messageId.replace(/[^a-z0-9-]+/gi, '_').slice(1, 40)}`;
      writeFileSync(join(outboxDir, `${base}.eml`), info.message as Buffer);
      writeFileSync(join(outboxDir, `${base}.html`), message.html);
      return { status: 'sent', response: `written to ${join(outboxDir, `${base}.eml`)}` };
    },
    close: async () => {},
  };
}
