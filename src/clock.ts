/** Time is injected so stages never read the wall clock or wait on timers themselves (tests pin both). */
export interface Clock {
  now(): Date;
  /** Waits `ms` of this clock's time. */
  sleep(ms: number): Promise<void>;
  /** Calls `tick` every `ms` until the returned function is called; it never keeps the process alive. */
  every(ms: number, tick: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
  every: (ms, tick) => {
    const timer = setInterval(tick, ms);
    timer.unref();
    return () => clearInterval(timer);
  },
};

/**
 * A clock that moves only when told to; `sleep` moves it at once, so waits cost a test
 * nothing, and `every` never fires on its own (its time does not pass by itself).
 */
export function fixedClock(iso: string): Clock & { set(iso: string): void; advance(ms: number): void } {
  let current = new Date(iso);
  const advance = (ms: number) => {
    current = new Date(current.getTime() + ms);
  };
  return {
    now: () => new Date(current),
    sleep: async (ms) => advance(ms),
    every: () => () => {},
    set: (next) => {
      current = new Date(next);
    },
    advance,
  };
}
