import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PaperboyError } from '../errors.ts';
import { ensureDirectory, reason } from '../fs-paths.ts';
import { mailOptions } from './mail-options.ts';
import type { Mailer, SendOutcome } from './mailer.ts';

/**
 * The embedded default: each message is written to the outbox folder as the exact .eml an
 * SMTP server would receive, with an .html beside it to open in a browser.
 */
export function createFileMailer(outboxDir: string): Mailer {
  let written = 0;
  let folderReady = false;
  const write = (messageId: string, eml: Buffer, html: string | null): SendOutcome => {
    // Made on the first message, not before: a dry run or a run with nothing to send leaves no folder.
    if (!folderReady) ensureDirectory(outboxDir, OUTBOX_VARIABLE);
    folderReady = true;
    // Sortable by write order; the Message-ID's local part keeps names unique across runs.
    const base = `${new Date().toISOString().replace(/[:.]/g, '-')}-${String(++written).padStart(5, '0')}-${messageId.replace(/[^a-z0-9-]+/gi, '_').slice(1, 40)}`;
    writeInOutbox(outboxDir, `${base}.eml`, eml);
    if (html !== null) writeInOutbox(outboxDir, `${base}.html`, html);
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

const OUTBOX_VARIABLE = 'PAPERBOY_OUTBOX_DIR';

/** A failed write names the variable, the file and the reason in one line (a full disk, a folder made read-only). */
function writeInOutbox(outboxDir: string, name: string, content: Buffer | string): void {
  const path = join(outboxDir, name);
  try {
    writeFileSync(path, content);
  } catch (error) {
    throw new PaperboyError('CONFIG_INVALID', `${OUTBOX_VARIABLE}=${outboxDir}: cannot write ${path} (${reason((error as NodeJS.ErrnoException).code)})`, { cause: error });
  }
}
