import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openApp, type App } from '../../src/app.ts';
import { fixedClock } from '../../src/clock.ts';
import { runDigests } from '../../src/pipeline/run.ts';
import { PaperboyError } from '../../src/errors.ts';
import { createLogger } from '../../src/log.ts';
import { createScheduler, LAST_SCHEDULED_RUN, type Scheduler, type SchedulerDeps } from '../../src/service/scheduler.ts';
import type { RunTrigger } from '../../src/model/run.ts';
import type { Store } from '../../src/store/port.ts';
import { DUMP_FILES, tempDir } from '../helpers/paths.ts';
import { STORE_ADAPTERS } from '../helpers/store-adapters.ts';
import { ingestPaths } from '../helpers/store.ts';

const logger = createLogger('silent');
const schedulers: Scheduler[] = [];
const apps: App[] = [];

afterEach(async () => {
  for (const scheduler of schedulers.splice(0)) await scheduler.stop();
  for (const app of apps.splice(0)) await app.close();
});

function memoryState(initial: Record<string, string> = {}) {
  const values = new Map(Object.entries(initial));
  return { getState: async (key: string) => values.get(key), setState: async (key: string, value: string) => void values.set(key, value), values };
}

function scheduler(overrides: Partial<SchedulerDeps>) {
  const created = createScheduler({
    schedule: '0 7 * * *',
    timeZone: 'UTC',
    clock: fixedClock('2026-11-23T09:30:00.000Z'),
    logger,
    state: memoryState(),
    run: async () => undefined,
    ...overrides,
  });
  schedulers.push(created);
  return created;
}

describe('scheduler', () => {
  it('finds the last time the schedule fired, in the configured time zone', () => {
    expect(scheduler({}).previousFireTime(new Date('2026-11-23T09:30:00Z'))).toEqual(new Date('2026-11-23T07:00:00Z'));
    expect(scheduler({}).previousFireTime(new Date('2026-11-23T06:59:00Z'))).toEqual(new Date('2026-11-22T07:00:00Z'));
    // 07:00 in Tokyo is 22:00 UTC the day before.
    expect(scheduler({ timeZone: 'Asia/Tokyo' }).previousFireTime(new Date('2026-11-23T09:30:00Z'))).toEqual(new Date('2026-11-22T22:00:00Z'));
  });

  it('a tick runs the pipeline and records when', async () => {
    const calls: RunTrigger[] = [];
    const state = memoryState();
    const outcome = await scheduler({ state, run: async (trigger) => void calls.push(trigger) }).tick();
    expect(outcome).toBe('ran');
    expect(calls).toEqual(['scheduled']);
    expect(state.values.get(LAST_SCHEDULED_RUN)).toBe('2026-11-23T09:30:00.000Z');
  });

  it('refuses to overlap: a tick during a run is skipped, and so is one while another process holds the lease', async () => {
    let finish!: () => void;
    const calls: RunTrigger[] = [];
    const busy = scheduler({ run: (trigger) => (calls.push(trigger), new Promise<void>((resolve) => (finish = resolve))) });
    const first = busy.tick();
    expect(await busy.tick()).toBe('skipped-overlap');
    finish();
    expect(await first).toBe('ran');
    expect(calls).toEqual(['scheduled']);

    const leased = scheduler({ run: async () => { throw new PaperboyError('LEASE_HELD', 'another run is delivering'); } });
    expect(await leased.tick()).toBe('skipped-lease');
  });

  it('catches up a missed run once at start, from the time kept in the store', async () => {
    const dir = tempDir();
    const app = openApp({ clock: fixedClock('2026-11-23T09:30:00.000Z'), env: { PAPERBOY_DB: join(dir, 'paperboy.db'), PAPERBOY_INBOX: join(dir, 'inbox'), PAPERBOY_OUTBOX_DIR: join(dir, 'outbox'), PAPERBOY_LOG_LEVEL: 'silent' } });
    apps.push(app);
    await app.store.setState(LAST_SCHEDULED_RUN, '2026-11-21T07:00:00.000Z');
    const state = app.store;
    const calls: RunTrigger[] = [];
    const run = async (trigger: RunTrigger) => {
      calls.push(trigger);
      return runDigests(app.pipeline(), { trigger });
    };
    expect(await scheduler({ state, run }).start()).toEqual({ caughtUp: true });
    expect(calls).toEqual(['catch-up']);
    expect((await app.store.recentRuns(5)).map((row) => [row.trigger, row.status])).toEqual([['catch-up', 'done']]);
    // A restart after that: nothing was missed, nothing is caught up again.
    expect(await scheduler({ state, run }).start()).toEqual({ caughtUp: false });
    expect(calls).toEqual(['catch-up']);
  });

  it('a real tick against the store: the run is recorded, and a held lease skips it', async () => {
    const dir = tempDir();
    const clock = fixedClock('2026-11-23T09:30:00.000Z');
    const app = openApp({ clock, env: { PAPERBOY_DB: join(dir, 'paperboy.db'), PAPERBOY_INBOX: join(dir, 'inbox'), PAPERBOY_OUTBOX_DIR: join(dir, 'outbox'), PAPERBOY_LOG_LEVEL: 'silent' } });
    apps.push(app);
    await ingestPaths(app.store, clock, [DUMP_FILES[0]!]);
    await app.store.insertSubscriber({ email: 'ada@example.org', name: null, topics: null, frequency: 'daily', weekday: null }, 'active', clock.now().toISOString());
    const real = scheduler({ clock, state: memoryState(), run: (trigger) => runDigests(app.pipeline(), { trigger }) });
    expect(await real.tick()).toBe('ran');
    expect((await app.store.recentRuns(1))[0]).toMatchObject({ trigger: 'scheduled', status: 'done', due: 1, sent: 1 });

    await app.store.acquireLease('delivery', 'elsewhere:1:ffff', clock.now().toISOString(), '2026-11-23T10:00:00.000Z');
    expect(await real.tick()).toBe('skipped-lease');
    expect(await app.store.recentRuns(5)).toHaveLength(1);
  });
});

describe.each(STORE_ADAPTERS)('scheduler replicas on one store ($name)', (adapter) => {
  let store: Store;
  beforeEach(async () => {
    store = await adapter.open();
  });
  afterEach(async () => {
    await store.close();
  });

  it('runs each fire time once: the first replica to claim it runs, the others skip', async () => {
    const clock = fixedClock('2026-11-23T07:00:00.120Z');
    const calls: string[] = [];
    const replica = (name: string) => scheduler({ clock, state: store, ticks: store, run: async () => void calls.push(name) });
    const [a, b] = [replica('a'), replica('b')];
    expect(await a.tick()).toBe('ran');
    clock.advance(600);
    expect(await b.tick()).toBe('skipped-replica');
    clock.advance(400);
    expect(await b.tick()).toBe('ran');
    expect(await a.tick()).toBe('skipped-replica');
    expect(calls).toEqual(['a', 'b']);
  });

  it('catches up a missed run on one replica only', async () => {
    const calls: string[] = [];
    const replica = (name: string) => scheduler({ state: store, ticks: store, run: async () => void calls.push(name) });
    expect(await replica('a').start()).toEqual({ caughtUp: true });
    const late = replica('b');
    // Started before the first one recorded its catch-up: it finds the run missed, and the tick taken.
    await store.setState(LAST_SCHEDULED_RUN, '2026-11-21T07:00:00.000Z');
    expect(await late.start()).toEqual({ caughtUp: true });
    expect(calls).toEqual(['a']);
  });
});
