import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';

/** A refusal the sink answers with: the code alone (a stock text), or the code and the whole reply text. */
export type SinkRefusal = number | { code: number; message: string };

export interface SinkBehaviour {
  /** Called for every MAIL FROM: return a refusal to refuse the sender, or nothing to accept. */
  mailFrom?: (address: string) => SinkRefusal | undefined;
  /** Called for every RCPT TO: return a refusal (451, 550…) to refuse it, or nothing to accept. */
  rcpt?: (address: string, attempt: number) => SinkRefusal | undefined;
  /**
   * Called once DATA has arrived, before the 250: return 'drop' to cut the connection
   * instead of answering, or a refusal to reject the message at DATA.
   */
  beforeAccept?: (envelopeTo: string, attempt: number) => 'drop' | SinkRefusal | undefined | Promise<'drop' | SinkRefusal | undefined>;
}

function refusal(answer: SinkRefusal): Error {
  const { code, message } = typeof answer === 'number' ? { code: answer, message: answer >= 500 ? 'Mailbox unavailable' : 'Try again later' } : answer;
  return Object.assign(new Error(message), { responseCode: code });
}

export interface SmtpSink {
  port: number;
  url: string;
  /** Every message the sink accepted (answered 250), parsed. */
  accepted: ParsedMail[];
  /** How many times each recipient was tried (RCPT TO). */
  attempts: Map<string, number>;
  byRecipient(): Map<string, ParsedMail[]>;
  close(): Promise<void>;
}

/** A real SMTP server on 127.0.0.1 (a random free port) that parses what it accepts. */
export async function startSmtpSink(behaviour: SinkBehaviour = {}): Promise<SmtpSink> {
  const accepted: ParsedMail[] = [];
  const attempts = new Map<string, number>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    size: 10 * 1024 * 1024,
    onMailFrom(address, _session, callback) {
      const answer = behaviour.mailFrom?.(address.address);
      callback(answer ? refusal(answer) : undefined);
    },
    onRcptTo(address, _session, callback) {
      const count = (attempts.get(address.address) ?? 0) + 1;
      attempts.set(address.address, count);
      const answer = behaviour.rcpt?.(address.address, count);
      callback(answer ? refusal(answer) : undefined);
    },
    onData(stream, session: SMTPServerSession, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', async () => {
        const to = session.envelope.rcptTo[0]?.address ?? '';
        const verdict = await behaviour.beforeAccept?.(to, attempts.get(to) ?? 0);
        if (verdict === 'drop') {
          for (const connection of (server as unknown as { connections: Set<{ id: string; _socket: { destroy(): void } }> }).connections) {
            if (connection.id === session.id) connection._socket.destroy();
          }
          return;
        }
        if (verdict !== undefined) {
          callback(refusal(verdict));
          return;
        }
        accepted.push(await simpleParser(Buffer.concat(chunks)));
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = ((server as unknown as { server: { address(): AddressInfo } }).server.address()).port;
  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    accepted,
    attempts,
    byRecipient() {
      const map = new Map<string, ParsedMail[]>();
      for (const mail of accepted) {
        const to = (Array.isArray(mail.to) ? mail.to[0] : mail.to)?.value[0]?.address ?? '';
        map.set(to, [...(map.get(to) ?? []), mail]);
      }
      return map;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
