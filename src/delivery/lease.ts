import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Clock } from '../clock.ts';
import { PaperboyError } from '../errors.ts';
import type { Store } from '../store/store.ts';

export const DELIVERY_LEASE = 'delivery';

export type LeaseStore = Pick<Store, 'acquireLease' | 'leaseHolder' | 'releaseLease'>;

export interface Lease {
  readonly holder: string;
  /** Extends the lease when a third of its time has passed; cheap to call often. */
  renew(): void;
  release(): void;
}

/**
 * Only one run delivers at a time, across processes: a lease row in SQLite with an expiry.
 * A holder on this host whose process is gone (kill -9) is stale and is taken over at once;
 * otherwise a crashed holder's lease lapses after `seconds`.
 */
export function acquireDeliveryLease(store: LeaseStore, clock: Clock, seconds: number): Lease {
  const holder = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const expiry = () => new Date(clock.now().getTime() + seconds * 1000).toISOString();
  const current = store.leaseHolder(DELIVERY_LEASE);
  const stale = current && isDeadLocalHolder(current.holder) ? current.holder : null;
  if (!store.acquireLease(DELIVERY_LEASE, holder, clock.now().toISOString(), expiry(), stale)) {
    const held = store.leaseHolder(DELIVERY_LEASE)!;
    const [host, pid] = held.holder.split(':');
    throw new PaperboyError('LEASE_HELD', `another run is delivering (pid ${pid} on ${host}, lease until ${held.expiresAt}); try again when it has finished`);
  }
  let renewedAt = clock.now().getTime();
  return {
    holder,
    renew() {
      const now = clock.now().getTime();
      if (now - renewedAt < (seconds * 1000) / 3) return;
      if (!store.acquireLease(DELIVERY_LEASE, holder, new Date(now).toISOString(), expiry())) {
        throw new PaperboyError('LEASE_HELD', 'the delivery lease was taken over by another run; stopping');
      }
      renewedAt = now;
    },
    release: () => store.releaseLease(DELIVERY_LEASE, holder),
  };
}

function isDeadLocalHolder(holder: string): boolean {
  const [host, pidText] = holder.split(':');
  const pid = Number(pidText);
  if (host !== hostname() || !Number.isInteger(pid) || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
