/**
 * What a long stage tells a progress display as it goes: items it now knows are ahead
 * (`added`: a parsed listing's papers, a run's due subscribers, the messages to deliver) and
 * items it finished (`done`), each since its last event. Stages call it per item or per small
 * batch; it must be cheap and must not throw.
 */
export interface ProgressEvent {
  stage: ProgressStage;
  added?: number;
  done?: number;
}

/** ingest counts papers, queue counts digests, deliver counts messages. */
export type ProgressStage = 'ingest' | 'queue' | 'deliver';

export type OnProgress = (event: ProgressEvent) => void;
