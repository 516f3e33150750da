import cliProgress from 'cli-progress';
import { setTerminalWriter } from '../log.ts';

/**
 * A progress bar on stderr when a person is watching; silent when piped or scheduled. While
 * it shows, log lines are written above it (MultiBar.log), so the two never overwrite each other.
 */
export function createProgress(total: number, label: string): { tick(): void; stop(): void } {
  if (!process.stderr.isTTY || total < 2) return { tick: () => {}, stop: () => {} };
  const multibar = new cliProgress.MultiBar(
    { format: `${label} [{bar}] {value}/{total} files`, stream: process.stderr, hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  const bar = multibar.create(total, 0);
  setTerminalWriter((text) => multibar.log(text.endsWith('\n') ? text : `${text}\n`));
  return {
    tick: () => bar.increment(),
    stop: () => {
      setTerminalWriter(undefined);
      multibar.stop();
    },
  };
}
