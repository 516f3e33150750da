import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { PaperboyError } from '../errors.ts';
import { dayOf } from './dates.ts';
import { arxivIdFromUrl, normalizeArxivId } from './identity.ts';
import type { ParsedListing, ParseWarning } from '../model/listing.ts';
import type { PaperRecord } from '../model/paper.ts';
import { emptyRecord } from './records.ts';
import { repairMojibake, tidyAbstract, unwrap } from './text.ts';

/**
 * arXiv's announcement feeds (FORMATS.md): RSS 2.0 from rss.arxiv.org (`<item>` with an
 * `arxiv:announce_type` and `Abstract:` in the description) and the older RSS 1.0/RDF
 * (`<item rdf:about=…>`, the abstract as escaped HTML, authors as escaped links).
 * Replacements (a new version of an older paper) are announcements, not new papers: skipped.
 */

type XmlNode = Record<string, unknown>;

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  removeNSPrefix: true,
  isArray: (name) => ['item', 'category', 'creator'].includes(name),
  textNodeName: '#text',
  parseTagValue: false,
});

export function looksLikeArxivRss(head: string): boolean {
  return /^(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*)*<(?:rss|rdf:RDF)[\s>]/.test(head);
}

/** `Title. (arXiv:2303.07345v1 [cs.LG] UPDATED)`: the RDF feed's title suffix. */
const RDF_TITLE_SUFFIX = /\s*\(arXiv:([^\s)]+)\s*(?:\[([^\]]+)\])?\s*([A-Z ]*)\)\s*$/;
/** `arXiv:2407.08765v1 Announce Type: new \nAbstract: …`: the RSS 2.0 description. */
const RSS_DESCRIPTION = /^\s*arXiv:(\S+)\s+Announce Type:\s*([\w-]+)\s*Abstract:\s*([\s\S]*)$/i;

export function parseArxivRss(text: string, onEntry?: () => void): ParsedListing {
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw new PaperboyError('INPUT_MALFORMED', `XML line ${valid.err.line}: ${valid.err.msg}`);
  const document = parser.parse(text) as XmlNode;
  const rss = document.rss as XmlNode | undefined;
  const rdf = document.RDF as XmlNode | undefined;
  const channel = ((rss?.channel ?? rdf?.channel) as XmlNode | undefined) ?? undefined;
  if (!channel) throw new PaperboyError('INPUT_MALFORMED', 'no <channel> element');
  const items = ((rss ? channel.item : rdf?.item) as XmlNode[] | undefined) ?? [];
  const warnings: ParseWarning[] = [];
  const papers: PaperRecord[] = [];

  items.forEach((item, index) => {
    onEntry?.();
    const entry = rss ? readRss2Item(item) : readRdfItem(item);
    if (entry === 'replacement') return;
    if (entry.title === '') {
      warnings.push({ message: `<item> ${index + 1} has no <title>; skipped` });
      return;
    }
    if (!entry.record.arxivId) warnings.push({ message: `<item> ${index + 1} names no arXiv id; keyed by title` });
    papers.push(entry.record);
  });

  const listedOn = dayOf(textOf(channel.pubDate) || textOf(channel.lastBuildDate) || textOf(channel.date));
  return { format: 'arxiv-rss', listedOn, papers, warnings };
}

type ReadItem = { title: string; record: PaperRecord } | 'replacement';

function readRss2Item(item: XmlNode): ReadItem {
  const announceType = textOf(item.announce_type).trim();
  const description = RSS_DESCRIPTION.exec(textOf(item.description));
  if (/^replace/i.test(announceType || description?.[2] || '')) return 'replacement';
  const title = cleanText(textOf(item.title));
  const record = emptyRecord(title);
  const authors = splitAuthors(((item.creator as unknown[] | undefined) ?? []).map(textOf).join(', '));
  Object.assign(record, {
    arxivId: (description ? normalizeArxivId(description[1]!) : null) ?? arxivIdFromUrl(textOf(item.link)),
    abstract: repairMojibake(tidyAbstract(withoutTags(description ? description[3]! : textOf(item.description)))),
    authors,
    authorCount: authors.length || null,
    publishedOn: dayOf(textOf(item.pubDate)),
    categories: [...new Set(((item.category as unknown[] | undefined) ?? []).map((category) => textOf(category).trim()).filter(Boolean))],
  } satisfies Partial<PaperRecord>);
  return { title, record };
}

function readRdfItem(item: XmlNode): ReadItem {
  const rawTitle = unwrap(textOf(item.title));
  const suffix = RDF_TITLE_SUFFIX.exec(rawTitle);
  if (suffix?.[3]?.includes('UPDATED')) return 'replacement';
  const title = cleanText(suffix ? rawTitle.slice(0, suffix.index).replace(/\.$/, '') : rawTitle);
  const record = emptyRecord(title);
  const authors = splitAuthors(withoutTags(((item.creator as unknown[] | undefined) ?? []).map(textOf).join(', ')));
  const about = typeof item['@about'] === 'string' ? item['@about'] : '';
  Object.assign(record, {
    arxivId: (suffix ? normalizeArxivId(suffix[1]!) : null) ?? arxivIdFromUrl(textOf(item.link) || about),
    abstract: repairMojibake(tidyAbstract(withoutTags(textOf(item.description)))),
    authors,
    authorCount: authors.length || null,
    categories: suffix?.[2] ? [suffix[2].trim()] : [],
  } satisfies Partial<PaperRecord>);
  return { title, record };
}

function cleanText(text: string): string {
  return repairMojibake(unwrap(withoutTags(text)));
}

/** The feeds carry HTML inside their text (`<p>`, author links): only its text is kept. */
function withoutTags(html: string): string {
  return html
    .replace(/<[^>]*>/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

function splitAuthors(text: string): string[] {
  return text
    .split(/\s*,\s*|\s+and\s+/)
    .map((name) => repairMojibake(unwrap(name)))
    .filter(Boolean);
}

function textOf(node: unknown): string {
  if (typeof node === 'string') return node;
  if (node && typeof node === 'object' && '#text' in node) return String((node as XmlNode)['#text']);
  return '';
}
