import type { PaperLinks } from '../model/paper.ts';
import type { Subscriber } from '../model/subscriber.ts';
import type { DigestData, DigestLinks, DigestPaper, PaperLink } from './digest-data.ts';
import type { SelectedPaper, Selection } from './select.ts';

/**
 * The links readers use, best first: the Hugging Face paper page and the arXiv abstract when
 * the arXiv id is known, the PDF, the code and the project page when the data has them.
 */
export function paperLinks(paper: { arxivId: string | null; links: PaperLinks }): PaperLink[] {
  const links: PaperLink[] = [];
  if (paper.arxivId) {
    links.push({ label: 'Hugging Face', url: `https://huggingface.co/papers/${paper.arxivId}` });
    links.push({ label: 'arXiv', url: `https://arxiv.org/abs/${paper.arxivId}` });
  }
  const pdf = paper.links.pdf ?? (paper.arxivId ? `https://arxiv.org/pdf/${paper.arxivId}` : undefined);
  if (pdf) links.push({ label: 'PDF', url: pdf });
  if (paper.links.github) links.push({ label: 'Code', url: paper.links.github });
  if (paper.links.project) links.push({ label: 'Project page', url: paper.links.project });
  return links;
}

/** Where a paper's title links: its best link, or (nothing known) a Hugging Face papers search by title. */
export function paperUrl(paper: { arxivId: string | null; title: string; links: PaperLinks }): string {
  return paperLinks(paper)[0]?.url ?? `https://huggingface.co/papers?q=${encodeURIComponent(paper.title)}`;
}

/** Turns a selection into the plain data the renderer reads. */
export function composeDigest(
  subscriber: Pick<Subscriber, 'email' | 'name' | 'frequency'>,
  selection: Selection,
  context: {
    topicNames: ReadonlyMap<string, string>;
    links: DigestLinks;
    now: Date;
    /**
     * Shared across the digests of one run: the same paper object for every recipient lets
     * the renderer reuse its formatted block (scripts/bench-render.ts: ~2.7× the throughput).
     */
    paperCache?: Map<number, DigestPaper>;
  },
): DigestData {
  const cached = (paper: SelectedPaper) => {
    let digestPaperOf = context.paperCache?.get(paper.paperId);
    if (!digestPaperOf) {
      digestPaperOf = digestPaper(paper);
      context.paperCache?.set(paper.paperId, digestPaperOf);
    }
    return digestPaperOf;
  };
  return {
    recipient: { email: subscriber.email, name: subscriber.name },
    frequency: subscriber.frequency,
    generatedAt: context.now.toISOString(),
    // The mail shows the topics with a paper in it; the rest of each topic is on the web view.
    sections: selection.sections
      .filter((section) => section.papers.length > 0)
      .map((section) => ({
        topic: { id: section.topicId, name: context.topicNames.get(section.topicId) ?? section.topicId },
        papers: section.papers.map(cached),
        moreCount: section.moreCount,
      })),
    paperCount: selection.paperIds.length,
    omittedCount: selection.omittedCount,
    carriedCount: selection.carriedCount,
    links: context.links,
  };
}

export function digestPaper(paper: Omit<SelectedPaper, 'score' | 'carried' | 'listedOn' | 'listingPosition' | 'firstSeen'>): DigestPaper {
  return {
    id: paper.key,
    title: paper.title,
    url: paperUrl(paper),
    links: paperLinks(paper),
    abstract: paper.abstract,
    authors: paper.authors,
    authorCount: paper.authorCount,
    organization: paper.organization,
    publishedOn: paper.publishedOn,
    upvotes: paper.upvotes,
    comments: paper.comments,
  };
}
