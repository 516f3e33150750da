import { PaperboyError } from '../errors.ts';
import { isoDay, latestDayNotAfter, monthIndex } from './dates.ts';
import type { ParsedListing, ParseWarning } from '../model/listing.ts';
import type { PaperRecord } from '../model/paper.ts';
import { emptyRecord } from './records.ts';
import { tidyAbstract, unwrap } from './text.ts';

/**
 * Parser for text copied from the Hugging Face Daily Papers page (FORMATS.md §1).
 * Pure: lines in, records and warnings out. `today` (YYYY-MM-DD) dates the capture,
 * since the page prints the listing date without a year.
 */

const BOILERPLATE = [
  /^new$/i,
  /^get trending papers in your email inbox/i,
  /^subscribe$/i,
  /^daily papers$/i,
  /^by\s*ak and the research community$/i,
];
const LISTING_DATE = /^([A-Z][a-z]{2}) (\d{1,2})$/;
const AUTHORS_LINE = /^•\s*(\d+)\s+authors?$/;
const SEPARATOR_LINE = /^·$/;
/** `Jun 28, 2023`, `Aug 12`, `Jun 18, 2024 2`, `Apr 7 1`: the trailing number is the comment count. */
const PAPER_DATE_LINE = /^([A-Z][a-z]{2}) (\d{1,2})(?:, (\d{4}))?(?: (\d+))?$/;
/** A title is one line; anything longer is abstract text. */
const MAX_TITLE_LENGTH = 300;
/** How a complete abstract ends: a sentence mark, a closing bracket or quote, or a URL's slash. */
const COMPLETE_ENDING = /[.!?)\]}"'”’/]$/;

interface Paragraph {
  /** 1-based line number of the paragraph's first line. */
  line: number;
  lines: string[];
}

interface OpenBlock {
  record: PaperRecord;
  abstract: string[];
  line: number;
  metadataSeen: boolean;
}

interface DumpMetadata {
  authorCount: number | null;
  organization: string | null;
  publishedOn: string | null;
  comments: number | null;
}

export function looksLikeHfDump(lines: readonly string[]): boolean {
  const firstLines = lines.slice(0, 40).map((line) => line.trim()).filter(Boolean).slice(0, 8);
  return firstLines.some((line) => BOILERPLATE.some((pattern) => pattern.test(line)) || LISTING_DATE.test(line));
}

export function parseHfDump(lines: readonly string[], today: string, onEntry?: () => void): ParsedListing {
  const warnings: ParseWarning[] = [];
  let paragraphs = splitParagraphs(lines);
  const withoutBlankLines = copiedWithoutBlankLines(paragraphs);
  if (withoutBlankLines) {
    paragraphs = paragraphsByLine(paragraphs);
    warnings.push({ line: 1, message: 'the dump has no blank lines between its blocks (a copy that lost them); read line by line' });
  }
  const { listedOn, bodyStart } = readHeader(paragraphs, today, warnings);
  const papers: PaperRecord[] = [];
  const reference = listedOn ?? today;

  let current = null as OpenBlock | null;
  const finish = () => {
    if (!current) return;
    current.record.abstract = current.abstract.map(tidyAbstract).join('\n\n');
    papers.push(current.record);
    onEntry?.();
    current = null;
  };

  const body = paragraphs.slice(bodyStart);
  body.forEach((paragraph, index) => {
    const { textLines, metadataLines } = splitTrailingMetadata(paragraph.lines);
    if (textLines.length > 0) {
      const open = current;
      if (open && !open.metadataSeen && open.abstract.length === 0) {
        open.abstract.push(textLines.join(' '));
      } else if (open && !open.metadataSeen && !startsNewPaper(textLines, body[index + 1])) {
        open.abstract.push(textLines.join(' '));
      } else {
        finish();
        current = { record: emptyRecord(unwrap(textLines.join(' '))), abstract: [], line: paragraph.line, metadataSeen: false };
      }
    }
    if (metadataLines.length > 0) {
      const open = current;
      if (!open) {
        warnings.push({ line: paragraph.line, message: 'metadata with no paper before it; ignored' });
        return;
      }
      // Metadata may come split over several paragraphs; the next text paragraph is a title.
      Object.assign(open.record, withoutNulls(readMetadata(metadataLines, reference)));
      open.metadataSeen = true;
    }
  });

  const last = current;
  if (last && !last.metadataSeen) {
    const abstractText = last.abstract.join(' ').trim();
    if (abstractText === '') {
      warnings.push({ line: last.line, message: `truncated last block "${last.record.title.slice(0, 60)}" has no abstract; skipped` });
      current = null;
    } else if (!COMPLETE_ENDING.test(abstractText)) {
      last.record.truncated = true;
      warnings.push({ line: last.line, message: `last block "${last.record.title.slice(0, 60)}" is truncated; kept with a partial abstract` });
    }
  }
  finish();

  if (!withoutBlankLines) return { format: 'hf-dump', listedOn, papers, warnings };
  // Read line by line, a block must open with a line short enough to be a title.
  const titled = papers.filter((paper) => paper.title.length <= MAX_TITLE_LENGTH);
  if (titled.length < papers.length) warnings.push({ message: `${papers.length - titled.length} block(s) open with a line too long for a title; skipped` });
  if (titled.length === 0) {
    throw new PaperboyError('INPUT_MALFORMED', 'no paper blocks found: the dump has no blank lines between its blocks, and read line by line it holds no title followed by an abstract');
  }
  return { format: 'hf-dump', listedOn, papers: titled, warnings };
}

/**
 * Blocks run together when a copy loses its blank lines: a title and its abstract (longer
 * than any title) then share a paragraph. A hard-wrapped abstract never holds such a line.
 */
function copiedWithoutBlankLines(paragraphs: readonly Paragraph[]): boolean {
  return paragraphs.some((paragraph) => {
    const text = paragraph.lines.filter((line) => !isMetadataLine(line));
    return text.length >= 2 && text.some((line) => line.length > MAX_TITLE_LENGTH);
  });
}

/**
 * Each line its own paragraph, as the page lays them out, except that metadata lines stay
 * with the line before them (an abstract, or an organization before its `·`).
 */
function paragraphsByLine(paragraphs: readonly Paragraph[]): Paragraph[] {
  const result: Paragraph[] = [];
  for (const paragraph of paragraphs) {
    paragraph.lines.forEach((line, offset) => {
      const previous = result.at(-1);
      const afterHeader = previous && !previous.lines.every((earlier) => BOILERPLATE.some((pattern) => pattern.test(earlier)));
      if (offset > 0 && previous && afterHeader && isMetadataLine(line)) previous.lines.push(line);
      else result.push({ line: paragraph.line + offset, lines: [line] });
    });
  }
  return result;
}

function splitParagraphs(lines: readonly string[]): Paragraph[] {
  const paragraphs: Paragraph[] = [];
  let open: Paragraph | null = null;
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line === '') {
      open = null;
      return;
    }
    if (!open) {
      open = { line: index + 1, lines: [] };
      paragraphs.push(open);
    }
    open.lines.push(line);
  });
  return paragraphs;
}

/** Skips boilerplate lines in any order and reads the listing date that follows them. */
function readHeader(paragraphs: Paragraph[], today: string, warnings: ParseWarning[]) {
  let bodyStart = 0;
  let listedOn: string | null = null;
  for (; bodyStart < paragraphs.length; bodyStart++) {
    const lines = paragraphs[bodyStart]!.lines;
    if (lines.every((line) => BOILERPLATE.some((pattern) => pattern.test(line)))) continue;
    const dateMatch = lines.length === 1 ? LISTING_DATE.exec(lines[0]!) : null;
    if (dateMatch) {
      const month = monthIndex(dateMatch[1]!);
      listedOn = month === null ? null : latestDayNotAfter(month, Number(dateMatch[2]), today);
      bodyStart++;
    }
    break;
  }
  if (listedOn === null) {
    warnings.push({ line: paragraphs[bodyStart]?.line ?? 1, message: 'no listing date after the header; papers are dated by ingest time' });
  }
  return { listedOn, bodyStart };
}

function isMetadataLine(line: string): boolean {
  return AUTHORS_LINE.test(line) || SEPARATOR_LINE.test(line) || PAPER_DATE_LINE.test(line);
}

/**
 * A block's metadata normally stands in a paragraph of its own, but a copy can lose the
 * blank line before it. It is recognised by its `·` separator or `• N authors` line; an
 * organization name stands on the line just before the separator.
 */
function splitTrailingMetadata(lines: string[]): { textLines: string[]; metadataLines: string[] } {
  let start = lines.length;
  while (start > 0 && isMetadataLine(lines[start - 1]!)) start--;
  const tail = lines.slice(start);
  const hasMarker = tail.some((line) => AUTHORS_LINE.test(line) || SEPARATOR_LINE.test(line));
  if (!hasMarker) {
    // A lone date paragraph (no separator) is metadata only when nothing else is in it.
    const lonePaperDate = lines.length === 1 && PAPER_DATE_LINE.test(lines[0]!);
    return lonePaperDate ? { textLines: [], metadataLines: lines } : { textLines: lines, metadataLines: [] };
  }
  if (start > 0 && SEPARATOR_LINE.test(lines[start]!) && lines[start - 1]!.length <= 80) start--;
  return { textLines: lines.slice(0, start), metadataLines: lines.slice(start) };
}

/**
 * After an abstract, a paragraph starts a new paper when it reads as a title (one short
 * line, no closing sentence mark) and an abstract, not metadata, follows it.
 */
function startsNewPaper(textLines: string[], next: Paragraph | undefined): boolean {
  if (textLines.length !== 1) return false;
  const line = textLines[0]!;
  if (line.length > MAX_TITLE_LENGTH || /[.;,]$/.test(line)) return false;
  if (!next) return true;
  return splitTrailingMetadata(next.lines).textLines.length > 0;
}

function withoutNulls<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== null)) as Partial<T>;
}

function readMetadata(lines: string[], reference: string): DumpMetadata {
  const metadata: DumpMetadata = { authorCount: null, organization: null, publishedOn: null, comments: null };
  for (const line of lines) {
    const authors = AUTHORS_LINE.exec(line);
    const date = PAPER_DATE_LINE.exec(line);
    if (authors) {
      metadata.authorCount = Number(authors[1]);
    } else if (date) {
      const month = monthIndex(date[1]!);
      const day = Number(date[2]);
      if (month !== null) {
        metadata.publishedOn = date[3] ? isoDay(Number(date[3]), month, day) : latestDayNotAfter(month, day, reference);
      }
      if (date[4]) metadata.comments = Number(date[4]);
    } else if (!SEPARATOR_LINE.test(line)) {
      metadata.organization = organizationName(line);
    }
  }
  return metadata;
}

/** The page prints an organization's avatar alt text and then its name: `alibaba-inc alibaba-inc`. */
function organizationName(line: string): string {
  const words = line.split(/\s+/);
  const half = words.length / 2;
  if (Number.isInteger(half) && words.slice(0, half).join(' ') === words.slice(half).join(' ')) {
    return words.slice(0, half).join(' ');
  }
  return line;
}
