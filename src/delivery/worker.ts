import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
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
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
  return isZombie(pid);
}

/**
 * A killed process whose parent died too (a run and the worker beside it) stays a zombie
 * until something reaps it, and a container's first process often never does: signal 0
 * still reaches it, but it holds nothing. Linux says so in /proc; elsewhere it counts as alive.
 */
function isZombie(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').pop()!.startsWith('Z');
  } catch {
    return false;
  }
}

/** `pid 123 on host-a`, for messages. */
export function describeWorker(holder: string): string {
  const [host, pid] = holder.split(':');
  return `pid ${pid} on ${host}`;
}
