import cron, { type ScheduledTask } from 'node-cron';
import type { Clock } from '../clock.ts';
import type { RunTrigger } from '../model/run.ts';
import type { CounterRepository, StateRepository } from '../store/port.ts';
import { isPaperboyError } from '../errors.ts';
import type { Logger } from '../log.ts';

export const LAST_SCHEDULED_RUN = 'last_scheduled_run';

export interface SchedulerDeps {
  /** Cron expression (PAPERBOY_SCHEDULE), read in `timeZone`. */
  schedule: string;
  timeZone: string;
  clock: Clock;
  logger: Logger;
  /** Kept in the store, so a restart knows whether a run was missed. */
  state: Pick<StateRepository, 'getState' | 'setState'>;
  /** The pipeline: one full run. Throws LEASE_HELD when another process is delivering. */
  run(trigger: RunTrigger): Promise<unknown>;
  /** True once a shutdown began: no cron task is started after the catch-up run. */
  stopping?: () => boolean;
  /**
   * The store's counters, where replicas claim each fire time: of several `serve` processes
   * on one store, the first to claim a tick runs it and the others skip it.
   */
  ticks?: Pick<CounterRepository, 'takeHits'>;
}

export type TickOutcome = 'ran' | 'skipped-overlap' | 'skipped-lease' | 'skipped-replica' | 'failed';

export interface Scheduler {
  /** Starts the cron task, after catching up once on a run missed while the process was down. */
  start(): Promise<{ caughtUp: boolean }>;
  /** One scheduled run now (what the cron task calls), for the fire time `firedAt` (now by default). */
  tick(trigger?: RunTrigger, firedAt?: Date): Promise<TickOutcome>;
  /** The latest time the schedule fired at or before `instant`, within the last 8 days. */
  previousFireTime(instant: Date): Date | null;
  /** Stops taking work and waits for a run in progress to finish. */
  stop(): Promise<void>;
}

const SECOND_MS = 1000;
const MINUTE_MS = 60_000;
const LOOKBACK_MINUTES = 8 * 24 * 60;
/** A claimed fire time is remembered this long: replicas' ticks for it arrive within seconds of each other. */
const TICK_CLAIM_MS = 24 * 60 * MINUTE_MS;
const TICK_COUNTER = 'schedule:tick';

export function createScheduler(deps: SchedulerDeps): Scheduler {
  let inFlight: Promise<TickOutcome> | null = null;
  // A started task that is never run: only its `match` is used, to walk back to the last fire time.
  const matcher = cron.createTask(deps.schedule, () => {}, { timezone: deps.timeZone });
  matcher.stop();
  let task: ScheduledTask | null = null;

  /**
   * True for the one replica that claims this fire time first. Cron fires on the second, so
   * replicas whose clocks agree to within a second name the same fire time.
   */
  const claimTick = async (firedAt: Date): Promise<boolean> => {
    if (!deps.ticks) return true;
    const second = firedAt.getTime() - (firedAt.getTime() % SECOND_MS);
    const window = { key: TICK_COUNTER, windowStart: new Date(second).toISOString(), expiresAt: new Date(second + TICK_CLAIM_MS).toISOString() };
    return (await deps.ticks.takeHits(window, 1, 1, deps.clock.now().toISOString())) === 1;
  };

  const tick = async (trigger: RunTrigger = 'scheduled', firedAt: Date = deps.clock.now()): Promise<TickOutcome> => {
    if (inFlight) {
      deps.logger.warn({ trigger }, 'a run is still in progress: this tick is skipped (no overlapping runs)');
      return 'skipped-overlap';
    }
    inFlight = (async (): Promise<TickOutcome> => {
      const startedAt = deps.clock.now();
      try {
        if (!(await claimTick(firedAt))) {
          deps.logger.info({ trigger, firedAt: firedAt.toISOString() }, 'another replica took this tick: skipped');
          return 'skipped-replica';
        }
        await deps.run(trigger);
        await deps.state.setState(LAST_SCHEDULED_RUN, startedAt.toISOString());
        return 'ran';
      } catch (error) {
        if (isPaperboyError(error, 'LEASE_HELD')) {
          deps.logger.warn({ trigger }, `${error.message}: this tick is skipped`);
          return 'skipped-lease';
        }
        deps.logger.error({ trigger, err: error }, `scheduled run failed: ${(error as Error).message}`);
        return 'failed';
      }
    })();
    try {
      return await inFlight;
    } finally {
      inFlight = null;
    }
  };

  const previousFireTime = (instant: Date): Date | null => {
    const start = Math.floor(instant.getTime() / MINUTE_MS) * MINUTE_MS;
    for (let minutes = 0; minutes <= LOOKBACK_MINUTES; minutes++) {
      const candidate = new Date(start - minutes * MINUTE_MS);
      if (matcher.match(candidate)) return candidate;
    }
    return null;
  };

  return {
    tick,
    previousFireTime,
    async start() {
      const previous = previousFireTime(deps.clock.now());
      const last = await deps.state.getState(LAST_SCHEDULED_RUN);
      const missed = previous !== null && (last === undefined || Date.parse(last) < previous.getTime());
      if (missed) {
        deps.logger.info({ missedAt: previous.toISOString(), lastRun: last ?? null }, 'a scheduled run was missed while down: catching up once');
        await tick('catch-up', previous);
      }
      if (deps.stopping?.()) return { caughtUp: missed };
      task = cron.createTask(deps.schedule, () => void tick('scheduled'), { timezone: deps.timeZone, noOverlap: true, name: 'paperboy-digest' });
      await task.start();
      return { caughtUp: missed };
    },
    async stop() {
      await task?.stop();
      await task?.destroy();
      await matcher.destroy();
      await inFlight;
    },
  };
}
