import nodemailer, { type SendMailOptions, type Transporter } from 'nodemailer';
import type { DeliveryConfig } from '../config/config.ts';
import { DKIM_SIGNED_HEADERS, mailOptions } from './mail-options.ts';
import type { Mailer, OutgoingMessage, RawMessage, SendOutcome } from './mailer.ts';

/** Errors nodemailer raises for a connection that broke or timed out: the message may be retried. */
const TRANSIENT_CODES = new Set(['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'ETLS', 'EPROTOCOL', 'EMAXLIMIT', 'ESTREAM', 'EABORT']);

/** A pooled SMTP transport from PAPERBOY_SMTP_URL (smtp:// with STARTTLS when offered, or smtps://). */
export function createSmtpMailer(config: DeliveryConfig): Mailer {
  const url = new URL(config.smtpUrl!);
  const transport: Transporter = nodemailer.createTransport({
    pool: true,
    host: url.hostname,
    port: Number(url.port) || (url.protocol === 'smtps:' ? 465 : 587),
    secure: url.protocol === 'smtps:',
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
    if (info.rejected?.length) return { status: 'permanent', code: null, response: String(info.response ?? 'recipient rejected') };
    return { status: 'sent', response: String(info.response ?? '') };
  } catch (error) {
    return outcomeOf(error);
  }
}

/** Branches on SMTP reply codes and nodemailer's error codes, never on message text. */
export function outcomeOf(error: unknown): SendOutcome {
  const { responseCode, code, response, message } = error as { responseCode?: number; code?: string; response?: string; message?: string };
  const text = (response ?? message ?? 'unknown error').split(/\r?\n/, 1)[0]!;
  if (typeof responseCode === 'number' && responseCode >= 500) return { status: 'permanent', code: responseCode, response: text };
  if (typeof responseCode === 'number' && responseCode >= 400) return { status: 'temporary', code: responseCode, response: text };
  if (code && TRANSIENT_CODES.has(code)) return { status: 'temporary', code: null, response: `${code}: ${text}` };
  // Anything else (a bad address nodemailer refused, auth failure) will not get better by retrying now.
  return { status: code === 'EAUTH' || code === 'ENOAUTH' ? 'temporary' : 'permanent', code: null, response: `${code ?? 'error'}: ${text}` };
}
