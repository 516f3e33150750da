/**
 * What the confirmation mail's "first digest" line costs per sign-up (firstDigestRun), for a
 * daily schedule, a weekly subscriber six days out and the worst case (no run within the
 * lookahead); then, in the same run, the baseline of asking cron about every minute of the
 * lookahead.
 *
 *   npx tsx scripts/bench-first-digest.ts
 */
import cron from 'node-cron';
import { firstDigestRun } from '../src/delivery/first-digest.ts';

const AFTER = new Date('2026-11-23T07:30:00.000Z');
const ZONE = 'Europe/Berlin';
const LOOKAHEAD_MINUTES = 15 * 24 * 60;

function perCall(label: string, work: () => unknown, calls: number): void {
  work();
  const started = performance.now();
  for (let call = 0; call < calls; call++) work();
  console.log(`${label.padEnd(58)} ${((performance.now() - started) / calls).toFixed(2)} ms per call`);
}

perCall('daily subscriber, "0 7 * * *"', () => firstDigestRun({ frequency: 'daily', weekday: null }, '0 7 * * *', ZONE, AFTER), 200);
perCall('weekly Monday subscriber (6 days out), "0 7 * * *"', () => firstDigestRun({ frequency: 'weekly', weekday: 1 }, '0 7 * * *', ZONE, AFTER), 200);
perCall('no run within 15 days, "0 7 1 * *" (worst case)', () => firstDigestRun({ frequency: 'weekly', weekday: 3 }, '0 7 1 * *', ZONE, AFTER), 50);
perCall(
  'baseline: cron asked about every minute of 15 days',
  () => {
    const matcher = cron.createTask('0 7 1 * *', () => {}, { timezone: ZONE });
    for (let minute = 0; minute < LOOKAHEAD_MINUTES; minute++) matcher.match(new Date(AFTER.getTime() + minute * 60_000));
    void matcher.destroy();
  },
  5,
);
