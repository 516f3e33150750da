import { formatDate, listPhrase, plural } from './format.ts';
import { placeShared, type SharedBlock } from './shared-blocks.ts';
import { cadence, type ConfirmationView, type DigestView, type PaperView, type WelcomeView } from './views.ts';

/**
 * The text/plain parts: the same content and links as the HTML, wrapped for 80-column
 * readers. Views are already one-line and unescaped, so nothing here needs decoding.
 */

const WIDTH = 76;
const RULE = '-'.repeat(WIDTH);

export function digestText(view: DigestView): string {
  const lines = [
    `${view.listName} · your ${view.frequency} digest · ${formatDate(view.generatedAt, 'long')}`,
    `View in browser: ${view.links.view}`,
    '',
    ...wrap(`${view.name ? `Hi ${view.name}, here are ` : ''}${plural(view.paperCount, 'new paper')} on the topics you follow.`),
    '',
    'In this digest:',
    ...view.sections.map((section) => `  - ${section.name} (${section.papers.length})`),
  ];
  if (view.carriedCount > 0) {
    lines.push('', ...wrap(carriedNote(view.carriedCount)));
  }
  if (view.omittedCount > 0) {
    lines.push('', ...wrap(`${plural(view.omittedCount, 'more paper')} matched but did not fit; the next digest offers them while they are recent. All of them: ${view.links.view}`));
  }
  for (const section of view.sections) {
    const heading = `${section.name} (${section.papers.length})`;
    lines.push('', '', heading, '='.repeat(Math.min(heading.length, WIDTH)));
    for (const paper of section.papers) lines.push('', paperBlock(paper));
    if (section.moreCount > 0) {
      lines.push('', ...wrap(`${plural(section.moreCount, 'more paper')} in ${section.name}: ${view.links.view}#${section.anchor}`));
    }
  }
  lines.push(
    '',
    '',
    RULE,
    ...wrap(`You get this ${view.frequency} digest because ${view.email} subscribed to ${view.listName}.`),
    '',
    `Past digests by topic: ${view.links.archive}`,
    `Manage preferences: ${view.links.preferences}`,
    `Unsubscribe: ${view.links.unsubscribe}`,
  );
  return finish(lines);
}

export function confirmationText(view: ConfirmationView): string {
  return finish([
    view.subject,
    '',
    ...wrap(`Someone, hopefully you, asked to send a ${cadence(view)} of new research papers to ${view.email}${view.topics.length > 0 ? `, on ${listPhrase(view.topics)}` : ''}.`),
    '',
    'To start it, confirm your address here:',
    view.confirmUrl,
    '',
    ...wrap(`This link works until ${view.expiresText}.`),
    '',
    ...wrap(view.firstDigestNote),
    '',
    ...wrap('If this was not you, ignore this email: without confirmation we will not write again.'),
  ]);
}

export function welcomeText(view: WelcomeView): string {
  return finish([
    view.subject,
    '',
    ...wrap(`Your ${cadence(view)} will come to ${view.email} whenever there are new papers on the topics you follow:`),
    '',
    ...view.topics.map((topic) => `  - ${topic}`),
    '',
    `Change topics or frequency: ${view.links.preferences}`,
    `Unsubscribe: ${view.links.unsubscribe}`,
  ]);
}

export function carriedNote(count: number): string {
  return `${plural(count, 'paper')} here matched your last digest but did not fit in it.`;
}

// Paper views are shared across digests (see views.ts), so each paper is wrapped once, and
// its block is shared (src/digest/shared-blocks.ts) by every digest that shows it.
const paperBlocks = new WeakMap<PaperView, SharedBlock>();

function paperBlock(paper: PaperView): string {
  let block = paperBlocks.get(paper);
  if (block === undefined) {
    const links = paper.links.length > 0 ? paper.links.map((link) => `${link.label}: ${link.url}`) : [`Read more: ${paper.url}`];
    block = { text: [...wrap(paper.title), ...(paper.meta ? wrap(paper.meta) : []), '', ...wrap(paper.abstract), ...links].join('\n') };
    paperBlocks.set(paper, block);
  }
  return placeShared(block);
}

/** Greedy word wrap; a word longer than the width (a URL) gets a line of its own, unbroken. */
function wrap(text: string): string[] {
  const lines: string[] = [];
  let start = 0;
  while (text.length - start > WIDTH) {
    let end = text.lastIndexOf(' ', start + WIDTH);
    if (end <= start) end = text.indexOf(' ', start + WIDTH);
    if (end === -1) break;
    lines.push(text.slice(start, end));
    start = end + 1;
  }
  lines.push(text.slice(start));
  return lines;
}

function finish(lines: string[]): string {
  return `${lines.join('\n')}\n`;
}
