import type { Clock } from '../clock.ts';
import { PaperboyError } from '../errors.ts';
import type { LeaseRepository } from '../store/port.ts';
import { describeWorker, isDeadLocalWorker, workerName } from './worker.ts';

export const DELIVERY_LEASE = 'delivery';

export type LeaseStore = Pick<LeaseRepository, 'acquireLease' | 'leaseHolder' | 'releaseLease'>;

export interface Lease {
  readonly holder: string;
  /** Extends the lease when a third of its time has passed; cheap to call often. */
  renew(): Promise<void>;
  release(): Promise<void>;
}

/**
 * Only one run produces (ingests, files, queues) at a time, across processes: a lease row in
 * the store with an expiry. Delivery itself needs no lease: workers claim messages.
 * A holder on this host whose process is gone (kill -9) is stale and is taken over at once;
 * otherwise a crashed holder's lease lapses after `seconds`.
 */
export async function acquireDeliveryLease(store: LeaseStore, clock: Clock, seconds: number): Promise<Lease> {
  const holder = workerName();
  const expiry = () => new Date(clock.now().getTime() + seconds * 1000).toISOString();
  const current = await store.leaseHolder(DELIVERY_LEASE);
  const stale = current && isDeadLocalWorker(current.holder) ? current.holder : null;
  if (!(await store.acquireLease(DELIVERY_LEASE, holder, clock.now().toISOString(), expiry(), stale))) {
    const held = (await store.leaseHolder(DELIVERY_LEASE))!;
    throw new PaperboyError('LEASE_HELD', `another run is delivering (${describeWorker(held.holder)}, lease until ${held.expiresAt}); try again when it has finished`);
  }
  let renewedAt = clock.now().getTime();
  return {
    holder,
    async renew() {
      const now = clock.now().getTime();
      if (now - renewedAt < (seconds * 1000) / 3) return;
      if (!(await store.acquireLease(DELIVERY_LEASE, holder, new Date(now).toISOString(), expiry()))) {
        throw new PaperboyError('LEASE_HELD', 'the delivery lease was taken over by another run; stopping');
      }
      renewedAt = now;
    },
    release: () => store.releaseLease(DELIVERY_LEASE, holder),
  };
}
