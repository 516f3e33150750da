import { createRequire } from 'node:module';
import type { SendMailOptions, Transporter } from 'nodemailer';
import type { DeliveryConfig } from '../config/config.ts';
import { skipNeedlessDotStuffing } from './dot-stuffing.ts';
import { DKIM_SIGNED_HEADERS, mailOptions } from './mail-options.ts';
import type { Mailer, OutgoingMessage, RawMessage, SendOutcome } from './mailer.ts';
import { classifySmtpFailure } from './smtp-outcome.ts';

/** A pooled SMTP transport from PAPERBOY_SMTP_URL (smtp:// with STARTTLS when offered, or smtps://). */
export function createSmtpMailer(config: DeliveryConfig): Mailer {
  const url = new URL(config.smtpUrl!);
  // Required on first use, not imported: commands that send nothing never load nodemailer.
  const nodemailer = createRequire(import.meta.url)('nodemailer') as typeof import('nodemailer');
  skipNeedlessDotStuffing();
  const transport: Transporter = nodemailer.createTransport({
    pool: true,
    host: url.hostname,
    port: Number(url.port) || (url.protocol === 'smtps:' ? 465 : 587),
    secure: url.protocol === 'smtps:',
    requireTLS: config.tls === 'require',
    ignoreTLS: config.tls === 'none',
    ...(config.ca ? { tls: { ca: config.ca } } : {}),
    ...(url.username ? { auth: { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } } : {}),
    maxConnections: config.poolSize,
    maxMessages: 1000,
    ...(config.ratePerSecond > 0 ? { rateLimit: config.ratePerSecond, rateDelta: 1000 } : {}),
    connectionTimeout: 30_000,
    greetingTimeout: 30_000,
    socketTimeout: 60_000,
    ...(config.dkim ? { dkim: { ...config.dkim, headerFieldNames: DKIM_SIGNED_HEADERS } } : {}),
  });
  return {
    description: `smtp${url.protocol === 'smtps:' ? 's' : ''}://${url.hostname}:${url.port || (url.protocol === 'smtps:' ? 465 : 587)}`,
    readsHtml: false,
    send: (message) => sendWith(transport, message),
    sendRaw: (message) => sendRawWith(transport, message),
    close: async () => transport.close(),
  };
}

export function sendWith(transport: Transporter, message: OutgoingMessage): Promise<SendOutcome> {
  return deliverVia(transport, mailOptions(message));
}

export function sendRawWith(transport: Transporter, message: RawMessage): Promise<SendOutcome> {
  return deliverVia(transport, { envelope: message.envelope, raw: message.raw, messageId: message.messageId });
}

async function deliverVia(transport: Transporter, options: SendMailOptions): Promise<SendOutcome> {
  try {
    const info = await transport.sendMail(options);
    if (info.rejected?.length) {
      const [rejected] = (info as { rejectedErrors?: unknown[] }).rejectedErrors ?? [];
      return rejected ? outcomeOf(rejected, 1) : { status: 'permanent', code: null, response: String(info.response ?? 'recipient rejected') };
    }
    return { status: 'sent', response: String(info.response ?? '') };
  } catch (error) {
    return outcomeOf(error, 1);
  }
}

/** Branches on the failed command, SMTP reply codes and nodemailer's error codes, never on message text. */
export function outcomeOf(error: unknown, recipients: number): SendOutcome {
  const { responseCode, code, originalCode, response, message, command } = error as {
    responseCode?: number;
    code?: string;
    originalCode?: string;
    response?: string;
    message?: string;
    command?: string;
  };
  const text = (response ?? message ?? 'unknown error').split(/\r?\n/, 1)[0]!;
  return classifySmtpFailure({ command, responseCode: typeof responseCode === 'number' ? responseCode : undefined, code, originalCode, text, recipients });
}
