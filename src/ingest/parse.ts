import { isUtf8 } from 'node:buffer';
import { PaperboyError } from '../errors.ts';
import { looksLikeAtom, parseArxivAtom } from './parse-arxiv-atom.ts';
import { looksLikeHfApi, parseHfApi } from './parse-hf-api.ts';
import { looksLikeHfDump, parseHfDump } from './parse-hf-dump.ts';
import type { ListingFormat, ParsedListing } from '../model/listing.ts';

/** What a parser may know besides the text: the listing's dates are read relative to now. */
export interface ParseContext {
  now: Date;
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
  sniff(head: string, text: string): boolean;
  /** Throws PaperboyError with a one-line reason (no file name: the caller adds it). */
  parse(text: string, context: ParseContext): ParsedListing;
}

/** The registered formats, asked in order; the first whose sniff says yes parses the listing. */
export const LISTING_PARSERS: readonly ListingParser[] = [
  { format: 'arxiv-atom', description: 'an arXiv Atom feed', sniff: (head) => looksLikeAtom(head), parse: (text) => parseArxivAtom(text.trimStart()) },
  { format: 'hf-api', description: 'HF API JSON', sniff: (head) => head.startsWith('[') || head.startsWith('{'), parse: parseHfApiJson },
  { format: 'hf-dump', description: 'a Hugging Face Daily Papers dump', sniff: (_head, text) => looksLikeHfDump(text), parse: parseHfDumpText },
];

/**
 * Decodes a listing and picks its parser from the content, never the file name.
 * Throws PaperboyError with a one-line reason (no file name: the caller adds it).
 */
export function parseListing(input: string | Uint8Array, context: ParseContext, parsers: readonly ListingParser[] = LISTING_PARSERS): ParsedListing {
  const text = normalizeText(typeof input === 'string' ? input : decodeUtf8(input));
  if (text.trim() === '') throw new PaperboyError('INPUT_EMPTY', 'the file is empty');
  const head = text.trimStart().slice(0, 512);
  if (/^<!doctype html|^<html[\s>]|^<head[\s>]|^<body[\s>]/i.test(head)) {
    throw new PaperboyError('INPUT_HTML', 'this is an HTML page, not a listing: save the page as text, or use the API JSON');
  }
  const parser = parsers.find((candidate) => candidate.sniff(head, text));
  if (!parser) {
    const known = parsers.map((candidate) => candidate.description);
    throw new PaperboyError('INPUT_UNKNOWN_FORMAT', `not ${known.length > 1 ? `${known.slice(0, -1).join(', ')} or ${known.at(-1)}` : known[0]}`);
  }
  return parser.parse(text, context);
}

function parseHfApiJson(text: string): ParsedListing {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new PaperboyError('INPUT_MALFORMED', `invalid JSON: ${(error as Error).message}`);
  }
  if (Array.isArray(value) && value.length === 0) throw new PaperboyError('INPUT_EMPTY', 'the JSON array is empty');
  if (looksLikeHfApi(value)) return parseHfApi(value);
  throw new PaperboyError('INPUT_UNKNOWN_FORMAT', 'JSON that is not a Hugging Face daily_papers response (expected an array of {paper: …})');
}

function parseHfDumpText(text: string, context: ParseContext): ParsedListing {
  const parsed = parseHfDump(text, context.now.toISOString().slice(0, 10));
  if (parsed.papers.length === 0) throw new PaperboyError('INPUT_MALFORMED', 'no paper blocks after the header (is the dump cut off?)');
  return parsed;
}

function decodeUtf8(bytes: Uint8Array): string {
  const sample = bytes.subarray(0, 8192);
  if (sample.includes(0)) throw new PaperboyError('INPUT_BINARY', 'the file is binary (it contains NUL bytes)');
  if (!isUtf8(bytes)) {
    throw new PaperboyError('INPUT_ENCODING', `the file is not valid UTF-8 (first bad byte at offset ${firstInvalidUtf8Offset(bytes)})`);
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

function firstInvalidUtf8Offset(bytes: Uint8Array): number {
  const lenient = new TextDecoder('utf-8').decode(bytes);
  const replaced = lenient.indexOf('\uFFFD');
  return Buffer.byteLength(lenient.slice(0, Math.max(replaced, 0)));
}

/** BOM, CRLF/CR line endings and trailing whitespace carry no meaning in any format. */
function normalizeText(text: string): string {
  return text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
}
