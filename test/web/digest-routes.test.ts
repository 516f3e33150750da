import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterEach, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/clock.ts';
import { prepareDigest, type DigestContext } from '../../src/digest/prepare.ts';
import type { Store } from '../../src/store/port.ts';
import { signDigestToken } from '../../src/tokens.ts';
import { loadTaxonomy } from '../../src/topics/taxonomy.ts';
import { createDigestRoutes } from '../../src/web/digest-routes.ts';
import { DUMP_FILES, REPO_ROOT } from '../helpers/paths.ts';
import { ingestPaths, tempSqliteStore } from '../helpers/store.ts';

const SECRET = 'digest-routes-secret-0123456789abcdef';
const taxonomy = loadTaxonomy(join(REPO_ROOT, 'data/topics.yaml'));
const clock = fixedClock('2026-11-23T07:00:00.000Z');
let store: Store;
afterEach(() => store.close());

async function queuedDigest() {
  store = tempSqliteStore().store;
  await ingestPaths(store, clock, [DUMP_FILES[0]!]);
  const ids = (await store.papersToClassify('test', 10_000)).map((paper) => paper.id);
  await store.saveFilings('test', ids.map((paperId, index) => ({ paperId, topics: [{ topicId: ['reasoning', 'code'][index % 2]!, score: 10, evidence: ['test'] }] })));
  const subscriber = (await store.insertSubscriber({ email: 'reader@example.org', name: null, topics: null, frequency: 'daily', weekday: null }, 'active', clock.now().toISOString()))!;
  const context: DigestContext = { store, taxonomy, publicUrl: 'https://digest.example.org', secret: SECRET, rules: { backfillDays: 7, carryOverDays: 7, maxPerTopic: 10, maxPerDigest: 6 } };
  const digest = await prepareDigest(context, subscriber, clock.now());
  await store.queueMessage(
    { runId: null, subscriberId: subscriber.id, kind: 'digest', messageId: '<t@x>', recipient: subscriber.email, recipientName: null, subject: 's', raw: Buffer.from('x'), html: 'x', unsubscribeUrl: 'u', windowSince: null, now: clock.now().toISOString() },
    digest.selection.paperIds,
    digest.record,
  );
  const app = createDigestRoutes({ store, topics: taxonomy.topics, secret: SECRET, publicUrl: 'https://digest.example.org' });
  return { app, digest, subscriber, ids };
}

describe('digest web view and archive', () => {
  it('shows every paper of the digest, fitted or not, grouped by topic, with the right links', async () => {
    const { app, digest, ids } = await queuedDigest();
    const path = new URL(digest.data.links.view).pathname;
    const response = await app.request(path);
    expect(response.status).toBe(200);
    const page = await response.text();
    expect(digest.record.entries).toHaveLength(ids.length);
    expect(page.match(/<article class="paper">/g)).toHaveLength(ids.length);
    expect(page.match(/<span class="tag">did not fit<\/span>/g)).toHaveLength(ids.length - 6);
    expect(page).toContain('<h2 id="topic-reasoning">');
    expect(page).toContain('<h2 id="topic-code">');
    for (const section of digest.data.sections) for (const paper of section.papers) expect(page).toContain(`<a href="${paper.url.replace(/&/g, '&amp;')}">`);
  });

  it('refuses a forged, altered or misbound token', async () => {
    const { app, digest, subscriber } = await queuedDigest();
    const token = new URL(digest.data.links.view).pathname.slice(3);
    expect((await app.request(`/d/${token}x`)).status).toBe(400);
    expect((await app.request(`/d/${signDigestToken('another-secret-0123456789abcdef', subscriber.id, digest.record.key)}`)).status).toBe(400);
    expect((await app.request(`/d/${signDigestToken(SECRET, subscriber.id + 1, digest.record.key)}`)).status).toBe(404);
    expect((await app.request(`/d/${signDigestToken(SECRET, subscriber.id, 'no-such-digest')}`)).status).toBe(404);
  });

  it('archives the papers that went out, per topic, with a valid escaped Atom feed', async () => {
    const { app, digest } = await queuedDigest();
    const index = await (await app.request('/archive')).text();
    expect(index).toContain('<a href="/archive/reasoning">');
    const sent = digest.data.sections.find((section) => section.topic.id === 'code')!.papers;
    const page = await (await app.request('/archive/code')).text();
    expect(page.match(/<article class="paper">/g)).toHaveLength(sent.length);
    const feed = await app.request('/archive/code.atom');
    expect(feed.headers.get('content-type')).toBe('application/atom+xml; charset=utf-8');
    const text = await feed.text();
    expect(XMLValidator.validate(text)).toBe(true);
    const entries = [new XMLParser().parse(text).feed.entry].flat() as { title: string }[];
    expect(entries.map((entry) => entry.title).sort()).toEqual(sent.map((paper) => paper.title).sort());
    expect((await app.request('/archive/nonesuch.atom')).status).toBe(404);
  });
});
