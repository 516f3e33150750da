import type { AssignedTopic, Store } from '../store/store.ts';
import type { Classification, Classifier } from './classify.ts';

export type FilingStore = Pick<Store, 'transaction' | 'papersToClassify' | 'saveClassification'>;

/** Papers classified per transaction: large enough to be fast, small enough to keep memory flat. */
const BATCH_SIZE = 2000;

/**
 * Files every paper that is new, changed, or classified by an older taxonomy version, and
 * records the version. Safe to run any time: with nothing pending it does one query.
 */
export function filePendingPapers(store: FilingStore, classifier: Classifier, taxonomyVersion: string): number {
  let filed = 0;
  for (;;) {
    const batch = store.papersToClassify(taxonomyVersion, BATCH_SIZE);
    if (batch.length === 0) return filed;
    store.transaction(() => {
      for (const paper of batch) store.saveClassification(paper.id, taxonomyVersion, assignedTopics(classifier(paper)));
    });
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
