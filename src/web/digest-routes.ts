import { Hono } from 'hono';
import { DEFAULT_LIST_NAME } from '../config/config.ts';
import { paperUrl } from '../digest/compose.ts';
import type { DigestRepository } from '../store/port.ts';
import { verifyDigestToken } from '../tokens.ts';
import { archiveIndexPage, archiveTopicPage, digestPage, type TopicName } from './digest-pages.ts';
import { messagePage } from './pages.ts';

export interface DigestRoutesDeps {
  store: Pick<DigestRepository, 'digestByKey' | 'archiveTopics' | 'archivedPapers'>;
  topics: readonly TopicName[];
  secret: string;
  publicUrl: string;
  /** PAPERBOY_LIST_NAME; the default name when not given. */
  listName?: string;
}

const ARCHIVE_LIMIT = 200;
const NOT_AVAILABLE = { title: 'This digest is not available', text: 'The link may be cut short, or the digest was removed with its subscription.', link: { href: '/archive', text: 'See the public archive' } };

/** `GET /d/{token}`, `/archive`, `/archive/{topic}` and `/archive/{topic}.atom`. */
export function createDigestRoutes(deps: DigestRoutesDeps): Hono {
  const routes = new Hono();
  const listName = deps.listName ?? DEFAULT_LIST_NAME;
  const topicById = new Map(deps.topics.map((topic) => [topic.id, topic]));

  routes.get('/d/:token', async (c) => {
    const check = verifyDigestToken(deps.secret, c.req.param('token'));
    if (!check.ok) return c.html(messagePage(listName, NOT_AVAILABLE), 400);
    const digest = await deps.store.digestByKey(check.digestKey);
    // The token binds the digest to its subscriber: a key alone opens nothing.
    if (!digest || digest.subscriberId !== check.subscriberId) return c.html(messagePage(listName, NOT_AVAILABLE), 404);
    return c.html(digestPage(listName, digest, deps.topics, '/archive'));
  });

  routes.get('/archive', async (c) => {
    const counts = new Map((await deps.store.archiveTopics()).map((row) => [row.topicId, row]));
    return c.html(archiveIndexPage(listName, deps.topics.flatMap((topic) => (counts.has(topic.id) ? [{ ...topic, ...counts.get(topic.id)! }] : []))));
  });

  routes.get('/archive/:name', async (c) => {
    const name = c.req.param('name');
    const feed = name.endsWith('.atom');
    const topic = topicById.get(feed ? name.slice(0, -'.atom'.length) : name);
    if (!topic) return c.notFound();
    const papers = await deps.store.archivedPapers(topic.id, ARCHIVE_LIMIT);
    if (!feed) return c.html(archiveTopicPage(listName, topic, papers));
    const base = `${deps.publicUrl}/archive/${topic.id}`;
    const entries = papers.map(
      (paper) => `<entry><id>${xml(`${base}#${encodeURIComponent(paper.key)}`)}</id><title>${xml(paper.title)}</title><updated>${xml(paper.digestedOn)}</updated><link href="${xml(paperUrl(paper))}"/><summary>${xml(paper.abstract)}</summary></entry>`,
    );
    const body = `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><id>${xml(base)}</id><title>${xml(`${listName} · ${topic.name}`)}</title><updated>${xml(papers[0]?.digestedOn ?? '1970-01-01T00:00:00.000Z')}</updated><link rel="self" href="${xml(`${base}.atom`)}"/><link rel="alternate" type="text/html" href="${xml(base)}"/><author><name>${xml(listName)}</name></author>
${entries.join('\n')}
</feed>
`;
    return c.body(body, 200, { 'Content-Type': 'application/atom+xml; charset=utf-8' });
  });

  return routes;
}

/** Escaped for XML text and attributes; characters XML 1.0 cannot hold are dropped. */
function xml(text: string): string {
  return text
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
    .replace(/[&<>"']/g, (character) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[character]!);
}
