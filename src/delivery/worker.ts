import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/**
 * Who holds a lease or a claim: `host:pid:random`, unique across hosts and processes, and
 * enough to tell whether a holder on this host is still alive.
 */
export function workerName(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

/** True for a holder on this host whose process is gone (kill -9): what it held may be taken at once. */
export function isDeadLocalWorker(holder: string): boolean {
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

/** `pid 123 on host-a`, for messages. */
export function describeWorker(holder: string): string {
  const [host, pid] = holder.split(':');
  return `pid ${pid} on ${host}`;
}
