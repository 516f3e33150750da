import type { Subscriber } from '../subscribers/subscriber.ts';
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
  context: { topicNames: ReadonlyMap<string, string>; links: DigestLinks; now: Date },
): DigestData {
  return {
    recipient: { email: subscriber.email, name: subscriber.name },
    frequency: subscriber.frequency,
    generatedAt: context.now.toISOString(),
    sections: selection.sections.map((section) => ({
      topic: { id: section.topicId, name: context.topicNames.get(section.topicId) ?? section.topicId },
      papers: section.papers.map(digestPaper),
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
