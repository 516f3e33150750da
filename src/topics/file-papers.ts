import type { AssignedTopic } from '../model/paper.ts';
import type { TopicRepository } from '../store/port.ts';
import type { Classification, Classifier } from './classify.ts';

export type FilingStore = Pick<TopicRepository, 'papersToClassify' | 'saveFilings'>;

/** Papers classified per transaction: large enough to be fast, small enough to keep memory flat. */
const BATCH_SIZE = 2000;

/**
 * Files every paper that is new, changed, or classified by an older taxonomy version, and
 * records the version. Safe to run any time: with nothing pending it does one query.
 */
export async function filePendingPapers(store: FilingStore, classifier: Classifier, taxonomyVersion: string): Promise<number> {
  let filed = 0;
  for (;;) {
    const batch = await store.papersToClassify(taxonomyVersion, BATCH_SIZE);
    if (batch.length === 0) return filed;
    await store.saveFilings(taxonomyVersion, batch.map((paper) => ({ paperId: paper.id, topics: assignedTopics(classifier(paper)) })));
    filed += batch.length;
  }
}

/** The primary topic, then the secondaries, each with its score and evidence. */
export function assignedTopics(classification: Classification): AssignedTopic[] {
  return [classification.primary, ...classification.secondary].map((topicId) => {
    const scored = classification.scores.find((score) => score.topicId === topicId);
    return { topicId, score: scored?.score ?? 0, evidence: scored?.evidence ?? [] };
  });
}
