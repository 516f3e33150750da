import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { Option, type Command } from 'commander';
import type { App } from '../../app.ts';
import type { DeliveryReport } from '../../delivery/deliver.ts';
import type { DeliverRunReport, DeliveryCounts, DeliveryWorkers } from '../../pipeline/run.ts';
import { EXIT_FAILED, EXIT_OK, emit, positiveInteger, type CommonOptions } from '../output.ts';
import { withProgress } from '../progress.ts';
import { runCommand } from '../run-command.ts';

interface DeliverOptions extends CommonOptions {
  workers: number;
  follow?: boolean;
  /** A worker a run started beside itself (internal): follows until told `finish` on stdin, stops when stdin closes. */
  besideRun?: boolean;
}

/** The line a run writes to its workers' stdin once everything is queued. */
const FINISH = 'finish';

/** A following worker with nothing due looks again after this long. */
const FOLLOW_POLL_MS = 1000;
/** After a pause (the relay refusing, the error rate), a following worker tries again after this long. */
const FOLLOW_PAUSE_MS = 60_000;

/** What a worker process prints with --json, and what the parent of several adds up. */
export interface DeliverCommandReport extends DeliverRunReport {
  workers: number;
  /** The signal that ended a --follow worker, if one did. */
  stopped: NodeJS.Signals | null;
}

export function registerDeliver(program: Command): void {
  program
    .command('deliver')
    .description('deliver what is queued in the outbox, now; needs no lease: any number of these (and runs) may deliver at once')
    .option('--workers <n>', 'worker processes sharing the outbox (each with its own SMTP pool)', positiveInteger('--workers'), 1)
    .option('--follow', 'keep claiming new messages as they are queued, until SIGTERM or SIGINT')
    .option('--json', 'print one JSON document on stdout')
    .option('-v, --verbose', 'debug logs and stack traces')
    .addOption(new Option('--beside-run').hideHelp())
    .addHelpText(
      'after',
      [
        '',
        'Each message is claimed by one worker before it is sent, so it is sent once; a worker that dies',
        'leaves claims that expire after PAPERBOY_CLAIM_SECONDS and are taken over. The hourly cap, the rate',
        'per second and the pause on error rate hold across all workers (they are counted in the store).',
        'SIGTERM or SIGINT: finish the messages in flight, give back the other claims, exit.',
        'Exit 1 if any message failed for good or delivery paused (without --follow).',
      ].join('\n'),
    )
    .action((options: DeliverOptions) => (options.workers > 1 ? superviseWorkers(options) : runCommand(options, (app) => deliverAsOneWorker(app, options))));
}

async function deliverAsOneWorker(app: App, options: DeliverOptions): Promise<number> {
  const { deliverQueued } = await import('../../pipeline/run.ts');
  const shutdown = new AbortController();
  let stopped: NodeJS.Signals | null = null;
  const onSignal = (signal: NodeJS.Signals) => {
    stopped = signal;
    shutdown.abort();
    app.logger.info({ signal }, 'shutting down: finishing the messages in flight, giving back the other claims');
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  const stopping = () => shutdown.signal.aborted;
  const follow = options.follow || options.besideRun;
  // Beside a run: `finish` means everything is queued (deliver what is due, then exit), and
  // stdin closing means the run is gone (stop as on SIGTERM), so no worker outlives its run.
  let finishing = false;
  let wake = new AbortController();
  if (options.besideRun) {
    createInterface({ input: process.stdin })
      .on('line', (line) => {
        if (line !== FINISH) return;
        finishing = true;
        wake.abort();
      })
      .on('close', () => {
        if (!finishing && !stopping()) onSignal('SIGTERM');
      });
  }
  const started = app.clock.now();
  let total: DeliverRunReport;
  try {
    // A bar for a one-off delivery; a following worker (or one of several) runs unwatched.
    total = follow || options.json
      ? await deliverQueued(app.pipeline(), { stopping })
      : await withProgress((onProgress) => deliverQueued({ ...app.pipeline(), onProgress }, { stopping }));
    while (follow && !stopping()) {
      // Asked to finish before this pass began: everything was queued, so this pass is the last.
      const lastPass = finishing;
      if (!lastPass) {
        wake = new AbortController();
        await delay(total.delivery.paused ? FOLLOW_PAUSE_MS : FOLLOW_POLL_MS, undefined, { signal: AbortSignal.any([shutdown.signal, wake.signal]) }).catch(() => {});
        if (stopping()) break;
      }
      total = addReports(total, await deliverQueued(app.pipeline(), { stopping }));
      if (lastPass) break;
    }
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    if (options.besideRun) process.stdin.destroy();
  }
  const report: DeliverCommandReport = { ...total, duration_ms: app.clock.now().getTime() - started.getTime(), workers: 1, stopped };
  emit(options, report, () => describeDelivery(report));
  return exitCode(report, options);
}

/**
 * Several workers are several processes, not several loops in one: sending is CPU work in
 * JavaScript (MIME, TLS, DKIM), and one process has one core for it. Each child is a whole
 * `deliver` worker with its own SMTP pool; this parent only forwards signals and adds up
 * their reports. The children run in a process group of their own, so a Ctrl-C reaches
 * them once, through here.
 */
async function superviseWorkers(options: DeliverOptions): Promise<void> {
  const started = Date.now();
  const children = Array.from({ length: options.workers }, () => spawnWorker([...(options.follow ? ['--follow'] : []), ...(options.verbose ? ['--verbose'] : [])], 'ignore', true));
  let stopped: NodeJS.Signals | null = null;
  const forward = (signal: NodeJS.Signals) => {
    stopped = signal;
    for (const child of children) if (child.exitCode === null) child.kill(signal);
  };
  process.on('SIGTERM', forward);
  process.on('SIGINT', forward);
  const reports = await reportsOf(children);
  process.off('SIGTERM', forward);
  process.off('SIGINT', forward);
  if (reports.length === 0) {
    process.exitCode = EXIT_FAILED;
    return;
  }
  const total = reports.reduce((sum, report) => addReports(sum, report));
  const report: DeliverCommandReport = { ...total, workers: reports.length, duration_ms: Date.now() - started, stopped };
  emit(options, report, () => describeDelivery(report));
  process.exitCode = reports.length < options.workers ? EXIT_FAILED : exitCode(report, options);
}

/**
 * The workers `paperboy run` starts beside itself (PAPERBOY_RUN_WORKERS): `deliver` processes
 * that send while the run queues, told on stdin when the queue is complete. They share the
 * run's process group, so a Ctrl-C reaches them too, and a run that dies closes their stdin.
 */
export function deliveryWorkersBesideRun(count: number, verbose: boolean): DeliveryWorkers {
  return {
    start() {
      const children = Array.from({ length: count }, () => spawnWorker(['--beside-run', ...(verbose ? ['--verbose'] : [])], 'pipe', false));
      // A worker that died has a closed stdin: writing `finish` to it must not fail the run.
      for (const child of children) child.stdin?.on('error', () => {});
      // Collected from the start, so a worker that exits early is counted as it goes.
      const reports = reportsOf(children);
      const counted = async (): Promise<DeliveryCounts> => {
        const all = await reports;
        if (all.length === 0) return { sent: 0, failed: 0, retried: 0, bounced: 0 };
        const { sent, failed, retried, bounced } = all.reduce((sum, report) => addReports(sum, report)).delivery;
        return { sent, failed, retried, bounced };
      };
      return {
        running: () => children.filter((child) => child.exitCode === null && child.signalCode === null).length,
        finish() {
          for (const child of children) if (child.stdin?.writable) child.stdin.write(`${FINISH}\n`);
          return counted();
        },
        stop() {
          for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
          return counted();
        },
      };
    },
  };
}

/** One `deliver --json` worker process (this same CLI); `detached`: a process group of its own. */
function spawnWorker(args: string[], stdin: 'ignore' | 'pipe', detached: boolean): ChildProcess {
  return spawn(process.execPath, [...process.execArgv, process.argv[1]!, 'deliver', '--json', ...args], { stdio: [stdin, 'pipe', 'inherit'], detached });
}

/** Each worker's JSON report once all have exited, in the order they finished (the last one's outbox counts are the latest). */
async function reportsOf(children: ChildProcess[]): Promise<DeliverCommandReport[]> {
  const outcomes: { code: number | null; stdout: string }[] = [];
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          let stdout = '';
          child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
          child.on('close', (code) => resolve(void outcomes.push({ code, stdout })));
        }),
    ),
  );
  const reports: DeliverCommandReport[] = [];
  for (const [index, outcome] of outcomes.entries()) {
    try {
      reports.push(JSON.parse(outcome.stdout) as DeliverCommandReport);
    } catch {
      process.stderr.write(`paperboy: a deliver worker (${index + 1} of ${children.length} to finish) exited with code ${outcome.code} and no report\n`);
    }
  }
  return reports;
}

function addReports<T extends DeliverRunReport>(a: T, b: DeliverRunReport): T {
  const sum = (key: keyof Omit<DeliveryReport, 'paused' | 'pauseReason'>) => a.delivery[key] + b.delivery[key];
  return {
    ...a,
    delivery: {
      sent: sum('sent'),
      failed: sum('failed'),
      retried: sum('retried'),
      bounced: sum('bounced'),
      // What is still queued is a count of the outbox, not of a worker: the latest answer.
      deferred: b.delivery.deferred,
      paused: a.delivery.paused || b.delivery.paused,
      pauseReason: b.delivery.pauseReason ?? a.delivery.pauseReason,
    },
    outbox: b.outbox,
  };
}

function exitCode(report: DeliverCommandReport, options: DeliverOptions): number {
  // A following worker stopped by its supervisor did its job; what failed is in the logs and `status`.
  if (options.follow && report.stopped) return EXIT_OK;
  return report.delivery.paused || report.delivery.failed > 0 ? EXIT_FAILED : EXIT_OK;
}

function describeDelivery(report: DeliverCommandReport): string {
  const { delivery } = report;
  const by = report.workers > 1 ? ` by ${report.workers} workers` : '';
  return [
    `Delivered via ${report.mailer}${by} in ${(report.duration_ms / 1000).toFixed(1)} s: ${delivery.sent} sent, ${delivery.failed} failed (${delivery.bounced} bounced), ${delivery.retried} retries, ${delivery.deferred} still queued`,
    ...(delivery.pauseReason ? [`PAUSED: ${delivery.pauseReason}`] : []),
    ...(report.stopped ? [`Stopped by ${report.stopped}; the claims not sent were given back.`] : []),
  ].join('\n');
}
