import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { PaperboyError } from '../errors.ts';
import { dayOf } from './dates.ts';
import { arxivIdFromUrl } from './identity.ts';
import type { ParsedListing, ParseWarning } from '../model/listing.ts';
import type { PaperRecord } from '../model/paper.ts';
import { emptyRecord } from './records.ts';
import { repairMojibake, tidyAbstract, unwrap } from './text.ts';

/** arXiv API Atom feed (FORMATS.md §3), read with a real XML parser. */

type XmlNode = Record<string, unknown>;

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  // Older feeds declare namespaces per element (`<arxiv:primary_category xmlns:arxiv=…>`).
  removeNSPrefix: true,
  isArray: (name) => ['entry', 'author', 'category', 'link'].includes(name),
  textNodeName: '#text',
  parseTagValue: false,
});

const ARXIV_ERROR_ID = /^https?:\/\/(?:export\.)?arxiv\.org\/api\/errors/i;

export function looksLikeAtom(text: string): boolean {
  return /^(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*)*<feed[\s>]/.test(text);
}

export function parseArxivAtom(text: string, onEntry?: () => void): ParsedListing {
  const warnings: ParseWarning[] = [];
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    const complete = completeEntriesOf(text);
    if (!complete) throw new PaperboyError('INPUT_MALFORMED', `XML line ${valid.err.line}: ${valid.err.msg}`);
    warnings.push({ line: valid.err.line, message: `the feed is cut off (XML line ${valid.err.line}: ${valid.err.msg}); kept the ${complete.entries} complete entries before it` });
    text = complete.text;
  }
  const feed = (parser.parse(text) as XmlNode).feed as XmlNode | undefined;
  if (!feed) throw new PaperboyError('INPUT_MALFORMED', 'no <feed> element');
  const papers: PaperRecord[] = [];
  const entries = (feed.entry as XmlNode[] | undefined) ?? [];
  // A malformed query is answered by a feed whose one entry is the error: never a paper.
  const errorEntry = entries.find((entry) => ARXIV_ERROR_ID.test(textOf(entry.id)));
  if (errorEntry) {
    throw new PaperboyError('INPUT_MALFORMED', `an arXiv API error feed: ${unwrap(textOf(errorEntry.summary)) || unwrap(textOf(errorEntry.title)) || 'no message'}`);
  }

  entries.forEach((entry, index) => {
    const title = repairMojibake(unwrap(textOf(entry.title)));
    if (title === '') {
      warnings.push({ message: `<entry> ${index + 1} has no <title>; skipped` });
      return;
    }
    const categories = categoriesOf(entry);
    const pdf = ((entry.link as XmlNode[] | undefined) ?? []).find((link) => link['@title'] === 'pdf')?.['@href'];
    const record = emptyRecord(title);
    const authors = ((entry.author as XmlNode[] | undefined) ?? []).map((author) => repairMojibake(unwrap(textOf(author.name)))).filter(Boolean);
    Object.assign(record, {
      arxivId: arxivIdFromUrl(textOf(entry.id)),
      abstract: repairMojibake(tidyAbstract(textOf(entry.summary))),
      authors,
      authorCount: authors.length || null,
      publishedOn: dayOf(textOf(entry.published)),
      categories,
      links: typeof pdf === 'string' ? { pdf } : {},
    } satisfies Partial<PaperRecord>);
    if (!record.arxivId) warnings.push({ message: `<entry> ${index + 1} id "${textOf(entry.id)}" is not an arXiv URL; keyed by title` });
    papers.push(record);
    onEntry?.();
  });

  return { format: 'arxiv-atom', listedOn: dayOf(textOf(feed.updated)), papers, warnings };
}

/**
 * A feed cut off in transfer, closed after its last complete entry; null when no entry is
 * complete or the rest still does not parse (then it is broken, not cut off).
 */
function completeEntriesOf(text: string): { text: string; entries: number } | null {
  const end = text.lastIndexOf('</entry>');
  if (end === -1) return null;
  const closed = `${text.slice(0, end + '</entry>'.length)}\n</feed>\n`;
  if (XMLValidator.validate(closed) !== true) return null;
  return { text: closed, entries: closed.split('</entry>').length - 1 };
}

function textOf(node: unknown): string {
  if (typeof node === 'string') return node;
  if (node && typeof node === 'object' && '#text' in node) return String((node as XmlNode)['#text']);
  return '';
}

/** Primary category first, then the others in feed order, without repeats. */
function categoriesOf(entry: XmlNode): string[] {
  const primary = (entry.primary_category as XmlNode | undefined)?.['@term'];
  const all = ((entry.category as XmlNode[] | undefined) ?? []).map((category) => category['@term']);
  return [...new Set([primary, ...all].filter((term): term is string => typeof term === 'string' && term !== ''))];
}
