import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { createSmtpMailer } from '../../src/delivery/smtp-mailer.ts';
import { isPaperboyError } from '../../src/errors.ts';

/**
 * The local-MTA case: a relay on this host that offers STARTTLS with a self-signed
 * certificate. Each PAPERBOY_SMTP_TLS setting against a real smtp-server.
 */
let certDir: string;
let server: SMTPServer | undefined;
const sessions: { secure: boolean }[] = [];

beforeAll(() => {
  certDir = mkdtempSync(join(tmpdir(), 'paperboy-tls-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(certDir, 'key.pem'), '-out', join(certDir, 'cert.pem'), '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
});
afterAll(() => rmSync(certDir, { recursive: true, force: true }));
afterEach(async () => {
  sessions.length = 0;
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function relay(options: { starttls: boolean }): Promise<number> {
  server = new SMTPServer({
    key: readFileSync(join(certDir, 'key.pem')),
    cert: readFileSync(join(certDir, 'cert.pem')),
    authOptional: true,
    logger: false,
    disabledCommands: options.starttls ? ['AUTH'] : ['AUTH', 'STARTTLS'],
    onData(stream, session, callback) {
      stream.resume();
      stream.on('end', () => {
        sessions.push({ secure: session.secure });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return ((server as unknown as { server: { address(): AddressInfo } }).server.address()).port;
}

const message = { messageId: '<tls-test@papers.example.org>', envelope: { from: 'digest@papers.example.org', to: 'ada@example.org' }, raw: Buffer.from('Subject: hi\r\n\r\nhello\r\n'), html: '' };

async function sendWith(port: number, settings: Record<string, string>) {
  const mailer = createSmtpMailer(loadConfig({ PAPERBOY_SMTP_URL: `smtp://127.0.0.1:${port}`, PAPERBOY_ALLOW_HTTP_LINKS: 'true', ...settings }).delivery);
  try {
    return await mailer.sendRaw(message);
  } finally {
    await mailer.close();
  }
}

describe('PAPERBOY_SMTP_TLS and PAPERBOY_SMTP_CA against a relay with a self-signed certificate', () => {
  it('opportunistic (the default) refuses the unverifiable certificate: a delivery error that says what to set', async () => {
    const port = await relay({ starttls: true });
    const outcome = await sendWith(port, {});
    expect(outcome).toEqual({
      status: 'delivery-error',
      code: null,
      response: "ESOCKET: self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT): trust the relay's CA with PAPERBOY_SMTP_CA, or set PAPERBOY_SMTP_TLS",
    });
    expect(sessions).toEqual([]);
  });

  it('trusts the relay once its certificate is given as PAPERBOY_SMTP_CA, and sends over TLS', async () => {
    const port = await relay({ starttls: true });
    expect(await sendWith(port, { PAPERBOY_SMTP_CA: join(certDir, 'cert.pem') })).toMatchObject({ status: 'sent' });
    expect(sessions).toEqual([{ secure: true }]);
  });

  it('none sends in clear to a relay on loopback, without trying STARTTLS', async () => {
    const port = await relay({ starttls: true });
    expect(await sendWith(port, { PAPERBOY_SMTP_TLS: 'none' })).toMatchObject({ status: 'sent' });
    expect(sessions).toEqual([{ secure: false }]);
  });

  it('require refuses to send in clear to a relay that offers no STARTTLS', async () => {
    const port = await relay({ starttls: false });
    const outcome = await sendWith(port, { PAPERBOY_SMTP_TLS: 'require', PAPERBOY_SMTP_CA: join(certDir, 'cert.pem') });
    expect(outcome.status).toBe('delivery-error');
    expect(sessions).toEqual([]);
  });

  it('names the variable when the CA file cannot be read', () => {
    const error = (() => {
      try {
        loadConfig({ PAPERBOY_SMTP_URL: 'smtp://127.0.0.1:25', PAPERBOY_ALLOW_HTTP_LINKS: 'true', PAPERBOY_SMTP_CA: '/nonexistent/ca.pem' });
      } catch (caught) {
        return caught;
      }
      return null;
    })();
    expect(isPaperboyError(error, 'CONFIG_INVALID')).toBe(true);
    expect((error as Error).message).toBe('PAPERBOY_SMTP_CA: cannot read the CA file /nonexistent/ca.pem');
  });
});
