import type { CandidateRow } from '../model/paper.ts';

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
}

export type SelectedPaper = Omit<CandidateRow, 'topicId' | 'topicRank' | 'topicScore'>;

export interface SelectedSection {
  topicId: string;
  papers: SelectedPaper[];
  /** Papers of this topic left out by a cap. */
  moreCount: number;
}

export interface Selection {
  sections: SelectedSection[];
  paperIds: number[];
  /** Papers that matched but were left out by the per-topic or per-digest cap. */
  omittedCount: number;
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

  const byTopic = new Map<string, CandidateRow[]>();
  for (const row of bestRow.values()) byTopic.set(row.topicId, [...(byTopic.get(row.topicId) ?? []), row]);

  const ranked = rules.topicOrder
    .filter((topicId) => byTopic.has(topicId))
    .map((topicId) => ({ topicId, rows: byTopic.get(topicId)!.sort(byRank) }));

  // Per-topic cap, then the per-digest cap taken round-robin, so that every topic keeps its
  // best papers rather than the first topics taking the whole digest.
  const kept = ranked.map(() => 0);
  let total = 0;
  for (let round = 0; round < rules.maxPerTopic && total < rules.maxPerDigest; round++) {
    let progressed = false;
    ranked.forEach((section, index) => {
      if (total < rules.maxPerDigest && round < section.rows.length) {
        kept[index]!++;
        total++;
        progressed = true;
      }
    });
    if (!progressed) break;
  }

  const sections = ranked
    .map((section, index) => ({
      topicId: section.topicId,
      papers: section.rows.slice(0, kept[index]).map(toSelectedPaper),
      moreCount: section.rows.length - kept[index]!,
    }))
    .filter((section) => section.papers.length > 0);
  return {
    sections,
    paperIds: sections.flatMap((section) => section.papers.map((paper) => paper.paperId)),
    omittedCount: ranked.reduce((sum, section, index) => sum + section.rows.length - kept[index]!, 0),
  };
}

/** Upvotes first (unknown counts last), then the most recently seen, then the most recently published. */
function byRank(a: CandidateRow, b: CandidateRow): number {
  return (
    (b.upvotes ?? -1) - (a.upvotes ?? -1) ||
    b.firstSeen.localeCompare(a.firstSeen) ||
    (b.publishedOn ?? '').localeCompare(a.publishedOn ?? '') ||
    a.paperId - b.paperId
  );
}

function toSelectedPaper({ topicId: _topic, topicRank: _rank, topicScore: _score, ...paper }: CandidateRow): SelectedPaper {
  return paper;
}
