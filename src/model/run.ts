export type RunTrigger = 'scheduled' | 'manual' | 'start' | 'catch-up';
export type RunStatus = 'running' | 'done' | 'paused' | 'failed' | 'interrupted';

export interface RunRow {
  id: number;
  trigger: RunTrigger;
  startedAt: string;
  finishedAt: string | null;
  status: RunStatus;
  ingested: number;
  due: number;
  queued: number;
  sent: number;
  failed: number;
  deferred: number;
  /** Temporary failures scheduled for another attempt. */
  retried: number;
  /** Subscribers this run marked bounced. */
  bounced: number;
  error: string | null;
}

export interface LeaseHolder {
  holder: string;
  expiresAt: string;
}

/** An admin console session as stored: only a hash of the cookie's id, never the id itself. */
export interface AdminSession {
  idHash: string;
  /** The form token every POST of this session must carry. */
  csrf: string;
  createdAt: string;
  expiresAt: string;
}
