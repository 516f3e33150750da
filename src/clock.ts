/** Time is injected so stages never read the wall clock or wait on timers themselves (tests pin both). */
export interface Clock {
  now(): Date;
  /** Waits `ms` of this clock's time. */
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
};

/** A clock that moves only when told to; `sleep` moves it at once, so waits cost a test nothing. */
export function fixedClock(iso: string): Clock & { set(iso: string): void; advance(ms: number): void } {
  let current = new Date(iso);
  const advance = (ms: number) => {
    current = new Date(current.getTime() + ms);
  };
  return {
    now: () => new Date(current),
    sleep: async (ms) => advance(ms),
    set: (next) => {
      current = new Date(next);
    },
    advance,
  };
}
