import cliProgress from 'cli-progress';

/** A progress bar on stderr when a person is watching; silent when piped or scheduled. */
export function createProgress(total: number, label: string): { tick(): void; stop(): void } {
  if (!process.stderr.isTTY || total < 2) return { tick: () => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {value}/{total} files`, stream: process.stderr, hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return { tick: () => bar.increment(), stop: () => bar.stop() };
}
