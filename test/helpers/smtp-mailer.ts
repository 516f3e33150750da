import nodemailer from 'nodemailer';
import type { Mailer, OutgoingMessage, SendOutcome } from '../../src/delivery/mailer.ts';

/**
 * A small real Mailer for tests: plain SMTP (no TLS, no auth) to a local server, so a test
 * sees the message as it crosses the wire. Not the production adapter.
 */
export function createSmtpMailer(port: number, host = '127.0.0.1'): Mailer {
  const transport = nodemailer.createTransport({ host, port, secure: false, ignoreTLS: true });
  return {
    description: `smtp://${host}:${port}`,
    async send(message: OutgoingMessage): Promise<SendOutcome> {
      try {
        const info = await transport.sendMail({
          messageId: message.messageId,
          from: message.from,
          replyTo: message.replyTo,
          to: { name: message.to.name ?? '', address: message.to.email },
          subject: message.subject,
          html: message.html,
          text: message.text,
          date: message.date,
          list: message.list && {
            id: message.list.id,
            unsubscribe: [{ url: message.list.unsubscribeUrl, comment: 'Unsubscribe' }, message.list.unsubscribeMailto],
          },
          headers: message.list && { 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
        });
        return { status: 'sent', response: info.response };
      } catch (error) {
        const code = (error as { responseCode?: number }).responseCode ?? null;
        const response = (error as Error).message;
        return code !== null && code >= 500 ? { status: 'permanent', code, response } : { status: 'temporary', code, response };
      }
    },
    async close(): Promise<void> {
      transport.close();
    },
  };
}
