import type { DigestData, DigestLinks, DigestPaper, PaperLink } from './digest-data.ts';
import { formatDate, listPhrase, plainText, plural } from './format.ts';
import type { ConfirmationData, WelcomeData } from './notice-data.ts';
import { cutAtWord, shortenAbstract } from './shorten-abstract.ts';

/**
 * Views are what both parts of a message show: display-ready, one-line, unescaped strings.
 * The HTML template and the plain-text builder read the same view, so they cannot disagree.
 */

export interface MessageView {
  /** PAPERBOY_LIST_NAME: what the message calls the list. */
  listName: string;
  /** Plain text, safe for a header: no control characters. */
  subject: string;
  preheader: string;
}

export interface DigestView extends MessageView {
  name: string | null;
  email: string;
  frequency: DigestData['frequency'];
  generatedAt: string;
  paperCount: number;
  omittedCount: number;
  carriedCount: number;
  sections: SectionView[];
  links: DigestLinks;
}

export interface SectionView {
  /** Fragment id for the table of contents and the web view's "N more" target; unique within the digest. */
  anchor: string;
  name: string;
  papers: PaperView[];
  moreCount: number;
}

export interface PaperView {
  title: string;
  url: string;
  /** Authors or author count or organization, date, upvotes, comments: whichever are known. */
  meta: string;
  abstract: string;
  links: PaperLink[];
}

/**
 * `weekdayName`: `Monday` for a weekly digest, null for a daily one. `expiresText`: when the
 * link stops working, in PAPERBOY_TZ; `firstDigestNote`: when the first digest would come.
 */
export type ConfirmationView = MessageView & ConfirmationData & { weekdayName: string | null; expiresText: string; firstDigestNote: string };

export type WelcomeView = MessageView & WelcomeData & { weekdayName: string | null };

const WEEKDAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

function weekdayNameOf(data: { frequency: DigestData['frequency']; weekday: number | null }): string | null {
  return data.frequency === 'weekly' ? (WEEKDAY_NAMES[data.weekday ?? 1] ?? null) : null;
}

/** `daily digest`, or `weekly digest (every Monday)`. */
export function cadence(view: { frequency: DigestData['frequency']; weekdayName: string | null }): string {
  return view.weekdayName ? `${view.frequency} digest (every ${view.weekdayName})` : `${view.frequency} digest`;
}

const SHOWN_AUTHORS = 3;
const SUBJECT_TOPICS = 2;
const PREHEADER_TITLES = 4;
const PREHEADER_LENGTH = 150;

export function digestView(data: DigestData, listName: string): DigestView {
  const sections = data.sections.map(
    (section): SectionView => ({
      anchor: topicAnchor(section.topic.id),
      name: plainText(section.topic.name),
      papers: section.papers.map(paperView),
      moreCount: section.moreCount,
    }),
  );
  const ranked = [...sections].sort((a, b) => b.papers.length - a.papers.length);
  const topics = topicPhrase(ranked.map((section) => section.name));
  const titles = sections.flatMap((section) => section.papers.map((paper) => paper.title));
  return {
    listName,
    // An empty digest is the optional "nothing new" note (PAPERBOY_SEND_EMPTY).
    subject: data.paperCount === 0 ? 'Nothing new in your topics this time' : plainText(`${plural(data.paperCount, 'new paper')}${topics ? `: ${topics}` : ''}`),
    preheader:
      data.paperCount === 0
        ? 'No new papers matched your topics since your last digest.'
        : cutAtWord(titles.slice(0, PREHEADER_TITLES).join(' · '), PREHEADER_LENGTH),
    name: data.recipient.name === null ? null : plainText(data.recipient.name) || null,
    email: plainText(data.recipient.email),
    frequency: data.frequency,
    generatedAt: data.generatedAt,
    paperCount: data.paperCount,
    omittedCount: data.omittedCount,
    carriedCount: data.carriedCount,
    sections,
    links: data.links,
  };
}

/** The fragment of a topic's section, the same in the mail and on its web view ("N more" links there). */
export function topicAnchor(topicId: string): string {
  return `topic-${topicId}`;
}

export function confirmationView(data: ConfirmationData, listName: string): ConfirmationView {
  const topics = data.topics.map(plainText);
  return {
    ...data,
    listName,
    subject: `Confirm your ${listName} subscription`,
    preheader: `One click to start your ${data.frequency} digest${onTopics(topics)}.`,
    email: plainText(data.email),
    topics,
    weekdayName: weekdayNameOf(data),
    expiresText: localTime(data.expiresAt, data.timeZone),
    firstDigestNote:
      data.firstDigestAt === null
        ? 'Your first digest comes with the first scheduled run after you confirm, if there are new papers on your topics by then.'
        : `Confirm now and your first digest comes with the scheduled run on ${localTime(data.firstDigestAt, data.timeZone)}, if there are new papers on your topics by then.`,
  };
}

// One formatter per time zone: each holds native memory that is not given back (see delivery/due.ts).
const localTimeFormats = new Map<string, Intl.DateTimeFormat>();

/** `Wednesday, 25 November 2026 at 07:00 (Europe/Berlin)`. */
function localTime(instant: string, timeZone: string): string {
  let format = localTimeFormats.get(timeZone);
  if (!format) localTimeFormats.set(timeZone, (format = new Intl.DateTimeFormat('en-GB', { timeZone, dateStyle: 'full', timeStyle: 'short' })));
  return `${format.format(new Date(instant))} (${timeZone})`;
}

export function welcomeView(data: WelcomeData, listName: string): WelcomeView {
  const topics = data.topics.map(plainText);
  return {
    ...data,
    listName,
    subject: `You are subscribed to ${listName}`,
    preheader: `Your ${data.frequency} digest${onTopics(topics)} starts with the next new papers.`,
    email: plainText(data.email),
    topics,
    weekdayName: weekdayNameOf(data),
  };
}

// A run hands the same paper objects to many subscribers' digests; each paper's view is
// worked out once. Keyed by identity, so data built afresh per digest is simply not reused.
const paperViews = new WeakMap<DigestPaper, PaperView>();

export function paperView(paper: DigestPaper): PaperView {
  let view = paperViews.get(paper);
  if (!view) {
    view = {
      title: plainText(paper.title),
      url: plainText(paper.url),
      meta: metaLine(paper),
      abstract: shortenAbstract(paper.abstract),
      links: paper.links.map((link) => ({ label: link.label, url: plainText(link.url) })),
    };
    paperViews.set(paper, view);
  }
  return view;
}

function metaLine(paper: DigestPaper): string {
  const parts = [byline(paper)];
  if (paper.publishedOn) parts.push(formatDate(paper.publishedOn));
  if (paper.upvotes) parts.push(plural(paper.upvotes, 'upvote'));
  if (paper.comments) parts.push(plural(paper.comments, 'comment'));
  return parts.filter((part) => part !== '').join(' · ');
}

function byline(paper: DigestPaper): string {
  const names = paper.authors.map(plainText).filter((name) => name !== '');
  const organization = paper.organization === null ? '' : plainText(paper.organization);
  if (names.length > 0) {
    const shown = names.slice(0, SHOWN_AUTHORS).join(', ');
    return names.length > SHOWN_AUTHORS ? `${shown} et al.` : shown;
  }
  if (paper.authorCount) return [plural(paper.authorCount, 'author'), organization].filter(Boolean).join(' · ');
  return organization;
}

function onTopics(topics: readonly string[]): string {
  return topics.length > 0 ? ` on ${topicPhrase(topics)}` : '';
}

/** `A`, `A and B`, `A, B and C`, `A, B and 3 more topics`: names in the order given. */
function topicPhrase(names: readonly string[]): string {
  if (names.length <= SUBJECT_TOPICS + 1) return listPhrase(names);
  return listPhrase([...names.slice(0, SUBJECT_TOPICS), plural(names.length - SUBJECT_TOPICS, 'more topic')]);
}
