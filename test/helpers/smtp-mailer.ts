import { loadConfig } from '../../src/config/config.ts';
import type { Mailer } from '../../src/delivery/mailer.ts';
import { createSmtpMailer as createProductionSmtpMailer } from '../../src/delivery/smtp-mailer.ts';

/** The production SMTP mailer, pointed at a local test server (plain SMTP, no auth). */
export function createSmtpMailer(port: number, host = '127.0.0.1'): Mailer {
  return createProductionSmtpMailer(loadConfig({ PAPERBOY_SMTP_URL: `smtp://${host}:${port}`, PAPERBOY_ALLOW_HTTP_LINKS: 'true' }).delivery);
}
