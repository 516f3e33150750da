import { z } from 'zod';
import { PaperboyError } from '../errors.ts';
import { dayOf } from './dates.ts';
import { normalizeArxivId } from './identity.ts';
import type { ParsedListing, ParseWarning } from '../model/listing.ts';
import type { PaperRecord } from '../model/paper.ts';
import { emptyRecord } from './records.ts';
import { tidyAbstract, unwrap } from './text.ts';

/** Hugging Face `/api/daily_papers` (FORMATS.md §2). Older responses lack the newer fields. */

const optionalText = z.string().nullish();
const optionalCount = z.number().int().nonnegative().nullish();

const ApiPaper = z.looseObject({
  id: z.string(),
  title: optionalText,
  summary: optionalText,
  authors: z.array(z.looseObject({ name: z.string(), hidden: z.boolean().nullish() })).nullish(),
  publishedAt: optionalText,
  submittedOnDailyAt: optionalText,
  upvotes: optionalCount,
  ai_keywords: z.array(z.string()).nullish(),
  githubRepo: optionalText,
  projectPage: optionalText,
  organization: z.looseObject({ name: optionalText, fullname: optionalText }).nullish(),
});

const ApiEntry = z.looseObject({
  paper: ApiPaper,
  title: optionalText,
  summary: optionalText,
  publishedAt: optionalText,
  numComments: optionalCount,
});

export function looksLikeHfApi(value: unknown): boolean {
  const first = Array.isArray(value) ? value[0] : undefined;
  return typeof first === 'object' && first !== null && 'paper' in first;
}

export function parseHfApi(value: unknown, onEntry?: () => void): ParsedListing {
  const entries = z.array(z.unknown()).parse(value);
  const warnings: ParseWarning[] = [];
  const papers: PaperRecord[] = [];
  let listedOn: string | null = null;

  entries.forEach((raw, index) => {
    const parsed = ApiEntry.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new PaperboyError('INPUT_MALFORMED', `entry [${index}].${issue.path.join('.')}: ${issue.message}`);
    }
    const entry = parsed.data;
    const paper = entry.paper;
    const title = unwrap(paper.title ?? entry.title ?? '');
    if (title === '') {
      warnings.push({ message: `entry [${index}] has no title; skipped` });
      return;
    }
    const arxivId = normalizeArxivId(paper.id);
    if (!arxivId) warnings.push({ message: `entry [${index}] id "${paper.id}" is not an arXiv id; keyed by title` });
    // `hidden` hides the paper from that author's HF profile; the author is as real as the rest.
    const authors = (paper.authors ?? []).map((author) => unwrap(author.name));
    const record = emptyRecord(title);
    Object.assign(record, {
      arxivId,
      abstract: tidyAbstract(paper.summary ?? entry.summary ?? ''),
      authors,
      authorCount: paper.authors ? authors.length : null,
      organization: paper.organization?.fullname ?? paper.organization?.name ?? null,
      publishedOn: dayOf(paper.publishedAt),
      upvotes: paper.upvotes ?? null,
      comments: entry.numComments ?? null,
      keywords: paper.ai_keywords ?? [],
      links: {
        ...(paper.githubRepo ? { github: paper.githubRepo } : {}),
        ...(paper.projectPage ? { project: paper.projectPage } : {}),
      },
    } satisfies Partial<PaperRecord>);
    papers.push(record);
    onEntry?.();
    // The day the paper was listed on the Daily Papers page is `submittedOnDailyAt`; the
    // entry's `publishedAt` is hours earlier, often the day before (older responses lack the former).
    const listedDay = dayOf(paper.submittedOnDailyAt ?? entry.publishedAt);
    if (listedDay && (listedOn === null || listedDay > listedOn)) listedOn = listedDay;
  });

  return { format: 'hf-api', listedOn, papers, warnings };
}
