import type { Subscriber } from '../model/subscriber.ts';
import type { DigestData, DigestLinks, DigestPaper } from './digest-data.ts';
import type { SelectedPaper, Selection } from './select.ts';

/** Where a paper's title links: its arXiv abstract page, or a Hugging Face papers search by title. */
export function paperUrl(paper: { arxivId: string | null; title: string }): string {
  return paper.arxivId
    ? `https://arxiv.org/abs/${paper.arxivId}`
    : `https://huggingface.co/papers?q=${encodeURIComponent(paper.title)}`;
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
    sections: selection.sections.map((section) => ({
      topic: { id: section.topicId, name: context.topicNames.get(section.topicId) ?? section.topicId },
      papers: section.papers.map(cached),
      moreCount: section.moreCount,
    })),
    paperCount: selection.paperIds.length,
    omittedCount: selection.omittedCount,
    links: context.links,
  };
}

function digestPaper(paper: SelectedPaper): DigestPaper {
  return {
    id: paper.key,
    title: paper.title,
    url: paperUrl(paper),
    abstract: paper.abstract,
    authors: paper.authors,
    authorCount: paper.authorCount,
    organization: paper.organization,
    publishedOn: paper.publishedOn,
    upvotes: paper.upvotes,
    comments: paper.comments,
  };
}
