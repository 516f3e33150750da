import type { SendOutcome } from './mailer.ts';

/**
 * What an SMTP failure means, by the stage it happened at and its codes (RFC 5321 reply
 * codes, RFC 3463 enhanced status codes). Only a refusal of the recipient bounces them; a
 * relay that refuses the sender, the content by policy, the login or the session says
 * nothing about the address, and would refuse every other message the same way.
 */

export interface SmtpFailure {
  /** The SMTP command that failed as nodemailer names it: `RCPT TO`, `MAIL FROM`, `DATA`, `CONN`, `AUTH PLAIN`, `API`… */
  command: string | undefined;
  /** The reply code, when the server answered. */
  responseCode: number | undefined;
  /** nodemailer's error code: `EENVELOPE`, `EMESSAGE`, `EAUTH`, `ECONNECTION`, `ETIMEDOUT`, `ETLS`… */
  code: string | undefined;
  /** The code of the error beneath nodemailer's (a TLS verification code such as DEPTH_ZERO_SELF_SIGNED_CERT). */
  originalCode?: string | undefined;
  /** The server's reply line, or the error's message. */
  text: string;
  /** How many recipients the message had. */
  recipients: number;
}

/** Errors for a connection that broke or timed out: the message may be retried. */
const TRANSIENT_CODES = new Set(['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'EPROTOCOL', 'EMAXLIMIT', 'ESTREAM', 'EABORT']);

/** TLS certificate verification failures, as OpenSSL and Node name them. */
const TLS_VERIFICATION = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS/;

/** Reply codes that name the mailbox: no such user (550, 551), mailbox full (552), bad mailbox name (553). */
const MAILBOX_CODES = new Set([550, 551, 552, 553]);

export function classifySmtpFailure(failure: SmtpFailure): SendOutcome {
  const { command, responseCode, code, recipients } = failure;
  const enhanced = /\b([245])\.(\d{1,3})\.(\d{1,3})\b/.exec(failure.text);
  const subject = enhanced ? Number(enhanced[2]) : null;
  const response = responseCode ? failure.text : `${code ?? 'error'}: ${failure.text}`;
  if (responseCode !== undefined && responseCode >= 400 && responseCode < 500) return { status: 'temporary', code: responseCode, response };
  if (responseCode === undefined) {
    // A certificate that does not verify will not verify on the next try either.
    if (failure.originalCode && TLS_VERIFICATION.test(failure.originalCode)) {
      return { status: 'delivery-error', code: null, response: `${response} (${failure.originalCode}): trust the relay's CA with PAPERBOY_SMTP_CA, or set PAPERBOY_SMTP_TLS` };
    }
    if (code && TRANSIENT_CODES.has(code)) return { status: 'temporary', code: null, response };
    // nodemailer refused the address itself before sending (an invalid recipient).
    if (code === 'EENVELOPE' && command === 'API') return { status: 'permanent', code: null, response };
    return { status: 'delivery-error', code: null, response };
  }
  // 5.1.x is about the address, 5.2.x the mailbox; 5.7.x is policy, 5.6.x content, 5.3.x/5.4.x/5.5.x the system, network or protocol.
  const namesMailbox = subject === 1 || subject === 2 || (subject === null && MAILBOX_CODES.has(responseCode));
  if (command === 'RCPT TO' && namesMailbox) return { status: 'permanent', code: responseCode, response };
  if (command === 'DATA' && recipients === 1 && namesMailbox) return { status: 'permanent', code: responseCode, response };
  return { status: 'delivery-error', code: responseCode, response };
}
