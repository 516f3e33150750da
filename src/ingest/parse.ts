import { isUtf8 } from 'node:buffer';
import { PaperboyError } from '../errors.ts';
import { looksLikeAtom, parseArxivAtom } from './parse-arxiv-atom.ts';
import { looksLikeHfApi, parseHfApi } from './parse-hf-api.ts';
import { looksLikeHfDump, parseHfDump } from './parse-hf-dump.ts';
import type { ParsedListing } from './records.ts';

/**
 * Decodes a listing and picks its parser from the content, never the file name.
 * Throws PaperboyError with a one-line reason (no file name: the caller adds it).
 */
export function parseListing(input: string | Uint8Array, options: { now: Date }): ParsedListing {
  const text = normalizeText(typeof input === 'string' ? input : decodeUtf8(input));
  if (text.trim() === '') throw new PaperboyError('INPUT_EMPTY', 'the file is empty');
  const head = text.trimStart().slice(0, 512);

  if (/^<!doctype html|^<html[\s>]|^<head[\s>]|^<body[\s>]/i.test(head)) {
    throw new PaperboyError('INPUT_HTML', 'this is an HTML page, not a listing: save the page as text, or use the API JSON');
  }
  if (looksLikeAtom(head)) return parseArxivAtom(text.trimStart());
  if (head.startsWith('[') || head.startsWith('{')) {
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
  if (looksLikeHfDump(text)) return parseHfDump(text, options.now.toISOString().slice(0, 10));
  throw new PaperboyError('INPUT_UNKNOWN_FORMAT', 'not a Hugging Face Daily Papers dump, HF API JSON or arXiv Atom feed');
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
