/**
 * What queueing one digest costs in CPU, per message: rendering it (Handlebars over the
 * compiled MJML) and building the raw RFC 5322 message, as `paperboy run` does, against the
 * way it was done before in the same run: every paper's block rendered per reader and the
 * message built by nodemailer's stream builder with its own quoted-printable encoder. Each
 * reader gets a fresh digest (their own papers' order and their own links), so no string is
 * reused that a run would not reuse.
 *
 *   npx tsx scripts/bench-message.ts [--messages 2000] [--rounds 3]
 */
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type MailComposerClass from 'nodemailer/lib/mail-composer';
import { buildRawMessage, mailOptions } from '../src/delivery/mail-options.ts';
import type { OutgoingMessage } from '../src/delivery/mailer.ts';
import type { DigestData } from '../src/digest/digest-data.ts';
import { createRenderer, type RenderedMessage } from '../src/digest/render.ts';
import { compileHandlebars, compileMjml } from '../src/digest/template-compiler.ts';
import { digestText } from '../src/digest/text.ts';
import { digestView, type DigestView } from '../src/digest/views.ts';
import { sampleDigest, samplePapers } from '../test/helpers/sample-digest.ts';

const { values } = parseArgs({ options: { messages: { type: 'string', default: '2000' }, rounds: { type: 'string', default: '3' } } });
const MESSAGES = Number(values.messages);
const ROUNDS = Number(values.rounds);
const TEMPLATES_DIR = fileURLToPath(new URL('../templates/', import.meta.url));
const MailComposer = createRequire(import.meta.url)('nodemailer/lib/mail-composer') as typeof MailComposerClass;

const papers = samplePapers();
const digestFor = (index: number): DigestData => ({
  ...sampleDigest(papers.slice(index % 10, 40 + (index % 10))),
  recipient: { email: `reader${index}@example.com`, name: index % 3 === 0 ? null : `Reader ${index}` },
});
const outgoing = (message: RenderedMessage, index: number): OutgoingMessage => ({
  messageId: `<${index}.bench@example.org>`,
  from: 'Paperboy <paperboy@example.org>',
  to: { email: `reader${index}@example.com`, name: `Reader ${index}` },
  subject: message.subject,
  html: message.html,
  text: message.text,
  date: new Date('2026-12-03T07:00:00Z'),
  list: { id: 'digest.example.org', name: 'Paperboy', unsubscribeUrl: `https://example.org/u/${index}`, unsubscribeMailto: 'unsubscribe@example.org' },
});

const renderer = await createRenderer({ templatesDir: TEMPLATES_DIR });
// The baseline template: the same MJML with the per-paper block cache taken out.
const uncachedHtml = (await compileMjml(TEMPLATES_DIR, 'digest.mjml')).replace(/\{\{[#/]sameForEveryReader\}\}/g, '');
const fillUncached = compileHandlebars<DigestView>(uncachedHtml, 'digest.mjml');

async function now(index: number): Promise<number> {
  const message = renderer.renderDigest(digestFor(index));
  return buildRawMessage(outgoing(message, index), message.pieces).length;
}

async function before(index: number): Promise<number> {
  const view = digestView(digestFor(index), 'Paperboy');
  const message = outgoing({ subject: view.subject, preheader: view.preheader, html: fillUncached(view), text: digestText(view) }, index);
  return (await new MailComposer({ ...mailOptions(message), text: message.text, html: message.html, textEncoding: 'quoted-printable' }).compile().build()).length;
}

async function measure(build: (index: number) => Promise<number>, offset: number): Promise<{ msPerMessage: number; bytes: number }> {
  let bytes = 0;
  const started = performance.now();
  for (let index = 0; index < MESSAGES; index++) bytes += await build(offset + index);
  return { msPerMessage: (performance.now() - started) / MESSAGES, bytes: bytes / MESSAGES };
}

console.log(`render + build one digest message, ${MESSAGES} fresh digests per round, ${ROUNDS} rounds (load ${loadavg().map((l) => l.toFixed(2)).join(' ')})`);
await measure(now, 1e6);
await measure(before, 2e6);
const ours: number[] = [];
const theirs: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  const a = await measure(now, round * MESSAGES);
  const b = await measure(before, round * MESSAGES);
  ours.push(a.msPerMessage);
  theirs.push(b.msPerMessage);
  console.log(`  round ${round + 1}: now ${a.msPerMessage.toFixed(3)} ms/msg (${(a.bytes / 1024).toFixed(1)} KB), before ${b.msPerMessage.toFixed(3)} ms/msg (${(b.bytes / 1024).toFixed(1)} KB): ${(b.msPerMessage / a.msPerMessage).toFixed(2)}×`);
}
const median = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!;
console.log(`median: now ${median(ours).toFixed(3)} ms/msg, before ${median(theirs).toFixed(3)} ms/msg, ${(median(theirs) / median(ours)).toFixed(2)}× (load ${loadavg().map((l) => l.toFixed(2)).join(' ')})`);
