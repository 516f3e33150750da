import { updateSubscriber, type SubscriberChange } from '../../subscribers/update.ts';
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { App } from '../../app.ts';
import { PaperboyError } from '../../errors.ts';
import type { Subscriber, SubscriberStatus } from '../../model/subscriber.ts';
import { EXIT_FAILED, EXIT_OK, emit, table, type CommonOptions } from '../output.ts';
import { runCommand } from '../run-command.ts';

/** What the actions use, loaded before one runs (so `--help` does not load zod and csv-parse). */
type Lib = typeof import('../../subscribers/subscriber.ts') & typeof import('../../subscribers/csv.ts') & typeof import('../../json-views.ts');
let lib: Lib;
async function loadLib(): Promise<Lib> {
  const [subscriber, csv, views] = await Promise.all([import('../../subscribers/subscriber.ts'), import('../../subscribers/csv.ts'), import('../../json-views.ts')]);
  return (lib ??= { ...subscriber, ...csv, ...views });
}

const STATUSES: SubscriberStatus[] = ['pending', 'active', 'unsubscribed', 'bounced'];

interface AddOptions extends CommonOptions {
  name?: string;
  topics?: string;
  frequency?: string;
  weekday?: string;
}

export function registerSubscribers(program: Command): void {
  const subscribers = program.command('subscribers').description('manage subscribers (admin): add, remove, list, import, export');
  subscribers.hook('preAction', async () => {
    await loadLib();
  });
  const common = (command: Command) =>
    command.option('--json', 'print one JSON document on stdout').option('-v, --verbose', 'debug logs and stack traces');

  common(
    subscribers
      .command('add')
      .description('add an active subscriber (an admin add skips double opt-in: you vouch for their consent)')
      .argument('<email>')
      .option('--name <name>', 'how to greet them')
      .option('--topics <ids>', '"all" or topic ids separated by commas (see `paperboy topics`)', 'all')
      .option('--frequency <daily|weekly>', 'how often they get a digest', 'daily')
      .option('--weekday <day>', 'weekly digests go out on this day (mon … sun)', 'mon'),
  ).action((email: string, options: AddOptions) =>
    runCommand(options, async (app) => {
      const input = lib.subscriberInput({ email, ...options }, topicIds(app));
      const added = await app.store.insertSubscriber(input, 'active', app.clock.now().toISOString());
      if (!added) {
        const status = (await app.store.subscriberByEmail(input.email))?.status;
        const hint = status === 'bounced' || status === 'unsubscribed' ? `; \`paperboy subscribers reactivate ${input.email}\` takes them back` : '';
        throw new PaperboyError('SUBSCRIBER_STATE', `${input.email} is already a subscriber (${status})${hint}`);
      }
      emit(options, { subscriber: lib.subscriberJson(added) }, () => `added ${describe(added)}`);
      return EXIT_OK;
    }),
  );

  common(subscribers.command('remove').description('delete a subscriber and the record of what they were sent').argument('<email>')).action(
    (email: string, options: CommonOptions) =>
      runCommand(options, async (app) => {
        const subscriber = await app.store.subscriberByEmail(lib.parseEmail(email));
        if (!subscriber) throw new PaperboyError('NOT_FOUND', `no subscriber ${email}`);
        await app.store.deleteSubscriber(subscriber.id);
        emit(options, { removed: subscriber.email }, () => `removed ${subscriber.email}`);
        return EXIT_OK;
      }),
  );

  common(
    subscribers
      .command('reactivate')
      .description('take back a bounced or unsubscribed address: active again, bounces forgotten, suppression lifted (you vouch they want the mail)')
      .argument('<email>'),
  ).action((email: string, options: CommonOptions) =>
    runCommand(options, async (app) => {
      const subscriber = await app.store.subscriberByEmail(lib.parseEmail(email));
      if (!subscriber) throw new PaperboyError('NOT_FOUND', `no subscriber ${email}`);
      const suppression = await app.store.suppressionOf(subscriber.email);
      if (!(await app.store.reactivateSubscriber(subscriber.id, app.clock.now().toISOString()))) {
        throw new PaperboyError('SUBSCRIBER_STATE', `${subscriber.email} is ${subscriber.status}: only bounced or unsubscribed addresses are reactivated`);
      }
      const after = (await app.store.subscriberById(subscriber.id))!;
      emit(options, { subscriber: lib.subscriberJson(after), was: subscriber.status, suppression: suppression ?? null }, () =>
        `reactivated ${describe(after)} (was ${subscriber.status}${suppression ? `: bounced ${suppression.bouncedAt}, ${suppression.reason}` : ''})`,
      );
      return EXIT_OK;
    }),
  );

  common(
    subscribers
      .command('update')
      .description("change a subscriber's topics or frequency, or take a bounced or unsubscribed address back with --status active")
      .argument('<email>')
      .option('--status <active>', 'active: reactivate (bounces forgotten, suppression lifted)')
      .option('--topics <ids>', '"all" or topic ids separated by commas')
      .option('--frequency <daily|weekly>', 'how often they get a digest')
      .option('--weekday <day>', 'weekly digests go out on this day (mon … sun)'),
  ).action((email: string, options: CommonOptions & SubscriberChange) =>
    runCommand(options, async (app) => {
      const subscriber = await app.store.subscriberByEmail(lib.parseEmail(email));
      if (!subscriber) throw new PaperboyError('NOT_FOUND', `no subscriber ${email}`);
      const { status, topics, frequency, weekday } = options;
      const after = await updateSubscriber(app.store, app.clock, subscriber, { status, topics, frequency, weekday }, topicIds(app));
      emit(options, { subscriber: lib.subscriberJson(after), was: lib.subscriberJson(subscriber) }, () => `updated ${describe(after)}`);
      return EXIT_OK;
    }),
  );

  common(
    subscribers
      .command('list')
      .description('list subscribers')
      .option('--status <status>', `only this status (${STATUSES.join(', ')})`),
  ).action((options: CommonOptions & { status?: string }) =>
    runCommand(options, async (app) => {
      const status = options.status ? requireStatus(options.status) : null;
      const list = await app.store.listSubscribers({ status });
      const byStatus = await app.store.subscriberCounts();
      emit(options, { subscribers: list.map(lib.subscriberJson), count: list.length, by_status: byStatus }, () =>
        list.length === 0
          ? 'No subscribers.'
          : `${table(
              ['EMAIL', 'STATUS', 'FREQUENCY', 'TOPICS', 'NAME'],
              list.map((s) => [s.email, s.status, frequencyText(s), s.topics ? s.topics.join(',') : 'all', s.name ?? '']),
            )}\n\n${list.length} subscribers`,
      );
      return EXIT_OK;
    }),
  );

  common(
    subscribers
      .command('import')
      .description('add subscribers from a CSV file (columns: email, name, topics, frequency, weekday); all or nothing')
      .argument('<file>'),
  ).action((file: string, options: CommonOptions) =>
    runCommand(options, async (app) => {
      const report = await importSubscribers(app, file);
      emit(options, report, () =>
        report.errors.length > 0
          ? [`${file}: nothing imported; fix these rows and run again:`, ...report.errors.map((e) => `  line ${e.line}: ${e.message}`)].join('\n')
          : `${file}: ${report.added} added, ${report.existing} already subscribed (left as they are)`,
      );
      if (report.errors.length > 0) {
        process.stderr.write(`paperboy: ${file}: ${report.errors.length} bad row(s); nothing imported\n`);
        return EXIT_FAILED;
      }
      return EXIT_OK;
    }),
  );

  common(
    subscribers
      .command('export')
      .description('write every subscriber as CSV (to stdout, or --out FILE); the file imports as it is')
      .option('--out <file>', 'write to this file instead of stdout'),
  ).action((options: CommonOptions & { out?: string }) =>
    runCommand(options, async (app) => {
      const list = await app.store.listSubscribers({});
      const csv = lib.subscribersToCsv(list);
      if (options.out) writeFileSync(options.out, csv);
      if (options.json) emit(options, { subscribers: list.map(lib.subscriberJson), count: list.length, out: options.out ?? null }, () => '');
      else process.stdout.write(options.out ? `wrote ${list.length} subscribers to ${options.out}\n` : csv);
      return EXIT_OK;
    }),
  );
}

/** All or nothing: every row is validated first, and the file is written in one transaction. */
export async function importSubscribers(app: App, file: string) {
  await loadLib();
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new PaperboyError('INPUT_MISSING', `${file}: cannot read the file`);
  }
  const { rows, errors } = lib.parseSubscriberCsv(text, topicIds(app));
  if (errors.length > 0) return { file, added: 0, existing: 0, errors };
  const now = app.clock.now().toISOString();
  const added = await app.store.withTransaction(async (tx) => {
    let count = 0;
    for (const row of rows) if ((await tx.insertSubscriber(row, 'active', now)) !== null) count++;
    return count;
  });
  return { file, added, existing: rows.length - added, errors };
}

function topicIds(app: App): string[] {
  return app.topics().taxonomy.topics.map((topic) => topic.id);
}

function requireStatus(status: string): SubscriberStatus {
  if ((STATUSES as string[]).includes(status)) return status as SubscriberStatus;
  throw new PaperboyError('USAGE', `--status must be one of ${STATUSES.join(', ')}, got "${status}"`);
}

function frequencyText(subscriber: Subscriber): string {
  return subscriber.frequency === 'weekly' ? `weekly (${lib.WEEKDAYS[subscriber.weekday ?? 1]})` : 'daily';
}

function describe(subscriber: Subscriber): string {
  return `${subscriber.email} (${subscriber.status}, ${frequencyText(subscriber)}, topics: ${subscriber.topics ? subscriber.topics.join(', ') : 'all'})`;
}
