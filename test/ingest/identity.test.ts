import { describe, expect, it } from 'vitest';
import { arxivIdFromUrl, normalizeArxivId, titleKey } from '../../src/ingest/identity.ts';

describe('titleKey', () => {
  it.each([
    ['Socratic-Zero : Bootstrapping Reasoning', 'socratic zero bootstrapping reasoning'],
    ['Socratic-Zero: Bootstrapping Reasoning', 'socratic zero bootstrapping reasoning'],
    ['"Your AI, My Shell": Demystifying Prompt Injection', 'your ai my shell demystifying prompt injection'],
    ['Light Schrödinger Bridge', 'light schrödinger bridge'],
    ['Light Schro\u0308dinger Bridge', 'light schrödinger bridge'],
    ['Ｆｕｌｌｗｉｄｔｈ  Title', 'fullwidth title'],
    ['Learning $f$-Divergences  with   LaTeX~leftovers', 'learning f divergences with latex leftovers'],
    ['  Qwen2.5 Technical Report  ', 'qwen2 5 technical report'],
  ])('%j → %j', (title, key) => {
    expect(titleKey(title)).toBe(key);
  });

  it('keeps exactly the ASCII letters and digits of an ASCII title, as the Unicode rule does', () => {
    const everyAsciiCharacter = String.fromCharCode(...Array.from({ length: 128 }, (_, code) => code));
    expect(titleKey(everyAsciiCharacter)).toBe('0123456789 abcdefghijklmnopqrstuvwxyz abcdefghijklmnopqrstuvwxyz');
    expect(titleKey(`${everyAsciiCharacter}é`)).toBe('0123456789 abcdefghijklmnopqrstuvwxyz abcdefghijklmnopqrstuvwxyz é');
  });
});

describe('arXiv ids', () => {
  it.each([
    ['2410.17243', '2410.17243'],
    ['2401.01234v2', '2401.01234'],
    ['0704.0001', '0704.0001'],
    ['quant-ph/0210005v1', 'quant-ph/0210005'],
    ['math.GT/0309136', 'math.GT/0309136'],
    ['not-an-id', null],
    ['2410.172', null],
  ])('normalizeArxivId(%j) = %j', (raw, id) => {
    expect(normalizeArxivId(raw)).toBe(id);
  });

  it.each([
    ['http://arxiv.org/abs/2202.12139v1', '2202.12139'],
    ['https://arxiv.org/pdf/2202.12139v3', '2202.12139'],
    ['http://arxiv.org/abs/quant-ph/0210005v1', 'quant-ph/0210005'],
    ['https://example.org/abs/2202.12139', null],
  ])('arxivIdFromUrl(%j) = %j', (url, id) => {
    expect(arxivIdFromUrl(url)).toBe(id);
  });
});
