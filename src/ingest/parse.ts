import { isUtf8 } from 'node:buffer';
import { PaperboyError } from '../errors.ts';
import { stripInvisible } from '../text-safety.ts';
import { looksLikeAtom, parseArxivAtom } from './parse-arxiv-atom.ts';
import { looksLikeArxivRss, parseArxivRss } from './parse-arxiv-rss.ts';
import { looksLikeHfApi, parseHfApi } from './parse-hf-api.ts';
import { looksLikeHfDump, parseHfDump } from './parse-hf-dump.ts';
import type { ListingFormat, ParsedListing } from '../model/listing.ts';

/** What a parser may know besides the text: the listing's dates are read relative to now. */
export interface ParseContext {
  now: Date;
  /** Told as each paper entry is read: a progress display counts a large listing while it is parsed. */
  onEntry?: () => void;
}

/**
 * A listing's text, decoded in pieces of at most PIECE_BYTES that end at a line break.
 * One string the size of a listing lands in memory pages of its own (V8 keeps strings over
 * 128 KB out of the young generation), and fresh pages cost more than parsing on this class
 * of machine (scripts/bench-ingest.ts): a dump is read line by line and never needs the
 * whole text; the other formats join it once.
 */
export class ListingText {
  private joined: string | undefined;
  private split: string[] | undefined;

  constructor(private readonly pieces: readonly string[]) {}

  /** The whole text as one string (XML and JSON parsers read it so). */
  get whole(): string {
    return (this.joined ??= this.pieces.join(''));
  }

  /** Every line, as `whole.split('\n')` gives them. */
  lines(): string[] {
    if (!this.split) {
      const last = this.pieces.length - 1;
      // Every piece but the last ends with its line break: the empty string after it is not a line.
      this.split = this.pieces.flatMap((piece, index) => (index < last ? piece.slice(0, -1) : piece).split('\n'));
    }
    return this.split;
  }

  /** The first `length` characters after leading whitespace. */
  start(length: number): string {
    let text = '';
    for (const piece of this.pieces) {
      text = (text + piece).trimStart();
      if (text.length >= length) break;
    }
    return text.slice(0, length);
  }

  isBlank(): boolean {
    return this.pieces.every((piece) => piece.trim() === '');
  }
}

/**
 * One listing format: a sniff that recognizes it from the content (never the file name), and
 * the parser. `head` is the first 512 characters after leading whitespace.
 */
export interface ListingParser {
  /** Stored with every listing it reads. */
  format: ListingFormat;
  /** For the error that names every known format: `an arXiv Atom feed`. */
  description: string;
  sniff(head: string, text: ListingText): boolean;
  /** Throws PaperboyError with a one-line reason (no file name: the caller adds it). */
  parse(text: ListingText, context: ParseContext): ParsedListing;
}

/** The registered formats, asked in order; the first whose sniff says yes parses the listing. */
export const LISTING_PARSERS: readonly ListingParser[] = [
  { format: 'arxiv-atom', description: 'an arXiv Atom feed', sniff: (head) => looksLikeAtom(head), parse: (text, context) => parseArxivAtom(text.whole.trimStart(), context.onEntry) },
  { format: 'arxiv-rss', description: 'an arXiv RSS feed', sniff: (head) => looksLikeArxivRss(head), parse: (text, context) => parseArxivRss(text.whole.trimStart(), context.onEntry) },
  { format: 'hf-api', description: 'HF API JSON', sniff: (head) => head.startsWith('[') || head.startsWith('{'), parse: (text, context) => parseHfApiJson(text.whole, context) },
  { format: 'hf-dump', description: 'a Hugging Face Daily Papers dump', sniff: (_head, text) => looksLikeHfDump(text.lines()), parse: parseHfDumpText },
];

/**
 * Decodes a listing and picks its parser from the content, never the file name.
 * Throws PaperboyError with a one-line reason (no file name: the caller adds it).
 */
export function parseListing(input: string | Uint8Array, context: ParseContext, parsers: readonly ListingParser[] = LISTING_PARSERS): ParsedListing {
  const text = new ListingText((typeof input === 'string' ? [input] : decodeUtf8(input)).map((piece, index) => normalizeText(piece, index === 0)));
  if (text.isBlank()) throw new PaperboyError('INPUT_EMPTY', 'the file is empty');
  const opening = text.start(4096);
  const head = opening.slice(0, 512);
  // A page saved from a browser may open with comments (`<!-- saved from url=… -->`) before its markup.
  if (/^(?:<!--[\s\S]*?-->\s*)*(?:<!doctype html|<html[\s>]|<head[\s>]|<body[\s>])/i.test(opening)) {
    throw new PaperboyError('INPUT_HTML', 'this is an HTML page, not a listing: save the page as text, or use the API JSON');
  }
  const parser = parsers.find((candidate) => candidate.sniff(head, text));
  if (!parser) {
    const known = parsers.map((candidate) => candidate.description);
    throw new PaperboyError('INPUT_UNKNOWN_FORMAT', `not ${known.length > 1 ? `${known.slice(0, -1).join(', ')} or ${known.at(-1)}` : known[0]}`);
  }
  return withVisibleText(parser.parse(text, context));
}

/** Controls and bidi overrides in a listing's text are dropped here, before anything stores or shows it. */
function withVisibleText(listing: ParsedListing): ParsedListing {
  return {
    ...listing,
    papers: listing.papers.map((paper) => ({
      ...paper,
      title: stripInvisible(paper.title),
      abstract: stripInvisible(paper.abstract),
      authors: paper.authors.map(stripInvisible),
      organization: paper.organization === null ? null : stripInvisible(paper.organization),
    })),
  };
}

/** HTML tags a real paper title never holds: a title with one is a page's markup, not a paper. */
const MARKUP = /<\/?(?:a|abbr|b|body|br|button|div|em|form|h[1-6]|head|html|i|iframe|img|input|li|link|meta|ol|p|script|span|strong|style|svg|table|td|title|tr|u|ul)\b[^<>]*>/i;

function parseHfApiJson(text: string, context: ParseContext): ParsedListing {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    // A body cut off in transfer no longer ends where JSON does.
    const cutOff = !/[\]}]$/.test(text.trimEnd());
    throw new PaperboyError('INPUT_MALFORMED', `${cutOff ? 'the JSON is cut off (a truncated file or response)' : 'invalid JSON'}: ${(error as Error).message}`);
  }
  if (Array.isArray(value) && value.length === 0) throw new PaperboyError('INPUT_EMPTY', 'the JSON array is empty');
  if (looksLikeHfApi(value)) return parseHfApi(value, context.onEntry);
  throw new PaperboyError('INPUT_UNKNOWN_FORMAT', 'JSON that is not a Hugging Face daily_papers response (expected an array of {paper: …})');
}

function parseHfDumpText(text: ListingText, context: ParseContext): ParsedListing {
  const parsed = parseHfDump(text.lines(), context.now.toISOString().slice(0, 10), context.onEntry);
  const papers = parsed.papers.filter((paper) => !MARKUP.test(paper.title));
  const rejected = parsed.papers.filter((paper) => MARKUP.test(paper.title)).map((paper) => ({
    message: `block "${paper.title.slice(0, 60)}" rejected: its title contains HTML markup (a saved web page is not a dump)`,
  }));
  if (parsed.papers.length > 0 && papers.length === 0) {
    throw new PaperboyError('INPUT_HTML', `every block's title contains HTML markup (${rejected.length} block${rejected.length === 1 ? '' : 's'}): this is a web page, not a dump`);
  }
  if (papers.length === 0) throw new PaperboyError('INPUT_MALFORMED', 'no paper blocks after the header (is the dump cut off?)');
  return { ...parsed, papers, warnings: [...parsed.warnings, ...rejected] };
}

/** Bytes per decoded piece: its string (up to twice as many bytes) stays under V8's 128 KB. */
const PIECE_BYTES = 32 * 1024;
const LINE_FEED = 0x0a;

function decodeUtf8(bytes: Uint8Array): string[] {
  const sample = bytes.subarray(0, 8192);
  if (sample.includes(0)) throw new PaperboyError('INPUT_BINARY', 'the file is binary (it contains NUL bytes)');
  if (!isUtf8(bytes)) {
    throw new PaperboyError('INPUT_ENCODING', `the file is not valid UTF-8 (first bad byte at offset ${firstInvalidUtf8Offset(bytes)})`);
  }
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const pieces: string[] = [];
  // A line feed is never part of a multi-byte character: cutting after one splits no character.
  for (let start = 0; start < buffer.length; ) {
    const lastBreak = buffer.lastIndexOf(LINE_FEED, start + PIECE_BYTES - 1);
    const nextBreak = lastBreak >= start ? lastBreak : buffer.indexOf(LINE_FEED, start + PIECE_BYTES);
    const end = nextBreak === -1 ? buffer.length : nextBreak + 1;
    pieces.push(buffer.toString('utf8', start, end));
    start = end;
  }
  return pieces;
}

function firstInvalidUtf8Offset(bytes: Uint8Array): number {
  const lenient = new TextDecoder('utf-8').decode(bytes);
  const replaced = lenient.indexOf('\uFFFD');
  return Buffer.byteLength(lenient.slice(0, Math.max(replaced, 0)));
}

/**
 * BOM, CRLF/CR line endings and trailing whitespace carry no meaning in any format. A piece
 * ends with a line feed, so no CRLF spans two pieces; only the first can open with a BOM.
 */
function normalizeText(piece: string, first: boolean): string {
  return (first ? piece.replace(/^\uFEFF/, '') : piece).replace(/\r\n?/g, '\n');
}
