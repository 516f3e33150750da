import type { CandidateRow, WindowPaper } from '../model/paper.ts';
import { listingDay, rankScoreOf, type ScoreParts } from './rank.ts';

/**
 * Selection: which papers go into one subscriber's next digest. A pure function over the
 * candidate rows the store returns (papers new to this subscriber, one row per topic each
 * paper is filed under), so every rule here is tested without a database.
 */

export interface SelectionRules {
  /** Topic ids the subscriber follows, or null for all. */
  topics: readonly string[] | null;
  /** Every topic id in taxonomy order: sections follow it. */
  topicOrder: readonly string[];
  maxPerTopic: number;
  maxPerDigest: number;
  /** Scores are worked out as of this moment (recency). */
  now: Date;
  /**
   * The subscriber's previous digest, or null: a candidate first seen by then was already
   * offered to them and did not fit, so here it is carried over.
   */
  carriedBefore: string | null;
}

export type SelectedPaper = Omit<CandidateRow, 'topicId' | 'topicRank' | 'topicScore'> & {
  score: ScoreParts;
  /** Matched an earlier digest but did not fit it. */
  carried: boolean;
};

export interface SelectedSection {
  topicId: string;
  papers: SelectedPaper[];
  /** Papers of this topic that matched but did not fit, best first (the web view shows them). */
  rest: SelectedPaper[];
  /** `rest.length`: "N more". */
  moreCount: number;
}

export interface Selection {
  sections: SelectedSection[];
  paperIds: number[];
  /** Papers that matched but were left out by the per-topic or per-digest cap. */
  omittedCount: number;
  /** Papers in this digest carried over from an earlier one. */
  carriedCount: number;
}

export function selectDigest(candidates: readonly CandidateRow[], rules: SelectionRules): Selection {
  const follows = rules.topics ? new Set(rules.topics) : null;

  // Each paper once, under the subscriber's best-matching topic: its lowest rank (primary
  // first) among the topics they follow, then the higher score.
  const bestRow = new Map<number, CandidateRow>();
  for (const row of candidates) {
    if (follows && !follows.has(row.topicId)) continue;
    const best = bestRow.get(row.paperId);
    if (!best || row.topicRank < best.topicRank || (row.topicRank === best.topicRank && row.topicScore > best.topicScore)) {
      bestRow.set(row.paperId, row);
    }
  }
  return capAndSection(
    [...bestRow.values()].map((row) => {
      const { topicId, topicRank: _rank, topicScore, ...paper } = row;
      return { topicId, paper: selectedPaper(paper, topicScore, rules) };
    }),
    rules,
  );
}

/** What the window read leaves to each subscriber: where their window starts and what they already have. */
export interface WindowRules extends SelectionRules {
  /** Papers first seen after this are new to the subscriber. */
  since: string;
  /** Ids of papers delivered to the subscriber or reserved by their queued mail. */
  held: ReadonlySet<number> | undefined;
}

/**
 * The same choice as `selectDigest`, from a run's window read once (every paper with all its
 * topics) instead of the subscriber's own candidate rows: the papers new to them are those
 * first seen after their `since` that they do not hold.
 */
export function selectFromWindow(window: readonly WindowPaper[], rules: WindowRules): Selection {
  const follows = rules.topics ? new Set(rules.topics) : null;
  const entries: RankedEntry[] = [];
  for (const candidate of window) {
    if (candidate.firstSeen <= rules.since || rules.held?.has(candidate.paperId)) continue;
    let best: WindowPaper['topics'][number] | undefined;
    for (const topic of candidate.topics) {
      if (follows && !follows.has(topic.topicId)) continue;
      if (!best || topic.rank < best.rank || (topic.rank === best.rank && topic.score > best.score)) best = topic;
    }
    if (!best) continue;
    entries.push({ topicId: best.topicId, paper: selectedFromWindow(candidate, best.score, rules) });
  }
  return capAndSection(entries, rules);
}

interface RankedEntry {
  topicId: string;
  paper: SelectedPaper;
}

function capAndSection(entries: RankedEntry[], rules: SelectionRules): Selection {
  const ranked = entries.sort((a, b) => byRank(a.paper, b.paper));

  // Caps in rank order across topics: first every topic up to its cap, then, while the
  // digest still has room, the best of what the per-topic cap held back.
  const kept = new Set<number>();
  const perTopic = new Map<string, number>();
  for (const { topicId, paper } of ranked) {
    if (kept.size >= rules.maxPerDigest) break;
    const count = perTopic.get(topicId) ?? 0;
    if (count < rules.maxPerTopic) {
      kept.add(paper.paperId);
      perTopic.set(topicId, count + 1);
    }
  }
  for (const { paper } of ranked) {
    if (kept.size >= rules.maxPerDigest) break;
    kept.add(paper.paperId);
  }

  const sections = rules.topicOrder
    .map((topicId): SelectedSection => {
      const ofTopic = ranked.filter((entry) => entry.topicId === topicId).map((entry) => entry.paper);
      const rest = ofTopic.filter((paper) => !kept.has(paper.paperId));
      return { topicId, papers: ofTopic.filter((paper) => kept.has(paper.paperId)), rest, moreCount: rest.length };
    })
    .filter((section) => section.papers.length + section.rest.length > 0);
  const papers = sections.flatMap((section) => section.papers);
  return {
    sections,
    paperIds: papers.map((paper) => paper.paperId),
    omittedCount: ranked.length - kept.size,
    carriedCount: papers.filter((paper) => paper.carried).length,
  };
}

/** The higher score first; ties go to the paper placed earlier in its listing, then the newer listing. */
function byRank(a: SelectedPaper, b: SelectedPaper): number {
  return (
    b.score.total - a.score.total ||
    (a.listingPosition ?? Number.MAX_SAFE_INTEGER) - (b.listingPosition ?? Number.MAX_SAFE_INTEGER) ||
    // ISO days: code-point order is date order (localeCompare would cost a collator per call).
    compareText(b.listedOn ?? '', a.listedOn ?? '') ||
    a.paperId - b.paperId
  );
}

function selectedPaper(paper: Omit<SelectedPaper, 'score' | 'carried'>, topicScore: number, rules: Pick<SelectionRules, 'now' | 'carriedBefore'>): SelectedPaper {
  return { ...paper, score: rankScoreOf(paper, listingDay(paper), topicScore, rules.now), carried: rules.carriedBefore !== null && paper.firstSeen <= rules.carriedBefore };
}

// A window paper's listing day, parsed once per run rather than once per subscriber.
const listingDays = new WeakMap<WindowPaper, number>();

/**
 * `selectedPaper` for a window paper, field by field: this runs for every paper of the
 * window for every subscriber, and a literal is several times cheaper than a spread.
 */
function selectedFromWindow(paper: WindowPaper, topicScore: number, rules: Pick<SelectionRules, 'now' | 'carriedBefore'>): SelectedPaper {
  let day = listingDays.get(paper);
  if (day === undefined) listingDays.set(paper, (day = listingDay(paper)));
  return {
    paperId: paper.paperId,
    key: paper.key,
    arxivId: paper.arxivId,
    title: paper.title,
    abstract: paper.abstract,
    authors: paper.authors,
    authorCount: paper.authorCount,
    organization: paper.organization,
    publishedOn: paper.publishedOn,
    upvotes: paper.upvotes,
    comments: paper.comments,
    links: paper.links,
    firstSeen: paper.firstSeen,
    listedOn: paper.listedOn,
    listingPosition: paper.listingPosition,
    score: rankScoreOf(paper, day, topicScore, rules.now),
    carried: rules.carriedBefore !== null && paper.firstSeen <= rules.carriedBefore,
  };
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
