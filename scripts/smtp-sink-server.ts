/**
 * A discarding SMTP sink for scripts/bench-send.ts. It runs as its own process so that it
 * neither shares the sender's event loop nor takes its CPU time from the sender's measure.
 * It accepts every message, counts messages, bytes and connections, and keeps nothing.
 *
 * Prints its port as the first line of stdout; then answers every line it reads on stdin
 * with one JSON line of its counters and its CPU time so far. Two lines also change how it
 * behaves from then on: `greet-pause on|off` (below) and `reply-delay MS`, a wait before it
 * accepts each message, as a relay that commits the message to disk or sits a network away
 * makes its client wait. Exits when stdin closes, so it dies with the benchmark whatever way
 * that ends.
 *
 *   node --import tsx scripts/smtp-sink-server.ts
 */
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { SMTPServer } from 'smtp-server';
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';

export interface SinkCounters {
  messages: number;
  bytes: number;
  connections: number;
  /** User + system CPU time of the sink process since it started. */
  cpuMs: number;
}

const counters = { messages: 0, bytes: 0, connections: 0 };
let replyDelayMs = 0;

/**
 * smtp-server always waits 100 ms before its greeting, to catch clients that talk too soon
 * (as Postfix's postscreen does). That is a cost per connection, so a sender that opens one
 * per message pays it on every message; with the pause off, the sink greets at once, which
 * shows what a pool gains against a server that costs nothing to connect to.
 */
let greetPause = true;
const initWithPause = SMTPConnection.prototype.init;
SMTPConnection.prototype.init = function init(this: SMTPConnection) {
  if (greetPause) initWithPause.call(this);
  else this._setListeners(() => this.connectionReady());
};

const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS', 'AUTH'],
  // A real MTA would look the client up; here that would charge every new connection (the
  // baseline's per-message cost) for a DNS query the sender has nothing to do with.
  disableReverseLookup: true,
  logger: false,
  size: 1024 ** 3,
  onConnect(_session, callback) {
    counters.connections++;
    callback();
  },
  onData(stream, _session, callback) {
    stream.on('data', (chunk: Buffer) => {
      counters.bytes += chunk.length;
    });
    stream.on('end', () => {
      counters.messages++;
      if (replyDelayMs > 0) setTimeout(callback, replyDelayMs);
      else callback();
    });
  },
});
server.on('error', (error) => process.stderr.write(`smtp sink: ${error.message}\n`));

server.listen(0, '127.0.0.1', () => {
  const { port } = (server as unknown as { server: { address(): AddressInfo } }).server.address();
  process.stdout.write(`${port}\n`);
});

createInterface({ input: process.stdin })
  .on('line', (line) => {
    const [command, value = ''] = line.split(' ');
    if (command === 'greet-pause') greetPause = value === 'on';
    if (command === 'reply-delay') replyDelayMs = Number(value);
    const cpu = process.cpuUsage();
    const reply: SinkCounters = { ...counters, cpuMs: (cpu.user + cpu.system) / 1000 };
    process.stdout.write(`${JSON.stringify(reply)}\n`);
  })
  .on('close', () => process.exit(0));
