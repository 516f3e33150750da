import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseListing } from '../../src/ingest/parse.ts';
import { ATOM_SAMPLE } from '../helpers/paths.ts';

const now = new Date('2026-11-23T08:00:00Z');

describe('arXiv Atom feed', () => {
  it('reads the real 10-entry feed', () => {
    const listing = parseListing(readFileSync(ATOM_SAMPLE), { now });
    expect(listing.format).toBe('arxiv-atom');
    expect(listing.listedOn).toBe('2026-04-12');
    expect(listing.warnings).toEqual([]);
    expect(listing.papers.map((paper) => paper.arxivId)).toEqual([
      '2202.12139', '2405.13786', '2005.14124', '2204.08348', '2302.03287',
      '1202.4527', '2503.05378', '1205.1866', '2502.07719', '1812.11470',
    ]);
    expect(listing.papers[0]).toMatchObject({
      title: 'Testing Deep Learning Models: A First Comparative Study of Multiple Testing Techniques',
      authors: ['Mohit Kumar Ahuja', 'Arnaud Gotlieb', 'Helge Spieker'],
      authorCount: 3,
      publishedOn: '2022-02-24',
      categories: ['cs.SE', 'cs.LG'],
      links: { pdf: 'https://arxiv.org/pdf/2202.12139v1' },
    });
    expect(listing.papers[2]!.categories).toEqual(['cs.SE', 'cs.CR', 'cs.LG']);
    // The feed itself double-encodes these names (UTF-8 read as Latin-1): they are repaired.
    expect(listing.papers[1]!.authors).toEqual(['Aurora Ramírez', 'Mario Berrios', 'José Raúl Romero', 'Robert Feldt']);
  });

  it('reads an old feed: per-element namespaces, old-style ids, indented wrapped text, entities', () => {
    const feed = `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <updated>2007-03-01T00:00:00-05:00</updated>
  <entry>
    <id>http://arxiv.org/abs/quant-ph/0210005v1</id>
    <published>2002-10-01T16:32:11Z</published>
    <title>Quantum Computation &amp; the
      Jones Polynomial</title>
    <summary>  We show that the Jones polynomial
      can be approximated &lt;efficiently&gt;.
    </summary>
    <author><name>Dorit Aharonov</name></author>
    <arxiv:primary_category xmlns:arxiv="http://arxiv.org/schemas/atom" term="quant-ph" scheme="http://arxiv.org/schemas/atom"/>
    <category term="quant-ph" scheme="http://arxiv.org/schemas/atom"/>
    <category term="68Q12" scheme="http://arxiv.org/schemas/atom"/>
  </entry>
</feed>`;
    const listing = parseListing(feed, { now });
    expect(listing.listedOn).toBe('2007-03-01');
    expect(listing.papers).toEqual([
      expect.objectContaining({
        arxivId: 'quant-ph/0210005',
        title: 'Quantum Computation & the Jones Polynomial',
        abstract: 'We show that the Jones polynomial can be approximated <efficiently>.',
        authors: ['Dorit Aharonov'],
        categories: ['quant-ph', '68Q12'],
        publishedOn: '2002-10-01',
      }),
    ]);
  });

  it('rejects broken XML with the line of the fault', () => {
    expect(() => parseListing('<?xml version="1.0"?>\n<feed>\n<entry><title>x</entry>\n</feed>', { now })).toThrow(
      /^XML line 3: /,
    );
  });
});
