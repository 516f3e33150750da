import type { OutboxKind } from '../model/outbox.ts';
import { deliverOutbox, type DeliverDeps } from './deliver.ts';

/** The notices: transactional mail a person is waiting for, sent as soon as it is queued. */
export const NOTICE_KINDS: readonly OutboxKind[] = ['confirmation', 'welcome'];

export interface Courier {
  /** Delivers queued notices now (in the background); a kick while busy runs once more after. */
  kick(): void;
  /** Resolves once nothing is being delivered. */
  idle(): Promise<void>;
  /** Stops the timer and waits for the delivery in progress. */
  stop(): Promise<void>;
}

/**
 * Sends notices through the outbox, like digests: a notice is queued in the transaction that
 * made it (a sign-up, a confirmation), then this worker claims and sends it, and retries it
 * with backoff when the relay fails. `kick` after queueing sends at once; a timer picks up
 * retries due later. Runs deliver notices too, so none waits for a process that died.
 */
export function createCourier(deps: Omit<DeliverDeps, 'kinds'> & { intervalMs?: number }): Courier {
  let running: Promise<void> | null = null;
  let again = false;
  const log = deps.logger;
  const run = async () => {
    do {
      again = false;
      try {
        await deliverOutbox({ ...deps, kinds: NOTICE_KINDS });
      } catch (error) {
        log.error({ err: error }, `delivering notices failed: ${(error as Error).message}`);
      }
    } while (again);
  };
  const kick = () => {
    if (running) {
      again = true;
      return;
    }
    running = run().finally(() => {
      running = null;
    });
  };
  const stopTimer = deps.intervalMs ? deps.clock.every(deps.intervalMs, kick) : () => {};
  const idle = async () => {
    while (running) await running;
  };
  return {
    kick,
    idle,
    stop: async () => {
      stopTimer();
      await idle();
    },
  };
}
