import { digestPaper } from '../digest/compose.ts';
import { formatDate, plural } from '../digest/format.ts';
import { paperView, topicAnchor } from '../digest/views.ts';
import type { ArchivedPaper, ArchiveTopic, DigestPaperRow, StoredDigest } from '../model/digest.ts';
import { html, type SafeHtml } from './html.ts';
import { layout } from './pages.ts';

/**
 * A digest's web view and the public archive: the same paper blocks as the mail (one view of
 * each paper, see src/digest/views.ts), as pages with no script.
 */

export interface TopicName {
  id: string;
  name: string;
}

function paperBlock(paper: Omit<DigestPaperRow, 'topicId' | 'fitted' | 'carried' | 'score'>, tags: SafeHtml | false = false): SafeHtml {
  const view = paperView(digestPaper(paper));
  const links = view.links.length > 0 ? view.links : [{ label: 'Read more', url: view.url }];
  return html`<article class="paper">
<h3><a href="${view.url}">${view.title}</a>${tags}</h3>
${view.meta && html`<p class="small">${view.meta}</p>`}
<p>${view.abstract}</p>
<p class="links">${links.map((link, index) => html`${index > 0 && ' · '}<a href="${link.url}">${link.label}</a>`)}</p>
</article>`;
}

/** Every paper a digest recorded, fitted or not, grouped by topic in taxonomy order. */
export function digestPage(listName: string, digest: StoredDigest, topics: readonly TopicName[], archiveUrl: string): string {
  const sections = topics
    .map((topic) => ({ topic, papers: digest.papers.filter((paper) => paper.topicId === topic.id) }))
    .filter((section) => section.papers.length > 0);
  const fitted = digest.papers.filter((paper) => paper.fitted).length;
  const rest = digest.papers.length - fitted;
  const carried = digest.papers.filter((paper) => paper.fitted && paper.carried).length;
  return layout(
    listName,
    `Your digest of ${formatDate(digest.createdAt, 'long')}`,
    html`<h1>${plural(digest.papers.length, 'paper')} matched your topics</h1>
<p class="lead">Your digest of ${formatDate(digest.createdAt, 'long')}: ${plural(fitted, 'paper')} in the mail${rest > 0 && html`, ${plural(rest, 'more paper')} that did not fit (marked; your next digest offers them while they are recent)`}.${carried > 0 && html` ${plural(carried, 'paper')} in it had matched your previous digest but did not fit in it.`}</p>
<ul class="list">${sections.map(({ topic, papers }) => html`<li><a href="#${topicAnchor(topic.id)}">${topic.name}</a> (${papers.length})</li>`)}</ul>
${sections.map(
  ({ topic, papers }) => html`<h2 id="${topicAnchor(topic.id)}">${topic.name}</h2>
${papers.map((paper) => paperBlock(paper, (!paper.fitted || paper.carried) && html`${!paper.fitted && html`<span class="tag">did not fit</span>`}${paper.carried && html`<span class="tag">carried over</span>`}`))}`,
)}
<hr>
<p class="small">This page is yours: its link works only for this digest. Past digests of every topic are in the <a href="${archiveUrl}">public archive</a>.</p>`,
  );
}

/** The topics with past digests, each with its page and its Atom feed. */
export function archiveIndexPage(listName: string, topics: readonly (TopicName & Pick<ArchiveTopic, 'papers' | 'latest'>)[]): string {
  return layout(
    listName,
    'Archive',
    html`<h1>Archive</h1>
<p class="lead">The papers ${listName} mailed in its digests, by topic. Each topic has an Atom feed for your feed reader.</p>
${
  topics.length === 0
    ? html`<p>No digest has gone out yet.</p>`
    : html`<ul class="list">${topics.map(
        (topic) =>
          html`<li><a href="/archive/${topic.id}">${topic.name}</a>: ${plural(topic.papers, 'paper')}, latest ${formatDate(topic.latest, 'long')} · <a href="/archive/${topic.id}.atom">Atom feed</a></li>`,
      )}</ul>`
}`,
  );
}

/** One topic's past papers, grouped by the day a digest first carried them. */
export function archiveTopicPage(listName: string, topic: TopicName, papers: readonly ArchivedPaper[]): string {
  const days = [...new Set(papers.map((paper) => paper.digestedOn.slice(0, 10)))];
  return layout(
    listName,
    `${topic.name} · Archive`,
    html`<h1>${topic.name}</h1>
<p class="lead">Papers ${listName} mailed on this topic, newest first. <a href="/archive/${topic.id}.atom">Atom feed</a> · <a href="/archive">All topics</a></p>
${papers.length === 0 && html`<p>No digest has carried a paper on this topic yet.</p>`}
${days.map(
  (day) => html`<h2>${formatDate(day, 'long')}</h2>
${papers.filter((paper) => paper.digestedOn.startsWith(day)).map((paper) => paperBlock(paper))}`,
)}`,
  );
}
