import { openApp } from '../../src/app.ts';
import { queueDigests } from '../../src/delivery/queue.ts';
import { senderOf } from '../../src/pipeline/run.ts';
import { DUMP_FILES } from './paths.ts';
import { ingestPaths } from './store.ts';

/**
 * What a run's producer phase leaves for delivery workers: the first sample dump ingested and
 * filed, `readers` active daily subscribers (reader0@example.org …) who follow every topic,
 * and one digest queued for each, nothing delivered. Returns how many digests were queued.
 */
export async function queueReaderDigests(env: Record<string, string>, readers: number): Promise<number> {
  const app = openApp({ env });
  try {
    await ingestPaths(app.store, app.clock, [DUMP_FILES[0]!]);
    await app.filePapers();
    const now = app.clock.now().toISOString();
    await app.store.withTransaction(async (tx) => {
      for (let i = 0; i < readers; i++) await tx.insertSubscriber({ email: `reader${i}@example.org`, name: null, topics: null, frequency: 'daily', weekday: null }, 'active', now);
    });
    const outcome = await queueDigests(await app.store.listSubscribers({ status: 'active' }), {
      store: app.store,
      context: app.digestContext(),
      renderer: await app.renderer(),
      clock: app.clock,
      sendEmpty: false,
      sender: senderOf(app.config.delivery),
      runId: null,
    });
    return outcome.queued;
  } finally {
    await app.close();
  }
}
