import type { CandidateRow } from '../model/paper.ts';

/**
 * The one score a paper gets for one subscriber: the sum of four parts, each from a signal
 * we have. Higher ranks first; ties go to the paper placed earlier in its listing.
 *
 * - engagement: 2·log2(1 + upvotes) + log2(1 + comments) (0 when unknown, as for every dump
 *   paper): 50 upvotes ≈ 11.3, so readers' votes weigh most where they exist.
 * - recency: 10 · 0.5^(age in days / 7), a week's half-life from the paper's listing day (its
 *   newest listing's day, else the day it was first seen). A listing can bring back an old
 *   paper (an arXiv search feed dated today returns 2012 papers), so the day counts as no
 *   later than 30 days after the paper was published.
 * - position: 1 / (1 + place in that listing): the Daily Papers page lists in its own order.
 * - topic: 3 · s / (s + 10) for the classifier's score s on the topic the paper is shown
 *   under (saturating: a strong match helps, an overwhelming one no more).
 */

export interface ScoreParts {
  engagement: number;
  recency: number;
  position: number;
  topic: number;
  total: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const RECENCY_HALF_LIFE_DAYS = 7;
const PUBLISHED_GRACE_DAYS = 30;

export function rankScore(row: Pick<CandidateRow, 'upvotes' | 'comments' | 'listedOn' | 'firstSeen' | 'publishedOn' | 'listingPosition' | 'topicScore'>, now: Date): ScoreParts {
  return rankScoreOf(row, listingDay(row), row.topicScore, now);
}

/**
 * `rankScore` with the paper's listing day (ms, `listingDay`) worked out beforehand and the
 * topic score given apart: selection scores each paper of a run's window for every
 * subscriber, and parses its dates once.
 */
export function rankScoreOf(row: Pick<CandidateRow, 'upvotes' | 'comments' | 'listingPosition'>, listingDayMs: number, topicScore: number, now: Date): ScoreParts {
  const engagement = 2 * Math.log2(1 + (row.upvotes ?? 0)) + Math.log2(1 + (row.comments ?? 0));
  const ageDays = Math.max(0, (now.getTime() - listingDayMs) / DAY_MS);
  const recency = 10 * 0.5 ** (ageDays / RECENCY_HALF_LIFE_DAYS);
  const position = row.listingPosition === null ? 0 : 1 / (1 + row.listingPosition);
  const topic = (3 * topicScore) / (topicScore + 10);
  return { engagement: round(engagement), recency: round(recency), position: round(position), topic: round(topic), total: round(engagement + recency + position + topic) };
}

export function listingDay(row: Pick<CandidateRow, 'listedOn' | 'firstSeen' | 'publishedOn'>): number {
  const listed = Date.parse(row.listedOn ?? row.firstSeen);
  if (!row.publishedOn) return listed;
  return Math.min(listed, Date.parse(row.publishedOn) + PUBLISHED_GRACE_DAYS * DAY_MS);
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
