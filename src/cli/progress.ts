import cliProgress from 'cli-progress';
import type { OnProgress, ProgressStage } from '../model/progress.ts';
import { setTerminalWriter } from '../log.ts';

/**
 * One progress display on stderr when a person is watching; silent when piped or scheduled.
 * Each stage that reports gets its own bar (papers ingested, digests queued, messages
 * delivered). While it shows, log lines are written above it (MultiBar.log), so the two never
 * overwrite each other.
 */
export interface ProgressDisplay {
  onProgress: OnProgress;
  stop(): void;
}

const UNITS: Record<ProgressStage, string> = { ingest: 'papers', queue: 'digests', deliver: 'messages' };
const LABEL_WIDTH = Math.max(...Object.keys(UNITS).map((stage) => stage.length));
/** Redraws at most this often: a stage may report thousands of items a second. */
const REDRAW_MS = 100;

export function createProgress(interactive = Boolean(process.stderr.isTTY)): ProgressDisplay {
  if (!interactive) return { onProgress: () => {}, stop: () => {} };
  const multibar = new cliProgress.MultiBar(
    { format: '{stage} [{bar}] {value}/{total} {unit}', stream: process.stderr, hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<ProgressStage, cliProgress.SingleBar>();
  let drawnAt = 0;
  setTerminalWriter((text) => multibar.log(text.endsWith('\n') ? text : `${text}\n`));
  return {
    onProgress(event) {
      let bar = bars.get(event.stage);
      if (!bar) {
        bar = multibar.create(0, 0, { stage: event.stage.padEnd(LABEL_WIDTH), unit: UNITS[event.stage] });
        bars.set(event.stage, bar);
      }
      if (event.added) bar.setTotal(bar.getTotal() + event.added);
      if (event.done) bar.increment(event.done);
      // Stages run long stretches without giving the event loop a turn (parsing, SQLite), so
      // the bar's own timer may not fire: draw from here, throttled.
      const now = Date.now();
      if (now - drawnAt >= REDRAW_MS) {
        drawnAt = now;
        multibar.update();
      }
    },
    stop() {
      setTerminalWriter(undefined);
      multibar.stop();
    },
  };
}

/** Runs `work` with a progress display that is stopped however it ends. */
export async function withProgress<T>(work: (onProgress: OnProgress) => Promise<T>): Promise<T> {
  const progress = createProgress();
  try {
    return await work(progress.onProgress);
  } finally {
    progress.stop();
  }
}
