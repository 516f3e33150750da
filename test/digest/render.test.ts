import { mkdtemp, readdir, readFile, rm, writeFile, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import mjml2html from 'mjml';
import { describe, expect, it, vi } from 'vitest';
import type { DigestData, DigestPaper, DigestSection } from '../../src/digest/digest-data.ts';
import { createRenderer } from '../../src/digest/render.ts';
import { shortenAbstract } from '../../src/digest/shorten-abstract.ts';
import { compileMjml } from '../../src/digest/template-compiler.ts';
import { isPaperboyError } from '../../src/errors.ts';
import { digestOf, sampleDigest, samplePapers } from '../helpers/sample-digest.ts';

// Counts MJML compilations while still compiling for real.
vi.mock('mjml', async (importOriginal) => {
  const actual = await importOriginal<{ default: typeof mjml2html }>();
  return { default: vi.fn(actual.default) };
});

const TEMPLATES_DIR = fileURLToPath(new URL('../../templates/', import.meta.url));
const TEMPLATES = ['digest.mjml', 'confirm.mjml', 'welcome.mjml'];
const KB = 1024;

const escape = (value: string) => Handlebars.escapeExpression(value);
const headCss = (html: string) =>
  [...html.slice(0, html.indexOf('</head>')).matchAll(/<style[^>]*>[\s\S]*?<\/style>/g)].map(([css]) => css).join('');
const flowed = (text: string) => text.replace(/\n/g, ' ');

function paper(overrides: Partial<DigestPaper> = {}): DigestPaper {
  return {
    id: 'p1',
    title: 'A Paper',
    url: 'https://huggingface.co/papers/2401.00001',
    links: [
      { label: 'Hugging Face', url: 'https://huggingface.co/papers/2401.00001' },
      { label: 'arXiv', url: 'https://arxiv.org/abs/2401.00001' },
      { label: 'PDF', url: 'https://arxiv.org/pdf/2401.00001' },
    ],
    abstract: 'An abstract.',
    authors: [],
    authorCount: null,
    organization: null,
    publishedOn: null,
    upvotes: null,
    comments: null,
    ...overrides,
  };
}

function section(name: string, papers: DigestPaper[], moreCount = 0): DigestSection {
  return { topic: { id: name.toLowerCase(), name }, papers, moreCount };
}

const renderer = await createRenderer({ templatesDir: TEMPLATES_DIR });
const CONFIRM_TIMES = { expiresAt: '2025-03-16T06:00:00.000Z', firstDigestAt: null, timeZone: 'UTC' };
const fullDigest = sampleDigest(samplePapers().slice(0, 50));

describe('templates', () => {
  it.each(TEMPLATES)('%s passes strict MJML validation', async (file) => {
    await expect(compileMjml(TEMPLATES_DIR, file)).resolves.toContain('</html>');
  });

  it('never triple-stash data', async () => {
    for (const file of await readdir(TEMPLATES_DIR, { recursive: true })) {
      if (!file.endsWith('.mjml')) continue;
      const source = await readFile(join(TEMPLATES_DIR, file), 'utf8');
      expect(source, file).not.toMatch(/\{\{\{|\{\{&/);
    }
  });

  it('rejects an invalid template with TEMPLATE_INVALID naming the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'paperboy-templates-'));
    try {
      await cp(TEMPLATES_DIR, dir, { recursive: true });
      const digest = join(dir, 'digest.mjml');
      await writeFile(digest, (await readFile(digest, 'utf8')).replace('<mj-column>', '<mj-column colour="red">'));
      const failure = await createRenderer({ templatesDir: dir }).catch((error: unknown) => error);
      expect(isPaperboyError(failure, 'TEMPLATE_INVALID')).toBe(true);
      expect((failure as Error).message).toMatch(/^digest\.mjml: .*colour/);

      await writeFile(digest, (await readFile(join(TEMPLATES_DIR, 'digest.mjml'), 'utf8')).replace('{{/each}}', '{{/if}}'));
      const handlebarsFailure = await createRenderer({ templatesDir: dir }).catch((error: unknown) => error);
      expect(isPaperboyError(handlebarsFailure, 'TEMPLATE_INVALID')).toBe(true);
      expect((handlebarsFailure as Error).message).toMatch(/^digest\.mjml: /);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('compiles MJML once per template, not per recipient', async () => {
    const compile = vi.mocked(mjml2html);
    compile.mockClear();
    const fresh = await createRenderer({ templatesDir: TEMPLATES_DIR });
    expect(compile).toHaveBeenCalledTimes(TEMPLATES.length);
    for (let i = 0; i < 100; i += 1) fresh.renderDigest(fullDigest);
    expect(compile).toHaveBeenCalledTimes(TEMPLATES.length);
  });
});

describe('digest subject and preheader', () => {
  const counts: [string, number][] = [
    ['Efficient Inference', 2],
    ['Reasoning & Math', 4],
    ['Vision', 1],
    ['Agents & Tool Use', 3],
    ['Code', 2],
  ];
  const data = digestOf(counts.map(([name, count]) => section(name, Array.from({ length: count }, () => paper()))));

  it('counts papers and names the biggest topics', () => {
    expect(renderer.renderDigest(data).subject).toBe('12 new papers: Reasoning & Math, Agents & Tool Use and 3 more topics');
  });

  it('lists up to three topics in full, and says "paper" for one', () => {
    expect(renderer.renderDigest(digestOf([section('Vision', [paper()])])).subject).toBe('1 new paper: Vision');
    const three = digestOf([section('A', [paper()]), section('B', [paper(), paper()]), section('C', [paper()])]);
    expect(renderer.renderDigest(three).subject).toBe('4 new papers: B, A and C');
  });

  it('keeps control characters out of the subject', () => {
    const hostile = digestOf([section('Evil\r\nBcc: victim@example.com\u0000\u202e', [paper()])]);
    expect(renderer.renderDigest(hostile).subject).toBe('1 new paper: Evil Bcc: victim@example.com');
  });

  it('dates the digest in UTC', () => {
    const lateInNewYork = { ...data, generatedAt: '2025-03-14T23:30:00-05:00' };
    const message = renderer.renderDigest(lateInNewYork);
    expect(message.html).toContain('Saturday, March 15, 2025</p>');
    expect(message.text.split('\n')[0]).toBe('Paperboy · your daily digest · Saturday, March 15, 2025');
  });

  it('previews the first titles, hidden at the top of the body', () => {
    const message = renderer.renderDigest(fullDigest);
    const [first] = fullDigest.sections[0]?.papers ?? [];
    expect(message.preheader.startsWith(`${first?.title} · `)).toBe(true);
    expect(message.preheader.length).toBeLessThanOrEqual(150);
    expect(message.html).toMatch(new RegExp(`<div style="display:none;[^"]*">${escapeRegExp(escape(message.preheader))}`));
  });
});

describe('digest HTML', () => {
  const message = renderer.renderDigest(fullDigest);
  const papers = fullDigest.sections.flatMap((s) => s.papers);

  it(`stays under Gmail's clipping size with 50 real papers`, () => {
    const html = Buffer.byteLength(message.html);
    const css = Buffer.byteLength(headCss(message.html));
    const sizes = `HTML ${(html / KB).toFixed(1)} KB, head CSS ${(css / KB).toFixed(1)} KB`;
    expect(papers).toHaveLength(50);
    // The figure goes in the test log, so a change that grows the digest shows.
    console.log(`digest with 50 papers: ${sizes} (Gmail clips at 102 KB; limit here 90 KB)`);
    expect(html, sizes).toBeLessThan(90 * KB);
    expect(css, sizes).toBeLessThan(16 * KB);
  });

  it('links every title to its paper, and has preferences and unsubscribe links', () => {
    for (const { title, url } of papers) {
      expect(message.html).toContain(`<a href="${escape(url)}" style="color:#111827;text-decoration:none">${escape(title)}</a>`);
    }
    expect(message.html).toContain(`href="${escape(fullDigest.links.preferences)}"`);
    expect(message.html).toContain(`href="${escape(fullDigest.links.unsubscribe)}"`);
  });

  it('has a table of contents pointing at every topic heading', () => {
    fullDigest.sections.forEach(({ topic, papers: sectionPapers }) => {
      expect(message.html).toContain(`<a href="#topic-${topic.id}"`);
      expect(message.html).toMatch(new RegExp(`<h2 [^>]*id="topic-${topic.id}"[^>]*>${escapeRegExp(escape(topic.name))}</h2>`));
      expect(message.html).toMatch(new RegExp(`>${escapeRegExp(escape(topic.name))}</a></td>\\s*<td[^>]*>${sectionPapers.length}</td>`));
    });
  });

  it('says how many more papers a topic had, linking to that topic on the web view', () => {
    const withMore = fullDigest.sections.find((s) => s.moreCount === 2)!;
    expect(message.html).toContain(`<a href="${escape(fullDigest.links.view)}#topic-${withMore.topic.id}"`);
    expect(message.html).toContain(`2 more papers in ${escape(withMore.topic.name)} →</a>`);
  });

  it('opens with a "View in browser" link, and sends "Browse them all" there too', () => {
    const data = { ...fullDigest, omittedCount: 12, carriedCount: 3 };
    const html = renderer.renderDigest(data).html;
    const view = escape(fullDigest.links.view);
    expect(html.indexOf(`<a href="${view}"`)).toBeLessThan(html.indexOf('<h1'));
    expect(html).toMatch(new RegExp(`<a href="${escapeRegExp(view)}"[^>]*>View in browser</a>`));
    expect(html).toMatch(new RegExp(`12 more papers matched your topics but did not fit; your next digest offers them while they are recent. <a href="${escapeRegExp(view)}"[^>]*>Browse them all</a>`));
    expect(html).toContain('3 papers here matched your last digest but did not fit in it.');
    expect(html).not.toContain('https://huggingface.co/papers"');
  });

  it('lists every link of every paper under it, in order', () => {
    for (const paper of papers) {
      const anchors = paper.links.map((link) => `<a href="${escapeRegExp(escape(link.url))}"[^>]*>${escapeRegExp(link.label)}</a>`);
      // Nothing known but the title: one link, to a search.
      if (anchors.length === 0) anchors.push(`<a href="${escapeRegExp(escape(paper.url))}"[^>]*>Read more →</a>`);
      expect(message.html).toMatch(new RegExp(`<p class="pb-links"[^>]*>${anchors.join(' · ')}</p>`));
    }
  });

  it('declares light and dark support', () => {
    expect(message.html).toContain('<meta name="color-scheme" content="light dark">');
    expect(message.html).toContain('<meta name="supported-color-schemes" content="light dark">');
    expect(message.html).toContain('@media (prefers-color-scheme: dark)');
  });

  it('shows authors, counts and dates in one line', () => {
    const data = digestOf([
      section('T', [
        paper({ authors: ['Ada Lovelace', 'Alan Turing', 'Grace Hopper', 'Emmy Noether'], authorCount: 4, publishedOn: '2023-06-28', upvotes: 12, comments: 1 }),
        paper({ authors: ['Ada Lovelace'], authorCount: 1 }),
        paper({ authorCount: 5, organization: 'alibaba-inc' }),
        paper({ organization: 'Hugging Face', upvotes: 1 }),
      ]),
    ]);
    const html = renderer.renderDigest(data).html;
    expect(html).toContain('>Ada Lovelace, Alan Turing, Grace Hopper et al. · Jun 28, 2023 · 12 upvotes · 1 comment</div>');
    expect(html).toContain('>Ada Lovelace</div>');
    expect(html).toContain('>5 authors · alibaba-inc</div>');
    expect(html).toContain('>Hugging Face · 1 upvote</div>');
  });
});

describe('hostile content', () => {
  const evil = `<script>alert(1)</script> & "double" 'single' {{foo}} {{{x}}}\r\nInjected: header`;
  const evilUrl = 'https://example.com/?a=1&b="2"';
  const shortEvil = '<b>Bold</b> {{foo}}\r\nBcc: victim@example.com';
  const data: DigestData = {
    ...digestOf([
      section(evil, [
        paper({ title: evil, abstract: evil, authors: [evil], authorCount: 1, organization: evil, url: evilUrl }),
        paper({ title: shortEvil }),
      ]),
    ]),
    recipient: { email: `x@example.com"><script>alert(2)</script>`, name: evil },
  };
  const message = renderer.renderDigest(data);

  it('renders as escaped text in the HTML part', () => {
    expect(message.html).not.toContain('<script');
    expect(message.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;double&quot; &#x27;single&#x27; {{foo}} {{{x}}} Injected: header');
    expect(message.html).toContain('href="https://example.com/?a&#x3D;1&amp;b&#x3D;&quot;2&quot;"');
    expect(message.html).toContain('x@example.com&quot;&gt;&lt;script&gt;alert(2)&lt;/script&gt;');
  });

  it('stays literal, and on its own line, in the text part', () => {
    expect(flowed(message.text)).toContain('<script>alert(1)</script> & "double" \'single\' {{foo}} {{{x}}} Injected: header');
    expect(message.text).toContain('\n<b>Bold</b> {{foo}} Bcc: victim@example.com\n');
    expect(message.text).not.toContain('\r');
  });

  it('never reaches the template engine as a template', () => {
    const confirmation = renderer.renderConfirmation({ email: '{{email}}', frequency: 'daily', weekday: null, topics: ['{{#each topics}}x{{/each}}'], confirmUrl: 'https://e.com/c', ...CONFIRM_TIMES });
    expect(confirmation.html).toContain('<strong>{{email}}</strong>');
    expect(confirmation.html).toContain('<li>{{#each topics}}x{{/each}}</li>');
  });
});

describe('digest text part', () => {
  const { text } = renderer.renderDigest(fullDigest);

  it('has every title, every link and the unsubscribe link', () => {
    for (const { title, links } of fullDigest.sections.flatMap((s) => s.papers)) {
      expect(flowed(text)).toContain(title);
      expect(text).toContain(`\n${links.map((link) => `${link.label}: ${link.url}`).join('\n')}\n`);
    }
    expect(text).toContain(`View in browser: ${fullDigest.links.view}\n`);
    expect(text).toContain(`Manage preferences: ${fullDigest.links.preferences}\n`);
    expect(text).toContain(`Unsubscribe: ${fullDigest.links.unsubscribe}\n`);
  });

  it('heads each topic and wraps at 76 columns, never breaking a URL', () => {
    for (const { topic, papers } of fullDigest.sections) expect(text).toContain(`\n${topic.name} (${papers.length})\n===`);
    for (const line of text.split('\n')) {
      if (line.length > 76) expect(line).toMatch(/^\S*(https?:\/\/\S+)$|^\w[\w ]*: https?:\/\/\S+$/);
    }
  });

  it('has no HTML in it', () => {
    expect(text).not.toMatch(/&(?:amp|lt|gt|quot|nbsp|#\d+|#x[0-9a-f]+);/i);
    expect(text).not.toMatch(/<\/?(?:a|p|div|br)\b/);
  });
});

describe('confirmation and welcome', () => {
  const topics = ['Reasoning & Math', 'Agents & Tool Use'];

  it('asks to confirm with a button and a copyable link, and says to ignore it otherwise', () => {
    const confirmUrl = 'https://paperboy.example.com/confirm?token=abc&x=1';
    const message = renderer.renderConfirmation({ email: 'ada@example.com', frequency: 'weekly', weekday: 4, topics, confirmUrl, ...CONFIRM_TIMES });
    expect(message.subject).toBe('Confirm your Paperboy subscription');
    expect(message.html).toContain('send a weekly digest (every Thursday) of new research papers');
    expect(message.text).toContain('weekly digest (every Thursday)');
    expect(message.preheader).toBe('One click to start your weekly digest on Reasoning & Math and Agents & Tool Use.');
    expect(message.html.split(`href="${escape(confirmUrl)}"`)).toHaveLength(3);
    expect(message.html).toContain('<li>Reasoning &amp; Math</li>');
    expect(message.html).toContain('If this was not you, ignore this email');
    expect(message.text).toContain(`\n${confirmUrl}\n`);
    expect(message.text).toContain('ignore this email');
  });

  it('welcomes with topics, frequency and a way to manage or leave', () => {
    const links = { preferences: 'https://e.com/p?t=1', unsubscribe: 'https://e.com/u?t=1' };
    const message = renderer.renderWelcome({ email: 'ada@example.com', frequency: 'daily', weekday: null, topics, links });
    expect(message.subject).toBe('You are subscribed to Paperboy');
    expect(message.html).toContain('Your daily digest will come to <strong>ada@example.com</strong>');
    expect(message.html).toContain('<li>Agents &amp; Tool Use</li>');
    expect(message.html).toContain(`href="${escape(links.preferences)}"`);
    expect(message.html).toContain(`href="${escape(links.unsubscribe)}"`);
    expect(message.text).toContain('  - Agents & Tool Use\n');
    expect(message.text).toContain(`Unsubscribe: ${links.unsubscribe}\n`);
  });
});

describe('shortenAbstract', () => {
  it.each([
    ['keeps a short abstract whole, whitespace collapsed', '  We study\r\n  things.  ', 400, 'We study things.'],
    [
      'cuts at the last sentence end within the budget',
      'Alpha beta gamma delta. Epsilon zeta eta theta iota. Kappa lambda mu nu xi omicron pi rho.',
      60,
      'Alpha beta gamma delta. Epsilon zeta eta theta iota.',
    ],
    [
      'takes no abbreviation, initial or decimal for a sentence end',
      'We follow Xu et al. And e.g. Adam by J. Smith at 3.5 GHz. Then comes a long tail sentence here.',
      70,
      'We follow Xu et al. And e.g. Adam by J. Smith at 3.5 GHz.',
    ],
    [
      'cuts between words with an ellipsis inside a long first sentence',
      'Alpha beta gamma delta epsilon zeta eta theta iota kappa lambda.',
      30,
      'Alpha beta gamma delta…',
    ],
    [
      'prefers a word cut to a sentence end keeping under half the budget',
      'Short one. Then a very long second sentence that goes on and on past the budget.',
      40,
      'Short one. Then a very long second…',
    ],
    ['drops dangling punctuation before the ellipsis', 'First, second, third, fourth, fifth and sixth words.', 22, 'First, second, third…'],
    ['cuts an over-long token hard rather than overflow', 'x'.repeat(50), 10, `${'x'.repeat(9)}…`],
  ])('%s', (_, text, max, expected) => {
    expect(shortenAbstract(text, max)).toBe(expected);
  });
});

function escapeRegExp(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
